/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider) on
 * loopback: the full authorization-code flow with PKCE, state and nonce, driven
 * by plain fetch with one cookie jar per origin, as a browser would.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Provider from 'oidc-provider';
import { baseUsername, candidateUsernames, fitUsername } from '../src/oidc/names.ts';
import { PendingLogins } from '../src/oidc/pending.ts';
import { signUp, startTestHub, type TestHub } from './support.ts';

const CLIENT_ID = 'orrery-hub';
const CLIENT_SECRET = 'a-client-secret-that-is-long-enough-for-hs256-0123456789';
const PROVIDER_NAME = 'testsso';

/** People the provider knows, by subject. */
const PEOPLE: Record<string, { preferred_username?: string; email?: string }> = {
  'sub-alice': { preferred_username: 'Alice.Smith', email: 'alice@example.org' },
  'sub-carol': { preferred_username: 'carol', email: 'carol@elsewhere.example' },
  'sub-dave': { email: 'Dave@example.org' },
  'sub-erin': { preferred_username: 'erin' },
  'sub-frank': { preferred_username: 'frank' },
};

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await close(probe);
  return port;
}

/** Cookies per origin, following redirects by hand: enough of a browser for the flow. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>();

  constructor(private readonly accept = 'application/json') {}

  cookie(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name);
  }

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const { origin } = new URL(url);
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    const headers: Record<string, string> = { accept: this.accept };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers,
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1);
      if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(cookie)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /** Follow redirects from `url` until a page that is not a redirect, or a URL for which `stop` holds. */
  async follow(url: string, stop: (url: string) => boolean = () => false) {
    let current = url;
    for (let hops = 0; hops < 20; hops += 1) {
      if (stop(current)) return { url: current, res: undefined };
      const res = await this.fetch(current);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url: current, res };
      await res.arrayBuffer();
      current = new URL(location, current).href;
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

describe('single sign-on with OpenID Connect', () => {
  let hub: TestHub;
  let providerServer: Server;
  let provider: Provider;
  let providerPort: number;
  let issuer: string;
  let callback: string;

  const isCallback = (url: string) => url.startsWith(callback);

  /**
   * Sign in as `subject` at the provider, starting from the hub's login link;
   * returns the provider's redirect back to the hub, not yet followed.
   */
  async function toCallback(
    browser: Browser,
    subject: string,
    options: { next?: string; deny?: boolean } = {},
  ): Promise<string> {
    const query = options.next === undefined ? '' : `?next=${encodeURIComponent(options.next)}`;
    let { url, res } = await browser.follow(`${hub.url}/hub/oauth/login${query}`, isCallback);
    for (let step = 0; res && step < 5; step += 1) {
      assert.equal(res.status, 200, `provider page ${url}: ${res.status}`);
      const html = await res.text();
      const prompt = html.match(/name="prompt" value="(\w+)"/)?.[1];
      assert.ok(prompt === 'login' || prompt === 'consent', `an interaction form at ${url}`);
      let next: Response;
      if (prompt === 'consent' && options.deny) next = await browser.fetch(`${url}/abort`);
      else
        next = await browser.fetch(url, {
          form: prompt === 'login' ? { prompt, login: subject, password: 'any' } : { prompt },
        });
      const location = next.headers.get('location');
      assert.ok(location, `the provider redirects after the ${prompt} form`);
      ({ url, res } = await browser.follow(new URL(location, url).href, isCallback));
    }
    assert.ok(isCallback(url), `the flow ends on the hub's callback, not ${url}`);
    return url;
  }

  /** The whole flow; returns the hub's answer to the callback. */
  async function signIn(browser: Browser, subject: string, options: { next?: string } = {}) {
    return browser.fetch(await toCallback(browser, subject, options));
  }

  async function whoAmI(browser: Browser) {
    const res = await browser.fetch(`${hub.url}/hub/api/user`);
    return { status: res.status, body: (await res.json()) as { name: string; email: string } };
  }

  const linkedTo = async (subject: string) =>
    (
      await hub.hub.db.query(
        `SELECT u.name FROM external_identities e JOIN users u ON u.id = e.user_id
         WHERE e.provider = $1 AND e.subject = $2`,
        [PROVIDER_NAME, subject],
      )
    ).rows.map((row) => row.name as string);

  before(async () => {
    // The provider's port is fixed first, but nothing serves it until the first test has seen the hub fail.
    providerServer = createServer();
    providerPort = await listen(providerServer);
    await close(providerServer);
    issuer = `http://127.0.0.1:${providerPort}`;
    const hubPort = await freePort();
    callback = `http://127.0.0.1:${hubPort}/hub/oauth/callback`;
    hub = await startTestHub('oidc', {
      port: hubPort,
      publicUrl: `http://127.0.0.1:${hubPort}`,
      oidc: {
        issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        name: PROVIDER_NAME,
        allowHttp: true,
      },
    });
  });

  after(async () => {
    if (providerServer.listening) await close(providerServer);
    await hub?.stop();
  });

  test('a provider that cannot be reached gives a clear 503, and is tried again later', async () => {
    const res = await new Browser().fetch(`${hub.url}/hub/oauth/login`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: string; message: string };
    assert.equal(body.error, 'unavailable');
    assert.match(body.message, /testsso.*cannot be reached/);
    assert.doesNotMatch(JSON.stringify(body), /at .*\.ts|stack/);

    provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [callback],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      claims: { openid: ['sub'], email: ['email'], profile: ['preferred_username'] },
      cookies: { keys: ['oidc-test-cookie-key'] },
      features: { devInteractions: { enabled: true } },
      async findAccount(_ctx, id) {
        const person = PEOPLE[id];
        if (!person) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, ...person }) };
      },
    });
    providerServer = createServer(provider.callback());
    await listen(providerServer, providerPort);
    const retry = await new Browser().fetch(`${hub.url}/hub/oauth/login`);
    assert.equal(retry.status, 303);
    assert.ok(retry.headers.get('location')?.startsWith(`${issuer}/auth?`));
  });

  test('first sign-in creates and links an account; the session works on the API', async () => {
    const browser = new Browser();
    const res = await signIn(browser, 'sub-alice', { next: '/hub/home?tab=1' });
    assert.equal(res.status, 303, await res.text());
    assert.equal(res.headers.get('location'), '/hub/home?tab=1');
    assert.equal(browser.cookie(hub.url, 'orrery-oidc'), undefined, 'the pending cookie is gone');

    const me = await whoAmI(browser);
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'alice.smith');
    assert.equal(me.body.email, 'alice@example.org');
    assert.deepEqual(await linkedTo('sub-alice'), ['alice.smith']);

    const { rows } = await hub.hub.db.query(
      `SELECT a.type, a.payload FROM activity a JOIN users u ON u.id = a.user_id
       WHERE u.name = 'alice.smith' AND a.type IN ('user.register', 'user.login') ORDER BY a.id`,
    );
    assert.deepEqual(
      rows.map((row) => [row.type, row.payload.method, row.payload.provider]),
      [
        ['user.register', 'oidc', PROVIDER_NAME],
        ['user.login', 'oidc', PROVIDER_NAME],
      ],
    );
  });

  test('a second sign-in maps to the same account', async () => {
    const before = await hub.hub.db.query('SELECT count(*)::int AS n FROM users');
    const browser = new Browser();
    const res = await signIn(browser, 'sub-alice');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/hub/home');
    assert.equal((await whoAmI(browser)).body.name, 'alice.smith');
    const afterwards = await hub.hub.db.query('SELECT count(*)::int AS n FROM users');
    assert.equal(afterwards.rows[0].n, before.rows[0].n, 'no new account');
    const logins = await hub.hub.db.query(
      `SELECT count(*)::int AS n FROM activity a JOIN users u ON u.id = a.user_id
       WHERE u.name = 'alice.smith' AND a.type = 'user.login'`,
    );
    assert.equal(logins.rows[0].n, 2);
  });

  test('a name taken by a password account gives the newcomer a distinct name', async () => {
    const carol = await signUp(hub.url, 'carol');
    const browser = new Browser();
    const res = await signIn(browser, 'sub-carol');
    assert.equal(res.status, 303);
    const me = await whoAmI(browser);
    assert.equal(me.body.name, 'carol-2');
    assert.equal(me.body.email, 'carol@elsewhere.example');
    assert.deepEqual(await linkedTo('sub-carol'), ['carol-2']);
    const passwordCarol = await carol.get('/hub/api/user');
    assert.equal(passwordCarol.json.name, 'carol');
    assert.equal(
      passwordCarol.json.email,
      'carol@example.org',
      'the password account is untouched',
    );
  });

  test('without preferred_username the email local part names the account (from userinfo)', async () => {
    const browser = new Browser();
    assert.equal((await signIn(browser, 'sub-dave')).status, 303);
    assert.equal((await whoAmI(browser)).body.name, 'dave');
  });

  test('next=//evil.example ends on the hub', async () => {
    for (const next of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
      const res = await signIn(new Browser(), 'sub-alice', { next });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/hub/home', `next=${next}`);
    }
  });

  test('a tampered state is refused, and the sign-in cannot be replayed', async () => {
    const browser = new Browser();
    const url = new URL(await toCallback(browser, 'sub-erin'));
    const state = url.searchParams.get('state');
    assert.ok(state);
    const tampered = new URL(url);
    tampered.searchParams.set('state', `${state.slice(0, -2)}xx`);
    const refused = await browser.fetch(tampered.href);
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: string; message: string };
    assert.equal(body.error, 'bad_request');
    assert.match(body.message, /does not belong to the sign-in you started/);
    assert.equal(browser.cookie(hub.url, 'orrery-session'), undefined);

    const replay = await browser.fetch(url.href);
    assert.equal(replay.status, 400, 'the pending sign-in was used up');
    assert.match(
      ((await replay.json()) as { message: string }).message,
      /expired or was already used/,
    );
    assert.deepEqual(await linkedTo('sub-erin'), []);
  });

  test('a callback without a started sign-in is refused', async () => {
    const res = await new Browser().fetch(`${callback}?code=abc&state=def`);
    assert.equal(res.status, 400);
  });

  test('denied consent gives a clear 403 page to browsers', async () => {
    const browser = new Browser('text/html');
    const res = await browser.fetch(await toCallback(browser, 'sub-frank', { deny: true }));
    assert.equal(res.status, 403);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const html = await res.text();
    assert.match(html, /You did not allow testsso to sign you in/);
    assert.match(html, /href="\/hub\/login"/);
    assert.deepEqual(await linkedTo('sub-frank'), []);
  });

  test('a provider that goes down before the code is exchanged gives 503, not 500', async () => {
    const browser = new Browser();
    const url = await toCallback(browser, 'sub-erin');
    await close(providerServer);
    try {
      const res = await browser.fetch(url);
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as { message: string }).message, /cannot be reached/);
    } finally {
      providerServer = createServer(provider.callback());
      await listen(providerServer, providerPort);
    }
    assert.deepEqual(await linkedTo('sub-erin'), []);
  });

  test('with approval required, a new account waits and gets no session', async () => {
    hub.hub.config.requireApproval = true;
    try {
      const browser = new Browser();
      const res = await signIn(browser, 'sub-frank');
      assert.equal(res.status, 403);
      assert.match(
        ((await res.json()) as { message: string }).message,
        /waiting for an administrator/,
      );
      assert.equal(browser.cookie(hub.url, 'orrery-session'), undefined);
      assert.deepEqual(await linkedTo('sub-frank'), ['frank']);
      const { rows } = await hub.hub.db.query("SELECT approved FROM users WHERE name = 'frank'");
      assert.equal(rows[0].approved, false);
    } finally {
      hub.hub.config.requireApproval = false;
    }
  });
});

