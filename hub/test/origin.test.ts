/**
 * Code in a user's server must not act with its owner's hub session. Against real hubs with
 * real Jupyter servers (local processes): in the same-origin mode the requests a page under
 * /user/ can make are refused; with ORRERY_USER_ORIGIN servers live on their users' own hosts,
 * reached through a one-use login hand-off, and the hub's host is out of their reach.
 * Requests name their host in the Host header (the hub decides by it), as a browser would send
 * them to http://alice.localhost:<port>; hub/test/browser/origin.test.ts does it in Chromium.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@orrery/spawner';
import pg from 'pg';
import { HOST_COOKIE, STATE_COOKIE } from '../src/auth/userOrigin.ts';
import { kernelInfo, openSocket, waitForStatus } from './compute/support.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A request to the hub's port as if sent to `host`. */
function send(
  port: number,
  host: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: { ...headers, host } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const cookieOf = (answer: Answer, name: string) =>
  (answer.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${name}=`));
const cookieValue = (setCookie: string | undefined) => setCookie?.split(';')[0]?.split('=')[1];

async function startServer(client: Client, name: string): Promise<void> {
  const started = await client.post(`/hub/api/users/${name}/servers/lab`, {});
  assert.equal(started.status, 202, started.text);
  await waitForStatus(client, name, 'lab', 'running');
}

const sessionOf = (client: Client) =>
  client.authHeaders().cookie!.match(/orrery-session=([^;]+)/)![1]!;

describe('same origin (the default)', () => {
  let hub: TestHub;
  let alice: Client;
  let port: number;
  before(async () => {
    hub = await startTestHub('origin_same');
    port = Number(new URL(hub.url).port);
    alice = await signUp(hub.url, 'alice');
    await startServer(alice, 'alice');
  });
  after(async () => {
    await alice.delete('/hub/api/users/alice/servers/lab');
    await hub.stop();
  });

  test('the _xsrf cookie is scoped to /hub/, so pages under /user/ do not see it', async () => {
    const answer = await send(port, new URL(hub.url).host, 'GET', '/hub/login');
    const xsrf = cookieOf(answer, '_xsrf');
    assert.ok(xsrf, 'a first visit gets an _xsrf cookie');
    assert.match(xsrf!, /; Path=\/hub\/(;|$)/);
    // A request outside /hub/ (a favicon) comes without it, and must not replace it.
    const favicon = await send(port, new URL(hub.url).host, 'GET', '/favicon.ico');
    assert.equal(cookieOf(favicon, '_xsrf'), undefined);
  });

  test("a page of alice's server cannot create a token with her session", async () => {
    const host = new URL(hub.url).host;
    const session = sessionOf(alice);
    const token = alice.xsrf;
    assert.ok(token, 'alice holds an XSRF token');
    // Hub pages no longer carry the token in their HTML (their scripts read the /hub/ cookie)...
    const login = await send(port, host, 'GET', '/hub/login', {
      cookie: `orrery-session=${session}; _xsrf=${alice.xsrf}`,
    });
    assert.ok(!login.text.includes(token), 'the login page holds no XSRF token');
    // ...but a same-origin page can still get at it (a window it opens on a hub page): grant
    // the page the token, and the request is refused for where it comes from.
    const fromServerPage = {
      cookie: `orrery-session=${session}; _xsrf=${alice.xsrf}`,
      'content-type': 'application/json',
      'x-xsrftoken': token,
      // What Chromium sends with a fetch from http://<hub>/user/alice/lab/files/evil.html.
      'sec-fetch-site': 'same-origin',
      origin: hub.url,
    };
    const body = JSON.stringify({ scopes: ['all'], note: 'evil' });
    const path = '/hub/api/users/alice/tokens';
    const withReferer = await send(
      port,
      host,
      'POST',
      path,
      {
        ...fromServerPage,
        referer: `${hub.url}/user/alice/lab/files/evil.html`,
      },
      body,
    );
    assert.equal(withReferer.status, 403, withReferer.text);
    assert.match(JSON.parse(withReferer.text).message, /page that is not the hub's/);
    // The same page asking for no Referer (referrerpolicy: 'no-referrer').
    const hidden = await send(port, host, 'POST', path, fromServerPage, body);
    assert.equal(hidden.status, 403, hidden.text);
    assert.match(JSON.parse(hidden.text).message, /hid its address/);

    // A cookie the page planted for /hub/ ("cookie tossing") and echoed: not bound to the session.
    const planted = 'p'.repeat(43);
    const tossed = await send(
      port,
      host,
      'POST',
      path,
      {
        cookie: `orrery-session=${session}; _xsrf=${planted}`,
        'content-type': 'application/json',
        'x-xsrftoken': planted,
      },
      body,
    );
    assert.equal(tossed.status, 403, tossed.text);
    assert.match(JSON.parse(tossed.text).message, /XSRF check failed/);

    // The hub's own page, with the same credentials, may.
    const fromHub = await send(
      port,
      host,
      'POST',
      path,
      {
        ...fromServerPage,
        referer: `${hub.url}/hub/home`,
      },
      body,
    );
    assert.equal(fromHub.status, 201, fromHub.text);
  });

  test('the proxy drops the CORS headers Jupyter gives any Origin', async () => {
    const evil = await send(port, new URL(hub.url).host, 'GET', '/user/alice/lab/api/status', {
      ...alice.authHeaders(),
      origin: 'https://evil.example',
    });
    assert.equal(evil.status, 200, evil.text);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    const preflight = await send(
      port,
      new URL(hub.url).host,
      'OPTIONS',
      '/user/alice/lab/api/contents',
      {
        ...alice.authHeaders(),
        origin: 'https://evil.example',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,content-type',
      },
    );
    for (const name of Object.keys(preflight.headers))
      assert.ok(!name.startsWith('access-control-'), `${name} passed`);
  });
});

describe('each user on their own origin (ORRERY_USER_ORIGIN)', () => {
  let hub: TestHub;
  let alice: Client;
  let bob: Client;
  let port: number;
  let hubHost: string;
  let aliceHost: string;
  let bobHost: string;
  let db: pg.Pool;
  before(async () => {
    port = await freePort();
    hub = await startTestHub('origin_separate', {
      port,
      publicUrl: `http://127.0.0.1:${port}`,
      userOrigin: `http://{user}.localhost:${port}`,
    });
    hubHost = `127.0.0.1:${port}`;
    aliceHost = `alice.localhost:${port}`;
    bobHost = `bob.localhost:${port}`;
    alice = await signUp(hub.url, 'alice');
    bob = await signUp(hub.url, 'bob');
    db = new pg.Pool({ connectionString: hub.databaseUrl });
    await startServer(alice, 'alice');
    await startServer(bob, 'bob');
  });
  after(async () => {
    await alice.delete('/hub/api/users/alice/servers/lab');
    await bob.delete('/hub/api/users/bob/servers/lab');
    await db.end();
    await hub.stop();
  });

  /** The hub's answer to a browser asking for a code for `next`. */
  const askCode = (client: Client, next: string, state = 's'.repeat(43)) =>
    send(
      port,
      hubHost,
      'GET',
      `/hub/user-login?next=${encodeURIComponent(next)}&state=${state}`,
      client.authHeaders(),
    );

  interface HandOff {
    host: string;
    callback: string;
    /** The state cookie the user's host gave the browser, as a Cookie header. */
    state: string;
  }

  /** A browser without the host's cookie opens `next` on its owner's host and gets a code. */
  async function handOff(client: Client, next: string): Promise<HandOff> {
    const owner = next.split('/')[2]!;
    const start = await send(port, `${owner}.localhost:${port}`, 'GET', next, {
      accept: 'text/html',
    });
    assert.equal(start.status, 302, start.text);
    const state = cookieOf(start, STATE_COOKIE)!;
    assert.match(state, /; Path=\/hub\/user-login\/callback; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const hubUrl = new URL(start.headers.location!);
    assert.equal(hubUrl.host, hubHost);
    const answer = await send(
      port,
      hubHost,
      'GET',
      hubUrl.pathname + hubUrl.search,
      client.authHeaders(),
    );
    assert.equal(answer.status, 303, answer.text);
    const location = new URL(answer.headers.location!);
    return {
      host: location.host,
      callback: location.pathname + location.search,
      state: `${STATE_COOKIE}=${cookieValue(state)}`,
    };
  }

  /** The browser back on `host` with the code (and, unless told otherwise, its state cookie). */
  const redeem = (host: string, handoff: HandOff, state = handoff.state) =>
    send(port, host, 'GET', handoff.callback, { cookie: state });

  test("servers are sent to their user's host; a host serves its user's servers only", async () => {
    const moved = await send(port, hubHost, 'GET', '/user/alice/lab/lab?x=1', alice.authHeaders());
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, `http://${aliceHost}/user/alice/lab/lab?x=1`);
    // The hub's session cookie is not a credential on a user's host (browsers never send it there).
    const withSession = await send(
      port,
      aliceHost,
      'GET',
      '/user/alice/lab/api/status',
      alice.authHeaders(),
    );
    assert.equal(withSession.status, 401);
    // A browser without the host's cookie is sent to the hub to hand the login over.
    const page = await send(port, aliceHost, 'GET', '/user/alice/lab/lab', { accept: 'text/html' });
    assert.equal(page.status, 302);
    assert.match(
      page.headers.location!,
      new RegExp(
        `^http://${hubHost}/hub/user-login\\?next=${encodeURIComponent('/user/alice/lab/lab')}&state=[\\w-]{43}$`,
      ),
    );
    for (const [path, status] of [
      ['/hub/api/user', 404],
      ['/hub/home', 404],
      ['/hub/login', 404],
      ['/user/bob/lab/api/status', 403],
    ] as const) {
      const answer = await send(port, aliceHost, 'GET', path, alice.authHeaders());
      assert.equal(answer.status, status, `${path}: ${answer.text}`);
      assert.ok(JSON.parse(answer.text).message, 'answers {error, message}');
    }
  });

  test('the hand-off: a one-use code bound to one host becomes that host’s own cookie', async () => {
    // Signed out, the hub asks to sign in first and comes back.
    const anonymous = await send(
      port,
      hubHost,
      'GET',
      '/hub/user-login?next=%2Fuser%2Falice%2Flab%2F',
    );
    assert.equal(anonymous.status, 303);
    assert.match(anonymous.headers.location!, /^\/hub\/login\?next=%2Fhub%2Fuser-login/);
    // Only ever a code for one's own host.
    const others = await askCode(alice, '/user/bob/lab/');
    assert.equal(others.status, 403, others.text);
    assert.equal((await askCode(alice, 'https://evil.example/user/alice/lab/')).status, 400);
    assert.equal((await askCode(alice, '/user/alice/lab/', '')).status, 400, 'no state');

    const first = await handOff(alice, '/user/alice/lab/api/status');
    assert.equal(first.host, aliceHost);
    const code = new URLSearchParams(first.callback.split('?')[1]).get('code')!;
    // Stored as a hash only.
    const stored = await db.query('SELECT code_hash, host FROM user_origin_codes');
    assert.equal(stored.rows.length, 1);
    assert.ok(!stored.rows[0].code_hash.toString('utf8').includes(code));
    // Redeemed on another user's host: refused, and spent.
    const elsewhere = await redeem(bobHost, first);
    assert.equal(elsewhere.status, 400, elsewhere.text);
    assert.equal((await redeem(aliceHost, first)).status, 400, 'spent');
    // Bob's own code, opened in alice's browser (a login planted on bob's host): no state, refused.
    const planted = await handOff(bob, '/user/bob/lab/');
    assert.equal((await redeem(bobHost, planted, '')).status, 400, 'without the state cookie');
    const another = await handOff(bob, '/user/bob/lab/');
    const aliceState = (await handOff(alice, '/user/alice/lab/')).state;
    assert.equal((await redeem(bobHost, another, aliceState)).status, 400, 'another state');

    const second = await handOff(alice, '/user/alice/lab/api/status');
    const redeemed = await redeem(aliceHost, second);
    assert.equal(redeemed.status, 303, redeemed.text);
    assert.match(cookieOf(redeemed, STATE_COOKIE)!, /Max-Age=0/, 'the state cookie is spent');
    assert.equal(redeemed.headers.location, '/user/alice/lab/api/status', 'next stays on the host');
    const setCookie = cookieOf(redeemed, HOST_COOKIE)!;
    assert.match(setCookie, /; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    assert.ok(!/Domain=/i.test(setCookie), 'a host-only cookie');
    assert.ok(Number(setCookie.match(/Max-Age=(\d+)/)![1]) <= 8 * 3600, 'short-lived');
    const hostCookie = cookieValue(setCookie)!;
    assert.notEqual(hostCookie, sessionOf(alice), 'not the hub session');
    assert.equal((await redeem(aliceHost, second)).status, 400, 'one use');

    const cookie = { cookie: `${HOST_COOKIE}=${hostCookie}` };
    const status = await send(port, aliceHost, 'GET', '/user/alice/lab/api/status', cookie);
    assert.equal(status.status, 200, status.text);
    // Bound to alice's host: not bob's server on bob's host, nor anything of the hub.
    assert.equal(
      (await send(port, bobHost, 'GET', '/user/bob/lab/api/status', cookie)).status,
      401,
    );
    assert.equal((await send(port, hubHost, 'GET', '/hub/api/user', cookie)).status, 403);

    // An expired code is refused.
    const third = await handOff(alice, '/user/alice/lab/');
    await db.query(`UPDATE user_origin_codes SET expires_at = now() - interval '1 second'`);
    assert.equal((await redeem(aliceHost, third)).status, 400);
  });

  test('kernels work over WebSockets on alice’s host with its cookie; from bob’s origin or host they do not', async () => {
    const redeemed = await redeem(aliceHost, await handOff(alice, '/user/alice/lab/'));
    const cookie = `${HOST_COOKIE}=${cookieValue(cookieOf(redeemed, HOST_COOKIE))}`;
    const kernel = await send(
      port,
      aliceHost,
      'POST',
      '/user/alice/lab/api/kernels',
      { cookie, 'content-type': 'application/json', origin: `http://${aliceHost}` },
      JSON.stringify({ name: 'python3' }),
    );
    assert.equal(kernel.status, 201, kernel.text);
    const channels = `/user/alice/lab/api/kernels/${JSON.parse(kernel.text).id}/channels`;
    const url = `ws://127.0.0.1:${port}${channels}`;
    const socket = await openSocket(url, {
      host: aliceHost,
      cookie,
      origin: `http://${aliceHost}`,
    });
    assert.equal((await kernelInfo(socket)).status, 'ok');
    socket.close();
    await assert.rejects(
      openSocket(url, { host: aliceHost, cookie, origin: `http://${bobHost}` }),
      /refused with 403/,
    );
    await assert.rejects(openSocket(url, { host: bobHost, cookie }), /refused with 403/);
    await assert.rejects(
      openSocket(url, { host: hubHost, ...alice.authHeaders() }),
      /refused with 404/,
    );
    await assert.rejects(
      openSocket(url, { host: aliceHost, ...alice.authHeaders() }),
      /refused with 401/,
    );
    // A state change from bob's origin (same site as alice's host) is refused by the proxy.
    const fromBob = await send(
      port,
      aliceHost,
      'POST',
      '/user/alice/lab/api/kernels',
      {
        cookie,
        'content-type': 'application/json',
        origin: `http://${bobHost}`,
      },
      JSON.stringify({ name: 'python3' }),
    );
    assert.equal(fromBob.status, 403, fromBob.text);
  });

  test('the lab page leads back to the hub’s origin (Hub Control Panel, Log Out)', async () => {
    const redeemed = await redeem(aliceHost, await handOff(alice, '/user/alice/lab/lab'));
    const cookie = { cookie: `${HOST_COOKIE}=${cookieValue(cookieOf(redeemed, HOST_COOKIE))}` };
    const page = await send(port, aliceHost, 'GET', '/user/alice/lab/lab', cookie);
    assert.equal(page.status, 200, page.text);
    const config = JSON.parse(page.text.match(/id="jupyter-config-data"[^>]*>([^<]*)</)![1]!);
    assert.equal(config.hubHost, hub.url);
    assert.equal(config.hubPrefix, '/hub/');
  });

  test('from alice’s host, the hub can be neither changed nor read', async () => {
    const body = JSON.stringify({ scopes: ['all'] });
    // The page's own origin has nothing of the hub.
    const local = await send(
      port,
      aliceHost,
      'POST',
      '/hub/api/users/alice/tokens',
      {
        'content-type': 'application/json',
      },
      body,
    );
    assert.equal(local.status, 404);
    // To the hub's origin: a browser sends no Lax cookie cross-site; with it, still refused.
    const crossSite = {
      'content-type': 'application/json',
      origin: `http://${aliceHost}`,
      referer: `http://${aliceHost}/user/alice/lab/lab`,
      'sec-fetch-site': 'cross-site',
    };
    const without = await send(
      port,
      hubHost,
      'POST',
      '/hub/api/users/alice/tokens',
      crossSite,
      body,
    );
    assert.equal(without.status, 403, without.text);
    const withCookie = await send(
      port,
      hubHost,
      'POST',
      '/hub/api/users/alice/tokens',
      {
        ...crossSite,
        ...alice.authHeaders(),
        'x-xsrftoken': alice.xsrf!,
      },
      body,
    );
    assert.equal(withCookie.status, 403, withCookie.text);
    assert.match(JSON.parse(withCookie.text).message, /another site/);
    // No CORS: the hub's answers are not readable from alice's origin.
    const read = await send(port, hubHost, 'GET', '/hub/api/user', {
      ...alice.authHeaders(),
      origin: `http://${aliceHost}`,
    });
    assert.equal(read.headers['access-control-allow-origin'], undefined);
    const preflight = await send(port, hubHost, 'OPTIONS', '/hub/api/users/alice/tokens', {
      origin: `http://${aliceHost}`,
      'access-control-request-method': 'POST',
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  test('signing out of the hub ends the host cookies of that session', async () => {
    assert.equal((await redeem(bobHost, await handOff(bob, '/user/bob/lab/'))).status, 303);
    const count = async () =>
      Number(
        (
          await db.query(
            `SELECT count(*) FROM user_host_sessions h JOIN users u ON u.id = h.user_id WHERE u.name = 'bob'`,
          )
        ).rows[0].count,
      );
    assert.equal(await count(), 1);
    assert.equal((await bob.post('/hub/api/logout')).status, 204);
    assert.equal(await count(), 0);
  });
});
