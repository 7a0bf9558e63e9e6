import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '../harness/fixtures.ts';
import { REPO_ROOT } from '../harness/servers.ts';
import type { HarnessUser } from '../harness/state.ts';
import { VolumesPanelPage } from '../harness/volumes-page.ts';

/** Screenshots for docs/files.md and docs/labextension.md, rewritten by every run. */
const DOC_IMAGES = join(REPO_ROOT, 'docs', 'images');

/** Volume names are unique per test run. */
const unique = (base: string) => `${base}-${Date.now().toString(36)}`;

/** A hub request as `user` (set-up and probes, not what is tested). */
async function hub(
  hubUrl: string,
  user: HarnessUser,
  method: string,
  path: string,
  body?: BodyInit,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${hubUrl}/hub/api/${path}`, {
    method,
    headers: {
      Authorization: `token ${user.hubToken}`,
      ...(body ? { 'Content-Type': 'application/octet-stream' } : {}),
    },
    body,
  });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> };
}

/** How `user` sees a volume in `GET /volumes` (undefined: not at all). */
async function seenBy(hubUrl: string, user: HarnessUser, owner: string, name: string) {
  const { json } = await hub(hubUrl, user, 'GET', 'volumes');
  const volumes = json.volumes as { owner: string; volume: string; read_only: boolean }[];
  return volumes.find((v) => v.owner === owner && v.volume === name);
}

test.describe('Volumes panel', () => {
  test('alice creates a volume, shares it read-only with bob, sees the share, revokes it; the usage meter follows her files', async ({
    orrery,
  }, testInfo) => {
    test.setTimeout(180_000);
    const { alice, bob } = orrery.users;
    const hubUrl = orrery.hub.url;
    const name = unique('survey');

    const page = await orrery.labFor(alice);
    const volumes = new VolumesPanelPage(page);
    await volumes.open();
    // The default volumes are there from the first listing.
    await expect(volumes.volume('Storage', 'alice', 'persistent')).toBeVisible();
    await expect(volumes.volume('Temporary', 'alice', 'scratch')).toBeVisible();
    await expect(volumes.usage('Storage')).toContainText('of 10 GiB');
    await expect(page.locator('.jp-OrreryStorageStatus')).toContainText('Storage:');

    // Create.
    await volumes.createVolume('Storage', name, 'Photometric survey');
    const row = volumes.volume('Storage', 'alice', name);
    await expect(row).toHaveClass(/jp-mod-selected/);
    await expect(row).toContainText('Photometric survey');
    // The row's context menu has the volume's actions.
    await row.locator('.jp-OrreryGroups-name').click({ button: 'right' });
    for (const label of [
      'Share Orrery Volume…',
      'Rename Orrery Volume…',
      'Delete Orrery Volume…',
    ]) {
      await expect(page.locator('.lm-Menu').getByText(label, { exact: true })).toBeVisible();
    }
    await page.keyboard.press('Escape');

    // Share read-only with bob through the dialog, with completion from the hub.
    const share = await volumes.openShare('Storage', 'alice', name);
    const who = share.locator('input.jp-OrreryShare-who');
    await who.fill('bo');
    await expect(share.locator('datalist option[value="bob"]')).toBeAttached();
    await who.fill('bob');
    await share.locator('select.jp-OrreryShare-access').selectOption('read');
    // Enter in the field shares (as the Share button does) and keeps the dialog open.
    await who.press('Enter');
    const bobShare = share.locator('.jp-OrreryShare-share[data-sharee="user:bob"]');
    await expect(bobShare).toHaveAttribute('data-access', 'read');
    await expect(bobShare).toContainText('read-only');
    expect((await seenBy(hubUrl, bob, 'alice', name))?.read_only).toBe(true);

    // An invite code: made, shown once to copy, listed, revoked.
    await share.getByRole('button', { name: 'Make invite code' }).click();
    await expect(share.getByLabel('Invite code')).not.toHaveValue('');
    await expect(share.locator('.jp-OrreryShare-links li')).toHaveCount(1);
    mkdirSync(DOC_IMAGES, { recursive: true });
    await volumes.dialog.locator('.jp-Dialog-content').screenshot({
      path: join(DOC_IMAGES, 'volumes-share.png'),
    });
    await share.locator('.jp-OrreryShare-links li').getByRole('button', { name: 'Revoke' }).click();
    await expect(share.locator('.jp-OrreryShare-links li')).toHaveCount(0);

    // Revoke bob's share: gone from the dialog and from bob's volumes.
    await bobShare.getByRole('button', { name: 'Revoke' }).click();
    await expect(bobShare).toHaveCount(0);
    await expect(share).toContainText('Nobody yet.');
    expect(await seenBy(hubUrl, bob, 'alice', name)).toBeUndefined();
    await volumes.dialog.getByRole('button', { name: 'Close' }).click();
    await expect(volumes.dialog).toHaveCount(0);

    // Usage: 3 MiB written through the hub show on the meter after a refresh.
    const put = await hub(
      hubUrl,
      alice,
      'PUT',
      `files/Storage/alice/${name}/content?path=data.bin`,
      new Uint8Array(3 * 1024 * 1024),
    );
    expect(put.status).toBe(201);
    await volumes.refresh();
    await expect(volumes.usage('Storage')).toContainText('3 MiB of 10 GiB');
    await expect(volumes.usage('Storage')).toHaveAttribute('data-warning', 'false');
    await expect(volumes.usage('Storage').locator('meter')).toHaveAttribute('value', /.+/);

    await volumes.panel.screenshot({ path: join(DOC_IMAGES, 'volumes-panel.png') });
    await testInfo.attach('volumes-panel', {
      path: join(DOC_IMAGES, 'volumes-panel.png'),
      contentType: 'image/png',
    });
  });

  test('the file browser offers Share Volume on a folder under volumes/<root>/<owner>/<volume> only', async ({
    orrery,
  }) => {
    const page = await orrery.labFor(orrery.users.alice);
    // The mounts are files-wire's; a plain folder at the same path is enough for the menu.
    // (Through the lab's own contents API: Galata's helper assumes a server on port 8888.)
    await page.evaluate(
      async (dirs) => {
        const contents = window.jupyterapp.serviceManager.contents;
        for (const path of dirs) {
          await contents.save(path, { type: 'directory' });
        }
      },
      [
        'volumes',
        'volumes/Storage',
        'volumes/Storage/alice',
        'volumes/Storage/alice/persistent',
        'notes',
      ],
    );

    await page.filebrowser.openDirectory('volumes/Storage/alice');
    await page
      .locator('.jp-DirListing-item[data-isdir="true"]', { hasText: 'persistent' })
      .click({ button: 'right' });
    const menu = page.locator('.lm-Menu');
    await expect(menu.getByText('Share Volume persistent…')).toBeVisible();
    await page.keyboard.press('Escape');

    await page.filebrowser.openDirectory('/');
    await page
      .locator('.jp-DirListing-item[data-isdir="true"]', { hasText: 'notes' })
      .click({ button: 'right' });
    await expect(page.locator('.lm-Menu').first()).toBeVisible();
    // (Only the open menu counts: a closed one may stay in the page, hidden.)
    await expect(page.locator('.lm-Menu-item:visible', { hasText: 'Share Volume' })).toHaveCount(0);
    await expect(page.locator('.lm-Menu-item:visible', { hasText: 'Copy Path' })).toBeVisible();
    await page.keyboard.press('Escape');

    // The menu item opens the Share dialog of that volume.
    await page.filebrowser.openDirectory('volumes/Storage/alice');
    await page
      .locator('.jp-DirListing-item[data-isdir="true"]', { hasText: 'persistent' })
      .click({ button: 'right' });
    await page.locator('.lm-Menu').getByText('Share Volume persistent…').click();
    await expect(page.locator('.jp-Dialog-header')).toContainText('Share Storage/alice/persistent');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Close' }).click();
  });
});