describe('choosing a username for a new identity', () => {
  test('preferred_username, else the email local part, else sub, normalised', () => {
    assert.equal(baseUsername({ sub: 's', preferred_username: 'A-B', email: 'x@y' }), 'a-b');
    assert.equal(baseUsername({ sub: 's', email: 'Has.Dots+tag@example.org' }), 'has.dots-tag');
    assert.equal(baseUsername({ sub: 'auth0|12345' }), 'auth0-12345');
    assert.equal(baseUsername({ sub: 's', preferred_username: '秀樹' }), '秀樹');
    assert.equal(baseUsername({ sub: 's', preferred_username: '@@@', email: '!!@x' }), 's');
    assert.equal(baseUsername({ sub: '---' }), 'user');
  });

  test('fitted names keep room for a suffix and start with a letter or digit', () => {
    assert.equal(fitUsername('__x'), 'x');
    assert.equal(fitUsername('has@'), 'has-');
    assert.equal([...(fitUsername('é'.repeat(100)) ?? '')].length, 58);
    assert.equal(fitUsername('...'), undefined);
  });

  test('candidates add a numeric suffix and skip reserved names', () => {
    assert.deepEqual([...candidateUsernames('carol', 3)], ['carol', 'carol-2', 'carol-3']);
    assert.deepEqual([...candidateUsernames('admin', 2)], ['admin-2']);
  });
});

describe('pending sign-ins', () => {
  const login = { state: 's', nonce: 'n', codeVerifier: 'v', next: '/hub/home' };

  test('are single-use and expire', () => {
    let now = 0;
    const pending = new PendingLogins(1000, 10, () => now);
    const key = pending.put(login);
    assert.deepEqual(pending.take(key), login);
    assert.equal(pending.take(key), undefined);
    const late = pending.put(login);
    now = 1000;
    assert.equal(pending.take(late), undefined);
  });

  test('stay within capacity by dropping the oldest', () => {
    const pending = new PendingLogins(60_000, 2);
    const first = pending.put(login);
    pending.put(login);
    const third = pending.put(login);
    assert.equal(pending.size, 2);
    assert.equal(pending.take(first), undefined);
    assert.deepEqual(pending.take(third), login);
  });
});
