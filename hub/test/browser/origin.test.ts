/**
 * Code in an admin's server tries to act with the admin's hub session, in real Chromium.
 * The "evil page" is a script running in a page of the admin's server (JupyterLab's own page,
 * as the script of a trusted notebook output or any HTML the server serves would run): it asks
 * the hub for a token with scope `all`, with the browser's cookies and whatever `_xsrf` it can
 * find. It must fail in the same-origin mode and with ORRERY_USER_ORIGIN, where it cannot even
 * read /hub/api/user. Chromium resolves *.localhost to 127.0.0.1, so http://ada.localhost:<port>
 * is the admin's own origin with no DNS. Servers are local processes: this is about the browser.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { freePort } from '@orrery/spawner';
import pg from 'pg';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { waitForStatus } from '../compute/support.ts';
import { signUp, startTestHub, type TestOverrides } from '../support.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

if (!existsSync(CHROMIUM) && process.env.CI === 'true')
  throw new Error('Chromium is required in CI: run scripts/provision-lab.sh');
const skip = existsSync(CHROMIUM) ? false : 'Debian chromium is not installed';
const ADMIN = 'ada';
const PASSWORD = 'correct horse battery';

let browser: Browser;
before(async () => {
  if (!skip) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (!skip) await browser.close();
});

/** What the evil page reports back. */
interface Outcome {
  /** An `_xsrf` value the page could read from document.cookie. */
  cookieXsrf: string | null;
  /** The token request's answer, or the error that stopped it. */
  create: { status: number; body: string } | { error: string };
  /** The same with an `_xsrf` read from the hub's login page (the page's next best source). */
  createWithPageXsrf: { status: number; body: string } | { error: string };
  /** Reading the hub's /hub/api/user from the page. */
  read: { status: number; body: string } | { error: string };
}

/** The evil script: runs in the page's own origin, as code served by the server would. */
function evilScript(hubOrigin: string, owner: string): string {
  return `window.evilOutcome = (async () => {
    const hub = ${JSON.stringify(hubOrigin)};
    const attempt = async (url, init) => {
      try {
        const res = await fetch(url, { credentials: 'include', ...init });
        return { status: res.status, body: (await res.text()).slice(0, 300) };
      } catch (err) {
        return { error: String(err) };
      }
    };
    const found = document.cookie.match(/(?:^|; )_xsrf=([^;]+)/);
    const cookieXsrf = found ? decodeURIComponent(found[1]) : null;
    const create = (xsrf) =>
      attempt(hub + '/hub/api/users/${owner}/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrf || '' },
        body: JSON.stringify({ scopes: ['all'], note: 'evil' }),
      });
    const login = await attempt(hub + '/hub/login', {});
    const pageXsrf = 'body' in login ? (login.body.match(/name="_xsrf" value="([^"]+)"/) || [])[1] : '';
    return {
      cookieXsrf,
      create: await create(cookieXsrf),
      createWithPageXsrf: await create(pageXsrf),
      read: await attempt(hub + '/hub/api/user', {}),
    };
  })();`;
}

async function runEvil(page: Page, hubOrigin: string): Promise<Outcome> {
  await page.addScriptTag({ content: evilScript(hubOrigin, ADMIN) });
  return page.evaluate(() => (window as unknown as { evilOutcome: Promise<Outcome> }).evilOutcome);
}

/** A hub with an admin whose server is running; the admin's evil tokens are counted in SQL. */
async function hubWithAdminServer(label: string, overrides: TestOverrides = {}) {
  const hub = await startTestHub(label, overrides);
  const admin = await signUp(hub.url, ADMIN, PASSWORD);
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  await db.query('UPDATE users SET admin = true WHERE name = $1', [ADMIN]);
  const started = await admin.post(`/hub/api/users/${ADMIN}/servers/lab`, {});
  assert.equal(started.status, 202, started.text);
  await waitForStatus(admin, ADMIN, 'lab', 'running');
  const evilTokens = async () =>
    Number((await db.query(`SELECT count(*) FROM api_tokens WHERE note = 'evil'`)).rows[0].count);
  return {
    hub,
    evilTokens,
    async stop() {
      await db.end();
      await hub.stop();
    },
  };
}

async function hubXsrfOf(context: BrowserContext, hubUrl: string): Promise<string | undefined> {
  return (await context.cookies(`${hubUrl}/hub/`)).find((c) => c.name === '_xsrf')?.value;
}

async function signIn(page: Page, hubUrl: string): Promise<void> {
  await page.goto(`${hubUrl}/hub/login`);
  await page.fill('#username', ADMIN);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL('**/hub/home');
}

const reason = (outcome: Outcome['create']) =>
  'body' in outcome ? JSON.parse(outcome.body).message : outcome.error;

