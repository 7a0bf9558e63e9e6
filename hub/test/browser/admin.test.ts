/**
 * The admin pages as an admin meets them, in real Chromium, on a hub that requires approval:
 * approve a registration (who can then sign in), search users, make one admin, disable one
 * (who can then no longer sign in), delete one after a confirmation listing what goes, see the
 * running servers, open one as admin (landing in its JupyterLab through the proxy) and stop it,
 * see images and domains with who may use them, and read someone's activity (the opening as
 * admin among it). The server is a local process, to keep the test light.
 * Needs Debian's chromium (scripts/provision-lab.sh); in CI a missing browser fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { removeSystemUser, systemUserName } from '@orrery/spawner';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { deploymentOf, waitForStatus } from '../compute/support.ts';
import { Client, startTestHub, type TestHub } from '../support.ts';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

if (!existsSync(CHROMIUM) && process.env.CI === 'true')
  throw new Error('Chromium is required in CI: run scripts/provision-lab.sh');
const skip = existsSync(CHROMIUM) ? false : 'Debian chromium is not installed';

const PASSWORD = 'correct horse battery';

let hub: TestHub;
let browser: Browser;
let db: pg.Pool;
let alice: Client;

/** Register through the API and approve in the database: the people already there. */
async function existing(name: string, admin = false): Promise<Client> {
  const client = new Client(hub.url);
  const made = await client.post('/hub/api/register', {
    username: name,
    email: `${name}@example.org`,
    password: PASSWORD,
  });
  assert.equal(made.status, 201, made.text);
  await db.query('UPDATE users SET approved = true, admin = $2 WHERE name = $1', [name, admin]);
  assert.equal(
    (await client.post('/hub/api/login', { username: name, password: PASSWORD })).status,
    200,
  );
  return client;
}

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  hub = await startTestHub('browser_admin', { requireApproval: true });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  await existing('boss', true);
  alice = await existing('alice');
  await existing('bob');
  await existing('carol');
  const dave = await existing('dave');
  assert.equal((await dave.post('/hub/api/volumes/Storage', { name: 'thesis' })).status, 201);
  const started = await alice.post('/hub/api/users/alice/servers/work', {});
  assert.equal(started.status, 202, started.text);
  await waitForStatus(alice, 'alice', 'work', 'running');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (skip) return;
  await browser?.close();
  await db.end();
  if (hub.logLines.length) console.error(`hub log:\n${hub.logLines.join('').slice(-20_000)}`);
  // The system user alice's server ran as is named with the deployment's prefix.
  const { resourcePrefix } = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
  await hub.stop();
  await removeSystemUser(systemUserName(resourcePrefix, { name: 'alice', safeName: 'alice' }));
});

async function signIn(page: Page, name: string): Promise<void> {
  await page.goto(`${hub.url}/hub/login`);
  await page.fill('#username', name);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
}

/** The table row of a user on the users page. */
const userRow = (page: Page, name: string) => page.locator(`#users tr[data-user="${name}"]`);

