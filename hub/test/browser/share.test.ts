/**
 * Sharing a running server, as two people meet it in real Chromium: alice starts her server
 * and makes a share code on the home page; bob, signed in as himself, opens the link, accepts
 * and lands in alice's JupyterLab through the proxy; both edit one notebook and each sees the
 * other's typing (jupyter-collaboration, over `api/collaboration/...` WebSockets through the
 * proxy); alice takes the share back, and bob's open WebSockets close at once and his next
 * request is refused. The server is a Docker container when a daemon answers (in CI it must).
 * The image is ORRERY_SHARE_TEST_IMAGE when set (default: the hub's first image).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { dockerAvailable } from '@orrery/spawner';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { domain } from '../../src/compute/domainConfig.ts';
import { startTestHub, type TestHub, testConfig } from '../support.ts';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

if (!existsSync(CHROMIUM) && process.env.CI === 'true')
  throw new Error('Chromium is required in CI: run scripts/provision-lab.sh');
const skip = existsSync(CHROMIUM) ? false : 'Debian chromium is not installed';

let hub: TestHub;
let browser: Browser;

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  if (process.env.CI === 'true' && !(await dockerAvailable()))
    throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
  const image = process.env.ORRERY_SHARE_TEST_IMAGE;
  hub = await startTestHub('browser_share', {
    compute: {
      ...testConfig('').compute,
      domains: [domain('local', (await dockerAvailable()) ? 'docker' : 'local')],
      ...(image ? { images: [image] } : {}),
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (skip) return;
  await browser.close();
  if (hub.logLines.length) console.error(`hub log:\n${hub.logLines.join('').slice(-20_000)}`);
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

async function xsrfOf(context: BrowserContext): Promise<string> {
  const cookies = await context.cookies(`${hub.url}/hub/`);
  return cookies.find((cookie) => cookie.name === '_xsrf')?.value ?? '';
}

/**
 * jupyter-collaboration asks whether to keep waiting when a document has not synced within 5 s
 * (a busy machine): keep waiting, whenever that dialog shows. A room that never syncs still
 * fails the test, when the other's edits never arrive.
 */
async function keepWaitingForSync(page: Page): Promise<void> {
  await page.addLocatorHandler(
    page.locator('.jp-Dialog', { hasText: 'The document is taking some time to load' }),
    async (dialog) => {
      await dialog.getByRole('button', { name: 'Continue waiting' }).click();
    },
  );
}

/** The notebook's first cell editor, once the document has loaded. */
async function firstCell(page: Page) {
  const editor = page.locator('.jp-Notebook .jp-Cell .jp-InputArea-editor .cm-content').first();
  await editor.waitFor({ timeout: 90_000 });
  return editor;
}