test('same origin: a page of the admin’s server cannot mint a token with the admin’s session', {
  skip,
  timeout: 180_000,
}, async () => {
  const setup = await hubWithAdminServer('browser_origin_same');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await signIn(page, setup.hub.url);
    const lab = await page.goto(`${setup.hub.url}/user/${ADMIN}/lab/lab`);
    assert.equal(lab?.status(), 200);
    const outcome = await runEvil(page, setup.hub.url);
    // The hub's _xsrf cookie is for /hub/ pages only: what the page reads is Jupyter's own.
    const hubXsrf = await hubXsrfOf(context, setup.hub.url);
    assert.ok(hubXsrf, 'the hub set its _xsrf cookie');
    assert.notEqual(outcome.cookieXsrf, hubXsrf, 'the page cannot read the hub’s _xsrf cookie');
    // Both attempts reach the hub with the session cookie and are refused by where they come from.
    for (const attempt of [outcome.create, outcome.createWithPageXsrf]) {
      assert.ok('status' in attempt, JSON.stringify(attempt));
      assert.equal(attempt.status, 403, attempt.body);
      assert.match(reason(attempt), /page that is not the hub's/);
    }
    // On one origin a page under /user/ can still read the hub: only the separate origin stops it.
    assert.ok('status' in outcome.read && outcome.read.status === 200);
    assert.equal(await setup.evilTokens(), 0, 'no token was made');
  } finally {
    await context.close();
    await setup.stop();
  }
});

test('own origin: the admin’s server is on ada.localhost, and from there the hub can be neither changed nor read', {
  skip,
  timeout: 240_000,
}, async () => {
  const port = await freePort();
  const hubOrigin = `http://127.0.0.1:${port}`;
  const adminOrigin = `http://${ADMIN}.localhost:${port}`;
  const setup = await hubWithAdminServer('browser_origin_own', {
    port,
    publicUrl: hubOrigin,
    userOrigin: `http://{user}.localhost:${port}`,
  });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // A bookmark of the server, signed out: the hub's login, then back on the admin's origin.
    await page.goto(`${adminOrigin}/user/${ADMIN}/lab/tree`);
    assert.equal(new URL(page.url()).origin, hubOrigin);
    assert.equal(new URL(page.url()).pathname, '/hub/login');
    await page.fill('#username', ADMIN);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${adminOrigin}/user/${ADMIN}/lab/**`);
    // The hub's link to the server leads to the admin's own origin too.
    const lab = await page.goto(`${hubOrigin}/user/${ADMIN}/lab/lab`);
    assert.equal(lab?.status(), 200);
    assert.equal(new URL(page.url()).origin, adminOrigin);
    const cookies = await context.cookies(adminOrigin);
    assert.deepEqual(
      cookies
        .filter((c) => c.name.startsWith('orrery-'))
        .map((c) => [c.name, c.httpOnly, c.sameSite]),
      [['orrery-session-host', true, 'Lax']],
      'the admin’s host holds its own cookie, never the hub session',
    );
    // JupyterLab works there, and its hub links lead to the hub's origin.
    await page.waitForSelector('#jp-main-dock-panel', { timeout: 90_000 });
    const config = await page.evaluate(() =>
      JSON.parse(document.getElementById('jupyter-config-data')!.textContent!),
    );
    assert.equal(config.hubHost, hubOrigin);

    // The evil page, aimed at the hub's origin…
    const outcome = await runEvil(page, hubOrigin);
    assert.notEqual(outcome.cookieXsrf, await hubXsrfOf(context, hubOrigin));
    for (const attempt of [outcome.create, outcome.createWithPageXsrf])
      assert.match(reason(attempt), /Failed to fetch/, 'the browser refuses: no CORS from the hub');
    assert.ok(
      'error' in outcome.read,
      `the hub's answer was readable: ${JSON.stringify(outcome.read)}`,
    );
    assert.match(outcome.read.error, /Failed to fetch/);
    // …and at its own origin, which has nothing of the hub.
    const local = await runEvil(page, adminOrigin);
    assert.ok(
      'status' in local.create && local.create.status === 404,
      JSON.stringify(local.create),
    );
    assert.ok('status' in local.read && local.read.status === 404, JSON.stringify(local.read));
    assert.equal(await setup.evilTokens(), 0, 'no token was made');

    // A form post needs no CORS; the hub's Lax cookie does not go with it, and it is refused.
    const form = await page.evaluate(
      async ([hub, owner]) => {
        const res = await fetch(`${hub}/hub/api/users/${owner}/tokens`, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ scopes: ['all'], note: 'evil' }),
        });
        return res.type;
      },
      [hubOrigin, ADMIN] as const,
    );
    assert.equal(form, 'opaque');
    assert.equal(await setup.evilTokens(), 0, 'no token was made by a form post either');
  } finally {
    await context.close();
    await setup.stop();
  }
});
