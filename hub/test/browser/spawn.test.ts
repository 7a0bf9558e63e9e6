/**
 * The compute flow as a person meets it, in real Chromium: register, sign in, start a
 * server (the default one, as JupyterHub's Start does) and watch the progress bar, land in JupyterLab through the proxy with Orrery's
 * panels, run a notebook cell, stop the server. Another user is refused at the same URL.
 * The server is a Docker container when a daemon answers (in CI it must), else a process.
 * Needs Debian's chromium (scripts/provision-lab.sh); in CI a missing browser fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { dockerAvailable } from '@orrery/spawner';
import { type Browser, chromium, type Page } from 'playwright-core';
import { domain } from '../../src/compute/domainConfig.ts';
import { startTestHub, type TestHub } from '../support.ts';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

if (!existsSync(CHROMIUM) && process.env.CI === 'true')
  throw new Error('Chromium is required in CI: run scripts/provision-lab.sh');
const skip = existsSync(CHROMIUM) ? false : 'Debian chromium is not installed';

let hub: TestHub;
let browser: Browser;

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  // Containers when Docker answers (always in CI): the panels then reach the hub from inside one.
  if (process.env.CI === 'true' && !(await dockerAvailable()))
    throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
  hub = await startTestHub('browser', {
    compute: { domains: [domain('local', (await dockerAvailable()) ? 'docker' : 'local')] },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (skip) return;
  await browser.close();
  // The hub's warnings (proxy and spawn problems) explain a failure in the browser.
  if (hub.logLines.length) console.error(`hub warnings:\n${hub.logLines.join('')}`);
  await hub.stop();
});

async function register(page: Page, username: string): Promise<void> {
  await page.goto(`${hub.url}/hub/signup`);
  await page.fill('#username', username);
  await page.fill('#email', `${username}@example.org`);
  await page.fill('#password', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForURL('**/hub/home');
}

test('register, start a server with progress, run a cell in JupyterLab through the proxy, stop it', {
  skip,
  timeout: 240_000,
}, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await register(page, 'alice');
  await page.click('#start button[type=submit]');
  const progress = page.locator('#progress progress');
  await progress.waitFor({ state: 'visible' });
  // Sample the bar until the page opens JupyterLab; the wait for that is bounded.
  const seen = new Set<number>();
  let opened = false;
  // Settles either way, so a timeout is reported below rather than as an unhandled rejection.
  const opening = page
    .waitForURL((url) => url.pathname.startsWith('/user/alice/lab'), { timeout: 180_000 })
    .then(
      () => null,
      (err: Error) => err,
    )
    .finally(() => {
      opened = true;
    });
  while (!opened) {
    const value = await progress.getAttribute('value', { timeout: 1_000 }).catch(() => null);
    if (value) seen.add(Number(value));
    await page.waitForTimeout(100);
  }
  const failure = await opening;
  if (failure) {
    throw new Error(
      `JupyterLab did not open within 180 s (the bar showed ${[...seen]}): ${failure.message}`,
    );
  }
  assert.ok(
    [...seen].some((value) => value > 0 && value < 100),
    `the bar moved: ${[...seen]}`,
  );

  await page.waitForSelector('#jp-main-dock-panel', { timeout: 90_000 });
  // Orrery's panels are present: the Groups sidebar and the signed-in status item.
  await page.waitForSelector('text=Orrery: alice', { timeout: 30_000 });
  const hubConfig = await page.evaluate(() =>
    JSON.parse(document.getElementById('jupyter-config-data')!.textContent!),
  );
  assert.equal(
    hubConfig.hubPrefix,
    '/hub/',
    'JupyterLab knows the hub (Hub Control Panel, Log Out)',
  );
  assert.equal(hubConfig.token, '', 'no server secret in the page');
  // The image's JupyterLab defaults (images/base/labconfig): it does not ask about Jupyter news.
  const notification = await page.request.get(
    `${hub.url}/user/alice/lab/api/settings/@jupyterlab/apputils-extension:notification`,
  );
  assert.equal(notification.status(), 200);
  // Overrides become the schema's defaults (the user's own settings stay empty).
  const { schema } = (await notification.json()) as {
    schema: { properties: Record<string, { default?: unknown }> };
  };
  const stale = 'the image predates images/base/labconfig: rebuild it with bash images/build.sh';
  assert.equal(schema.properties.fetchNews?.default, 'false', stale);
  assert.equal(schema.properties.checkForUpdates?.default, false, stale);

  await page.click('.jp-LauncherCard[data-category="Notebook"]');
  const cell = page.locator('.jp-Cell .jp-InputArea-editor').first();
  await cell.waitFor({ timeout: 60_000 });
  // Type only once the kernel is connected and idle, as a person would wait for it.
  await page.waitForSelector('.jp-StatusBar-Widget :text("| Idle")', { timeout: 90_000 });
  await cell.click();
  await page.keyboard.type('print(6 * 7)');
  await page.keyboard.press('Shift+Enter');
  await page
    .waitForSelector('.jp-OutputArea-output:has-text("42")', { timeout: 60_000 })
    .catch(async (err) => {
      await page.screenshot({ path: `${ARTIFACTS}/cell-failed.png` });
      throw err;
    });
  await page.screenshot({ path: `${ARTIFACTS}/jupyterlab-through-proxy.png` });

  // Another user opening alice's server is refused.
  const other = await browser.newContext();
  const bobPage = await other.newPage();
  await register(bobPage, 'bob');
  const refused = await bobPage.goto(`${hub.url}/user/alice/lab`);
  assert.equal(refused?.status(), 403);
  await other.close();

  await page.goto(`${hub.url}/hub/home`);
  await page.waitForSelector('tr[data-server=""] .badge.running');
  await page.screenshot({ path: `${ARTIFACTS}/home-running.png` });
  await page.click('tr[data-server=""] button:has-text("Stop")');
  await page.waitForSelector('#empty:not([hidden])', { timeout: 60_000 });
  const after = await page.request.get(`${hub.url}/user/alice/api/status`);
  assert.equal(after.status(), 503);
  await context.close();
});

