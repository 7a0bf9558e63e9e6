import { expect, test } from '../harness/fixtures.ts';
import { GroupsPanelPage } from '../harness/groups-page.ts';

/** Group names are unique per test run: the database is fresh per run, not per test. */
const unique = (base: string) => `${base} ${Date.now().toString(36)}`;

test.describe('Groups panel', () => {
  test('alice invites bob; bob accepts in his own JupyterLab; carol sees nothing', async ({
    orrery,
  }, testInfo) => {
    const { alice, bob, carol } = orrery.users;
    const groupName = unique('Survey team');

    // alice, in her JupyterLab, creates a group and invites bob with completion.
    const alicePage = await orrery.labFor(alice);
    const aliceGroups = new GroupsPanelPage(alicePage);
    await aliceGroups.open();
    await expect(alicePage.locator('.jp-OrreryStatus')).toHaveText('Orrery: alice');
    await aliceGroups.createGroup(groupName, 'Photometric redshifts');
    await expect(aliceGroups.member(groupName, 'alice')).toContainText('OWNER', {
      ignoreCase: true,
    });
    expect(await aliceGroups.completionsFor(groupName, 'bo')).toContain('bob');
    await aliceGroups.invite(groupName, 'bob', 'MEMBER');
    await expect(
      aliceGroups.group(groupName).locator('.jp-OrreryGroups-pending', { hasText: 'bob' }),
    ).toBeVisible();

    // bob, in his own JupyterLab, sees the invitation and accepts it.
    const bobPage = await orrery.labFor(bob);
    const bobGroups = new GroupsPanelPage(bobPage);
    await bobGroups.open();
    await expect(bobPage.locator('.jp-OrreryStatus')).toHaveText('Orrery: bob');
    const invitation = bobGroups.invitation(groupName);
    await expect(invitation).toContainText('Invited by alice');
    await invitation.getByRole('button', { name: 'Accept' }).click();
    await expect(invitation).toHaveCount(0);
    await expect(bobGroups.group(groupName)).toBeVisible();
    await bobGroups.openGroup(groupName);
    await expect(bobGroups.member(groupName, 'alice')).toContainText('owner', { ignoreCase: true });
    await expect(bobGroups.member(groupName, 'bob')).toContainText('member', { ignoreCase: true });

    // alice sees bob as a member after a refresh.
    await aliceGroups.refresh();
    await expect(aliceGroups.member(groupName, 'bob')).toBeVisible();
    await expect(aliceGroups.group(groupName).locator('.jp-OrreryGroups-pending')).toHaveCount(0);

    // The panel, light and dark, as artifacts of the run.
    await aliceGroups.panel.screenshot({ path: testInfo.outputPath('groups-panel-light.png') });
    await alicePage.theme.setDarkTheme();
    await aliceGroups.panel.screenshot({ path: testInfo.outputPath('groups-panel-dark.png') });
    await testInfo.attach('groups-panel-light', {
      path: testInfo.outputPath('groups-panel-light.png'),
      contentType: 'image/png',
    });
    await testInfo.attach('groups-panel-dark', {
      path: testInfo.outputPath('groups-panel-dark.png'),
      contentType: 'image/png',
    });

    // carol sees neither the group nor any invitation.
    const carolPage = await orrery.labFor(carol);
    const carolGroups = new GroupsPanelPage(carolPage);
    await carolGroups.open();
    // Everyone is in the Public group; that is all carol belongs to.
    await expect(carolGroups.group('Public')).toBeVisible();
    await expect(carolGroups.section('groups').locator('.jp-OrreryGroups-group')).toHaveCount(1);
    await expect(carolGroups.section('invitations')).toHaveCount(0);
    await expect(carolGroups.panel).not.toContainText(groupName);
  });

  test('inviting a user who does not exist shows the hub message in a dialog', async ({
    orrery,
  }, testInfo) => {
    const page = await orrery.labFor(orrery.users.alice);
    const groups = new GroupsPanelPage(page);
    const groupName = unique('Lonely');
    await groups.open();
    await groups.createGroup(groupName, '');
    await groups.invite(groupName, 'zed-nobody', 'ADMIN');
    await expect(groups.dialog).toContainText('Could not send the invitation');
    await expect(groups.dialog).toContainText('zed-nobody');
    await groups.dialog.screenshot({ path: testInfo.outputPath('invite-unknown-user.png') });
    await groups.dialog
      .getByRole('button', { name: /ok|dismiss|close/i })
      .first()
      .click();
    await expect(groups.dialog).toHaveCount(0);
    await expect(groups.group(groupName).locator('.jp-OrreryGroups-pending')).toHaveCount(0);
  });

  test('every Groups action is in the command palette', async ({ orrery }) => {
    const page = await orrery.labFor(orrery.users.carol);
    await page.keyboard.press('Control+Shift+C');
    const search = page.locator('#command-palette .lm-CommandPalette-input');
    await expect(search).toBeVisible();
    await search.fill('Orrery');
    for (const label of [
      'Create Orrery Group…',
      'Invite to Orrery Group…',
      'Accept Orrery Invitation…',
      'Decline Orrery Invitation…',
      'Leave Orrery Group…',
      'Join Science Domain…',
    ]) {
      await search.fill(label);
      await expect(
        page.locator('#command-palette .lm-CommandPalette-item', { hasText: label }).first(),
      ).toBeVisible();
    }
  });
});
