/**
 * Issue #11's browser test, in real Chromium against Docker servers through the proxy: alice
 * (through the hub API) creates a volume, writes a file and shares it read-only with bob's
 * group; bob's JupyterLab, already running, shows it in its file browser without a restart,
 * opens the file, fails to save a change (an error dialog in JupyterLab, the file unchanged);
 * alice revokes and it disappears from bob's file browser. Nothing in bob's lab is reloaded or
 * refreshed by hand: the listing follows the container's folder (JupyterLab polls it), and the
 * folder follows RACM only if the hub re-mounts the view live.
 * Needs Docker and Debian's chromium; in CI a missing one fails.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { domain } from '../../src/compute/domainConfig.ts';
import { waitForStatus } from '../compute/support.ts';
import { signUp, type TestHub } from '../support.ts';
import { ARTIFACTS } from './chromium.ts';
import { DockerLabs, dockerLabsSkip, entry } from './dockerLabs.ts';

const IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
const PASSWORD = 'correct horse';

const skip = await dockerLabsSkip();
const labs = new DockerLabs();
let hub: TestHub;
let browser: Browser;

before(async () => {
  if (skip) return;
  ({ hub, browser } = await labs.start('browser_volumes', {
    compute: { domains: [domain('local', 'docker')], images: [IMAGE] },
  }));
});

after(async () => {
  if (skip) return;
  await labs.stop();
});

/** The folder the file browser shows, from its breadcrumbs. */
async function openFolder(page: Page, name: string): Promise<void> {
  await entry(page, name).dblclick();
  await page
    .locator('.jp-BreadCrumbs-item', { hasText: new RegExp(`^${name}$`) })
    .waitFor({ timeout: 30_000 });
}

test('a read-only share appears in bob’s running JupyterLab, cannot be written, and goes when revoked', {
  skip,
  timeout: 600_000,
}, async () => {
  const alice = await signUp(hub.url, 'alice', PASSWORD);
  const bob = await signUp(hub.url, 'bob', PASSWORD);

  // bob's group, with alice in it (she shares with groups she belongs to).
  const group = await bob.post('/hub/api/groups', { name: 'survey-team' });
  assert.equal(group.status, 201, group.text);
  const invited = await bob.post(`/hub/api/groups/${group.json.id}/invitations`, {
    username: 'alice',
    role: 'MEMBER',
  });
  assert.equal(invited.status, 201, invited.text);
  assert.equal((await alice.post(`/hub/api/invitations/${invited.json.id}/accept`)).status, 200);

  // bob's JupyterLab runs before anything is shared with him.
  const started = await bob.post('/hub/api/users/bob/server', {});
  assert.equal(started.status, 202, started.text);
  await waitForStatus(bob, 'bob', '', 'running', 240_000).catch((err) => {
    throw new Error(`${err.message}\n${hub.logLines.join('')}`);
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    await page.goto(`${hub.url}/hub/login`);
    await page.fill('#username', 'bob');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL('**/hub/home');
    // The file browser opened at the Storage root of bob's view: only his own folder so far.
    await page.goto(`${hub.url}/user/bob/lab/tree/volumes/Storage`);
    await page.waitForSelector('#jp-main-dock-panel', { timeout: 120_000 });
    await entry(page, 'bob').waitFor({ timeout: 60_000 });
    assert.equal(await entry(page, 'alice').count(), 0, 'nothing of alice’s yet');

    // alice, through the hub API: a volume, a file in it, shared read-only with the group.
    const created = await alice.post('/hub/api/volumes/Storage', { name: 'survey' });
    assert.equal(created.status, 201, created.text);
    const written = await alice.request(
      'PUT',
      '/hub/api/files/Storage/alice/survey/content?path=notes.txt',
      'photometry v1\nra,dec\n',
      { 'content-type': 'application/octet-stream' },
    );
    assert.equal(written.status, 201, written.text);
    const shared = await alice.request('PUT', '/hub/api/volumes/Storage/alice/survey/shares', {
      group: group.json.id,
      access: 'read',
    });
    assert.equal(shared.status, 200, shared.text);

    // It appears in the page already open: no reload, no refresh click.
    await entry(page, 'alice')
      .waitFor({ timeout: 120_000 })
      .catch(async (err) => {
        await page.screenshot({ path: `${ARTIFACTS}/volumes-share-missing.png` });
        throw new Error(`the share did not appear in bob’s file browser: ${err.message}`);
      });
    await openFolder(page, 'alice');
    await openFolder(page, 'survey');
    await entry(page, 'notes.txt').dblclick();
    const editor = page.locator('.jp-FileEditor .cm-content');
    await editor.waitFor({ timeout: 60_000 });
    await page.locator('.jp-FileEditor .cm-content:has-text("photometry v1")').waitFor();
    assert.match((await editor.textContent()) ?? '', /photometry v1\s*ra,dec/);
    await page.screenshot({ path: `${ARTIFACTS}/volumes-shared-open.png` });

    // JupyterLab knows it is read-only (the server says the file is not writable)...
    await page.locator('.jp-Toolbar', { hasText: 'file is read-only' }).waitFor();
    // ...and a write there fails with the filesystem's error in a JupyterLab dialog.
    await page.locator('.jp-FileBrowser').getByTitle('New Folder').click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor({ timeout: 60_000 });
    const message = (await dialog.textContent()) ?? '';
    assert.match(message, /read-only file system/i, message);
    await page.screenshot({ path: `${ARTIFACTS}/volumes-write-refused.png` });
    await dialog.locator('button').last().click();
    await dialog.waitFor({ state: 'detached' });
    const listed = await alice.get('/hub/api/files/Storage/alice/survey/list');
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(
      listed.json.entries.map((e: { name: string }) => e.name),
      ['notes.txt'],
      'nothing was written',
    );
    const stored = await alice.get('/hub/api/files/Storage/alice/survey/content?path=notes.txt');
    assert.equal(stored.text, 'photometry v1\nra,dec\n');

    // Back in the Storage folder, alice revokes: it disappears without a reload.
    // (The breadcrumbs show the last two folders: up one, then one more.)
    await page.locator('.jp-BreadCrumbs-item', { hasText: /^alice$/ }).click();
    await entry(page, 'survey').waitFor();
    await page.locator('.jp-BreadCrumbs-item', { hasText: /^Storage$/ }).click();
    await entry(page, 'alice').waitFor({ timeout: 30_000 });
    const revoked = await alice.delete(
      `/hub/api/volumes/Storage/alice/survey/shares?group=${group.json.id}`,
    );
    assert.equal(revoked.status, 204, revoked.text);
    await entry(page, 'alice')
      .waitFor({ state: 'detached', timeout: 120_000 })
      .catch(async (err) => {
        await page.screenshot({ path: `${ARTIFACTS}/volumes-revoke-stayed.png` });
        throw new Error(`the revoked share stayed in bob’s file browser: ${err.message}`);
      });
    assert.equal(await entry(page, 'bob').count(), 1, 'bob’s own folder stays');
    await page.screenshot({ path: `${ARTIFACTS}/volumes-revoked.png` });
  } finally {
    await context.close();
  }
  assert.equal((await bob.delete('/hub/api/users/bob/server')).status, 204);
  await waitForStatus(bob, 'bob', '', 'gone', 60_000);
});
