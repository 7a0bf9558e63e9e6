/**
 * The lab's "Share This Server…" command, as its owner meets it in real Chromium: alice starts
 * her server (a local process, no Docker needed), opens the command from the palette, shares
 * the server with bob and makes a share code in the dialog; the hub has recorded both (its
 * API, bob's list of servers shared with him, the activity log), and the code works for bob.
 * The lab loads this checkout's build of the extension when there is one
 * (`npm run build -w labextension`), as the Galata harness does, else the venv's.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { domain } from '../../src/compute/domainConfig.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

if (!existsSync(CHROMIUM) && process.env.CI === 'true')
  throw new Error('Chromium is required in CI: run scripts/provision-lab.sh');
const skip = existsSync(CHROMIUM) ? false : 'Debian chromium is not installed';

const BUILT_EXTENSION = path.resolve(
  import.meta.dirname,
  '../../../labextension/orrery_lab/labextension',
);

let hub: TestHub;
let browser: Browser;
let bob: Client;

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  hub = await startTestHub('browser_share_command', {
    compute: { domains: [domain('local', 'local')] },
  });
  bob = await signUp(hub.url, 'bob');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (skip) return;
  await browser.close();
  if (hub.logLines.length) console.error(`hub log:\n${hub.logLines.join('').slice(-20_000)}`);
  // Alice's workspace and, the hub running as root, her server's system user go too.
  const local = hub.compute().backends.get('local')!;
  for (const server of await local.listManaged()) await local.stop(server.state);
  await local.removeWorkspace?.({ name: 'alice', safeName: 'alice' }, '');
  await hub.stop();
});

/**
 * JupyterLab reads extensions from the user's data folder ($HOME is the workspace of a local
 * server) before the venv's: this checkout's build goes there before the server starts.
 */
function useCheckoutBuild(safeName: string): string | null {
  const manifest = path.join(BUILT_EXTENSION, 'package.json');
  if (!existsSync(manifest)) return null;
  const workspace = path.join(hub.hub.config.stateDir, 'workspaces', safeName, 'work');
  const extensions = path.join(workspace, '.local', 'share', 'jupyter', 'labextensions');
  mkdirSync(path.join(extensions, '@orrery'), { recursive: true });
  symlinkSync(BUILT_EXTENSION, path.join(extensions, '@orrery', 'labextension'));
  // The bundle's entry file, named by its hash: the page must load this one.
  return JSON.parse(readFileSync(manifest, 'utf8')).jupyterlab._build.load;
}

async function register(page: Page, username: string): Promise<void> {
  await page.goto(`${hub.url}/hub/signup`);
  await page.fill('#username', username);
  await page.fill('#email', `${username}@example.org`);
  await page.fill('#password', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForURL('**/hub/home');
}

test('the Share This Server command shares with a user and makes a code, and the hub has both', {
  skip,
  timeout: 300_000,
}, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    await register(page, 'alice');
    const entry = useCheckoutBuild('alice');
    const loaded: string[] = [];
    page.on('request', (request) => loaded.push(request.url()));
    await page.click('#start button[type=submit]');
    await page.waitForURL((url) => url.pathname.startsWith('/user/alice/lab'), {
      timeout: 180_000,
    });
    await page.waitForSelector('#jp-main-dock-panel', { timeout: 90_000 });
    // The extension knows which server it runs in once it has asked the hub who it is.
    await page.waitForSelector('text=Orrery: alice', { timeout: 60_000 });
    if (entry)
      assert.ok(
        loaded.some((url) => url.endsWith(`/@orrery/labextension/${entry}`)),
        'the lab runs this checkout’s build of the extension',
      );

    // As a person would: the command palette (opened from the View menu), the command by its
    // label. The palette closes when focus moves, which a lab still restoring its layout on a
    // loaded machine does (twice in CI, never here): opened again until the command is picked.
    const palette = page.locator('#modal-command-palette');
    for (let attempt = 1; ; attempt++) {
      try {
        await page.locator('.lm-MenuBar-itemLabel', { hasText: /^View$/ }).click();
        await page.locator('.lm-Menu-itemLabel', { hasText: 'Command Palette' }).first().click();
        await palette.locator('input').fill('Share This Server', { timeout: 5_000 });
        await palette
          .locator('.lm-CommandPalette-item', { hasText: 'Share This Server' })
          .click({ timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt === 6) throw err;
        await page.keyboard.press('Escape');
      }
    }
    const dialog = page.locator('.jp-Dialog', { has: page.locator('.jp-OrreryServerShare') });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match((await dialog.locator('.jp-Dialog-header').textContent()) ?? '', /alice\//);

    // Share with bob: typed, then the Share button.
    await dialog.getByLabel('Share with user or group').fill('bob');
    await dialog.getByRole('button', { name: 'Share', exact: true }).click();
    const share = dialog.locator('li.jp-OrreryShare-share[data-sharee="user:bob"]');
    await share.waitFor({ timeout: 30_000 });
    assert.match((await share.textContent()) ?? '', /bob/);

    // A code that expires in a day (the default), shown once as a link to send.
    await dialog.locator('.jp-OrreryServerShare-makeCode').click();
    const link = dialog.locator('.jp-OrreryServerShare-link');
    await link.waitFor({ timeout: 30_000 });
    const acceptUrl = await link.inputValue();
    assert.match(acceptUrl, /\/hub\/accept-share\?code=orrs_/);
    await dialog.locator('li[data-code-id]').first().waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/share-command-dialog.png` });

    // The hub recorded the share and the code, seen through its API as alice and as bob.
    const shares = await (await page.request.get(`${hub.url}/hub/api/shares/alice`)).json();
    assert.deepEqual(
      shares.items.map((s: { user: { name: string } | null }) => s.user?.name),
      ['bob'],
    );
    const codes = await (await page.request.get(`${hub.url}/hub/api/share-codes/alice`)).json();
    assert.equal(codes.items.length, 1);
    const withBob = await bob.get('/hub/api/users/bob/shared');
    assert.deepEqual(
      withBob.json.items.map((s: { server: { name: string } }) => s.server.name),
      [''],
      'alice’s default server is shared with bob',
    );
    const activity = await (
      await page.request.get(`${hub.url}/hub/api/activity?type=shares.*`)
    ).json();
    const events = activity.events as { type: string; payload: Record<string, unknown> }[];
    assert.deepEqual(events.map((e) => e.type).sort(), ['shares.code_create', 'shares.share']);
    const made = events.find((e) => e.type === 'shares.code_create')!;
    assert.equal(made.payload.code_id, codes.items[0].id);
    // The code itself works: the page its link opens offers bob alice's server.
    const accept = await bob.get(acceptUrl.replace(/^https?:\/\/[^/]+/, ''));
    assert.equal(accept.status, 200);
    assert.match(accept.text, /alice\//);

    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  } catch (err) {
    await page.screenshot({ path: `${ARTIFACTS}/share-command-failed.png` }).catch(() => {});
    throw err;
  } finally {
    const xsrf = (await context.cookies(`${hub.url}/hub/`)).find((c) => c.name === '_xsrf');
    await page.request.delete(`${hub.url}/hub/api/users/alice/server`, {
      headers: { 'x-xsrftoken': xsrf?.value ?? '' },
    });
    await context.close();
  }
});