test('an admin approves, searches, makes an admin, disables, deletes, opens and stops a server, and reads activity', {
  skip,
  timeout: 300_000,
}, async () => {
  // Someone registers; an administrator must approve them first.
  const newcomer = await (await browser.newContext()).newPage();
  await newcomer.goto(`${hub.url}/hub/signup`);
  await newcomer.fill('#username', 'newcomer');
  await newcomer.fill('#email', 'newcomer@example.org');
  await newcomer.fill('#password', PASSWORD);
  await newcomer.click('button[type=submit]');
  await newcomer.getByText('An administrator will approve your account').waitFor();

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, 'boss');
  await page.waitForURL('**/hub/home');
  await page.click('#admin-link');
  await page.waitForURL('**/hub/admin/users');

  // Registrations: approve the newcomer, who can then sign in.
  await page.click('nav.tabs >> text=Registrations');
  const waiting = page.locator('#registrations tr[data-user="newcomer"]');
  await waiting.waitFor();
  await waiting.locator('button[data-action="approve"]').click();
  await page.getByRole('status').getByText('newcomer is approved').waitFor();
  assert.equal(await page.locator('#registrations tr[data-user="newcomer"]').count(), 0);
  await signIn(newcomer, 'newcomer');
  await newcomer.waitForURL('**/hub/home');

  // Users: search, then make carol an admin.
  await page.click('nav.tabs >> text=Users');
  await page.fill('#search input[name=q]', 'CAR');
  await page.click('#search button[type=submit]');
  await page.waitForURL('**/hub/admin/users?q=CAR');
  assert.deepEqual(
    await page
      .locator('#users tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-user'))),
    ['carol'],
  );
  await userRow(page, 'carol').locator('button[data-action="make-admin"]').click();
  await page.getByRole('status').getByText('carol is now a platform admin').waitFor();
  assert.equal(await userRow(page, 'carol').locator('td.role').textContent(), 'admin');

  // Disable bob: he can no longer sign in.
  await userRow(page, 'bob').locator('button[data-action="disable"]').click();
  await page.getByRole('status').getByText('bob is disabled').waitFor();
  const bob = await (await browser.newContext()).newPage();
  await signIn(bob, 'bob');
  await bob.getByRole('alert').getByText('waiting for an administrator’s approval').waitFor();
  assert.match(new URL(bob.url()).pathname, /^\/hub\/login/);

  // Delete dave, after a confirmation that says what goes.
  await userRow(page, 'dave').locator('a[data-action="delete"]').click();
  await page.waitForURL('**/hub/admin/users/dave/delete');
  const removes = await page.locator('#removes li').allTextContents();
  assert.ok(
    removes.some((item) => item.includes('Storage/dave/thesis')),
    removes.join('\n'),
  );
  assert.ok(
    removes.some((item) => item.includes('dave-work')),
    removes.join('\n'),
  );
  await page.screenshot({ path: `${ARTIFACTS}/admin-delete.png` });
  await page.click('#confirm-delete');
  await page.getByRole('status').getByText('dave is deleted').waitFor();
  assert.equal(await userRow(page, 'dave').count(), 0);

  // Servers: open alice's as admin, landing in its JupyterLab through the proxy.
  await page.click('nav.tabs >> text=Servers');
  const server = page.locator('#servers tr[data-server="alice/work"]');
  await server.locator('.badge.running').waitFor();
  await server.locator('button[data-action="open"]').click();
  await page.waitForURL((url) => url.pathname.startsWith('/user/alice/work/lab'), {
    timeout: 60_000,
  });
  await page.waitForSelector('#jp-main-dock-panel', { timeout: 90_000 });
  await page.screenshot({ path: `${ARTIFACTS}/admin-open-as-admin.png` });
  // Alice's neighbour, not an admin, is still refused the same server.
  const carolPage = await (await browser.newContext()).newPage();
  await signIn(carolPage, 'newcomer');
  await carolPage.waitForURL('**/hub/home');
  const refused = await carolPage.request.get(`${hub.url}/user/alice/work/api/status`);
  assert.equal(refused.status(), 403);

  // … and stop it.
  await page.goto(`${hub.url}/hub/admin/servers`);
  await server.locator('button[data-action="stop"]').click();
  await page.getByRole('status').getByText('The server alice/work is stopped').waitFor();
  assert.equal(await page.locator('#servers tr[data-server="alice/work"]').count(), 0);
  await waitForStatus(alice, 'alice', 'work', 'gone');

  // Images and domains, with who may use them.
  await page.click('nav.tabs >> text=Images and domains');
  const image = hub.hub.config.compute.images[0]!;
  assert.equal(
    await page.locator(`#images tr[data-image="${image}"] .who`).textContent(),
    'group Public',
  );
  assert.equal(
    await page.locator('#domains tr[data-domain="local"] .who').textContent(),
    'group Public',
  );

  // Alice's activity: her server opened as admin by boss, then stopped.
  await page.click('nav.tabs >> text=Activity');
  await page.fill('#user', 'alice');
  await page.fill('#type', 'server.*');
  await page.click('#filter button[type=submit]');
  await page.locator('#whose', { hasText: 'alice' }).waitFor();
  const opened = page.locator('#events tr[data-type="server.admin_access"]');
  assert.equal(await opened.count(), 1);
  assert.match((await opened.textContent()) ?? '', /boss/);
  assert.equal(await page.locator('#events tr[data-type="server.stop"]').count(), 1);
  await page.screenshot({ path: `${ARTIFACTS}/admin-activity.png` });
});