test('before an idle stop JupyterLab counts down, and "Keep it running" postpones it', {
  skip,
  timeout: 360_000,
}, async () => {
  // A hub whose idle limit is inside the warning window from the start, so the warning shows at once.
  const soon = await startTestHub('browser_cull', {
    compute: { idleCullSeconds: 900, cullWarningSeconds: 3600 },
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(`${soon.url}/hub/signup`);
    await page.fill('#username', 'carol');
    await page.fill('#email', 'carol@example.org');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL('**/hub/home');
    await page.click('#start button[type=submit]');
    // A local-process server: its start waits on an unprivileged probe of `jupyter`, slow when
    // the other test lane loads the machine (as long as the other browser tests allow a spawn).
    await page.waitForURL('**/user/carol/lab**', { timeout: 180_000 });
    const warning = page.locator('.Toastify__toast', { hasText: 'will be stopped in' });
    await warning.waitFor({ timeout: 60_000 });
    assert.match((await warning.textContent()) ?? '', /stopped in 1[0-4] min/);
    await page.screenshot({ path: `${ARTIFACTS}/idle-warning.png` });
    const before = (await page.request.get(`${soon.url}/hub/api/users/carol`))
      .json()
      .then((model) => model.servers['']);
    await warning.getByRole('button', { name: 'Keep it running' }).click();
    await page
      .locator('.Toastify__toast', { hasText: 'will keep running' })
      .waitFor({ timeout: 30_000 });
    const after = (await (await page.request.get(`${soon.url}/hub/api/users/carol`)).json())
      .servers[''];
    assert.ok(
      new Date(after.last_activity) > new Date((await before).last_activity),
      'the hub counted the click as activity',
    );
    await page.request.delete(`${soon.url}/hub/api/users/carol/server`, {
      headers: { 'x-xsrftoken': await xsrfOf(context, soon.url) },
    });
  } finally {
    await context.close();
    await soon.stop();
  }
});

async function xsrfOf(
  context: import('playwright-core').BrowserContext,
  url: string,
): Promise<string> {
  // The hub's _xsrf cookie is scoped to /hub/.
  const cookies = await context.cookies(`${url}/hub/`);
  return cookies.find((cookie) => cookie.name === '_xsrf')?.value ?? '';
}