test('alice shares her running server with bob by a code; they edit one notebook together; she revokes and bob is shut out at once', {
  skip,
  timeout: 420_000,
}, async () => {
  const aliceContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const alice = await aliceContext.newPage();
  await register(alice, 'alice');
  await alice.click('#start button[type=submit]');
  await alice.waitForURL((url) => url.pathname.startsWith('/user/alice/lab'), {
    timeout: 180_000,
  });
  await alice.waitForSelector('#jp-main-dock-panel', { timeout: 90_000 });
  // A notebook with one empty cell, through the proxy as alice.
  const made = await alice.request.put(`${hub.url}/user/alice/api/contents/together.ipynb`, {
    data: {
      type: 'notebook',
      content: {
        nbformat: 4,
        nbformat_minor: 5,
        // A kernel named, so JupyterLab asks nobody to pick one.
        metadata: {
          kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
        },
        cells: [
          {
            cell_type: 'code',
            id: 'c1',
            metadata: {},
            source: '# notes',
            outputs: [],
            execution_count: null,
          },
        ],
      },
    },
  });
  assert.equal(made.status(), 201, await made.text());

  // The home page makes the code; its link is what alice sends bob.
  await alice.goto(`${hub.url}/hub/home`);
  await alice.click('tr[data-server=""] button.share');
  await alice.waitForSelector('#share-made:not([hidden])');
  const acceptUrl = await alice.inputValue('#share-url');
  assert.match(acceptUrl, /\/hub\/accept-share\?code=orrs_/);

  const bobContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const bob = await bobContext.newPage();
  await register(bob, 'bob');
  assert.equal((await bob.request.get(`${hub.url}/user/alice/api/status`)).status(), 403);
  await bob.goto(acceptUrl.replace(/^https?:\/\/[^/]+/, hub.url));
  assert.match((await bob.textContent('#shared-server')) ?? '', /alice\//);
  await bob.click('#accept');
  await bob.waitForURL((url) => url.pathname.startsWith('/user/alice/'), { timeout: 60_000 });
  await bob.goto(`${hub.url}/hub/home`);
  await bob.waitForSelector('#shared tr[data-server="alice/"] .badge.running');
  await bob.screenshot({ path: `${ARTIFACTS}/share-home-bob.png` });

  // Bob's WebSockets to alice's server, to see them closed later.
  const bobSockets: { url: string; closed: boolean }[] = [];
  bob.on('websocket', (socket) => {
    if (!socket.url().includes('/user/alice/')) return;
    const entry = { url: socket.url(), closed: false };
    bobSockets.push(entry);
    socket.on('close', () => {
      entry.closed = true;
    });
  });

  await keepWaitingForSync(alice);
  await keepWaitingForSync(bob);
  await alice.goto(`${hub.url}/user/alice/lab/tree/together.ipynb`);
  await bob.goto(`${hub.url}/user/alice/lab/tree/together.ipynb`);
  const aliceCell = await firstCell(alice);
  const bobCell = await firstCell(bob);
  assert.ok(
    bobSockets.some((socket) => socket.url.includes('/api/collaboration/room/')),
    `bob edits through a collaboration room: ${bobSockets.map((s) => s.url).join(', ')}`,
  );

  // Alice types; bob sees it. Bob types; alice sees it.
  await aliceCell.click();
  await alice.keyboard.press('Control+End');
  await alice.keyboard.type(' from alice');
  await bob
    .locator('.jp-Notebook .jp-Cell .cm-content', { hasText: 'from alice' })
    .first()
    .waitFor({ timeout: 60_000 });
  await bobCell.click();
  await bob.keyboard.press('Control+End');
  await bob.keyboard.type(' and bob');
  await alice
    .locator('.jp-Notebook .jp-Cell .cm-content', { hasText: 'and bob' })
    .first()
    .waitFor({ timeout: 60_000 });
  await alice.screenshot({ path: `${ARTIFACTS}/share-together-alice.png` });
  await bob.screenshot({ path: `${ARTIFACTS}/share-together-bob.png` });
  const open = bobSockets.filter((socket) => !socket.closed);
  assert.ok(open.length > 0, 'bob has WebSockets open to alice’s server');

  // Alice takes the share back: bob's sockets close without waiting for anything else.
  const revoked = await alice.request.delete(`${hub.url}/hub/api/shares/alice`, {
    headers: { 'x-xsrftoken': await xsrfOf(aliceContext) },
  });
  assert.equal(revoked.status(), 204, await revoked.text());
  const deadline = Date.now() + 30_000;
  while (open.some((socket) => !socket.closed) && Date.now() < deadline)
    await bob.waitForTimeout(100);
  assert.deepEqual(
    open.filter((socket) => !socket.closed).map((socket) => socket.url),
    [],
    'every WebSocket bob had open to alice’s server was closed',
  );
  assert.equal((await bob.request.get(`${hub.url}/user/alice/api/status`)).status(), 403);
  // Alice's own lab goes on.
  assert.equal((await alice.request.get(`${hub.url}/user/alice/api/status`)).status(), 200);

  await alice.request.delete(`${hub.url}/hub/api/users/alice/server`, {
    headers: { 'x-xsrftoken': await xsrfOf(aliceContext) },
  });
  await bobContext.close();
  await aliceContext.close();
});
