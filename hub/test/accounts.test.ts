import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { issueServerToken } from '../src/auth/tokens.ts';
import { SERVER_TOKEN_SCOPES } from '../src/routes.ts';
import { Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
before(async () => {
  hub = await startTestHub('accounts', { loginFailuresBeforeBackoff: 3 });
});
after(async () => {
  await hub.stop();
});

test('odd usernames: distinct accounts with distinct safe names, or a clear refusal', async () => {
  const safe = new Map<string, string>();
  for (const name of ['a-b', 'a_b', '秀樹']) {
    const client = await signUp(hub.url, name);
    const me = await client.get('/hub/api/user');
    assert.equal(me.json.name, name);
    safe.set(name, me.json.safe_name);
  }
  assert.equal(new Set(safe.values()).size, 3);
  const taken = await new Client(hub.url).post('/hub/api/register', {
    username: 'A-B',
    email: 'x@example.org',
    password: 'password1',
  });
  assert.equal(taken.status, 409);
  assert.match(taken.json.message, /"a-b" is taken/);
  const bad = await new Client(hub.url).post('/hub/api/register', {
    username: 'has@',
    email: 'x@example.org',
    password: 'password1',
  });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /letters, digits/);
});

test('register, log in, log out; the session cookie is HttpOnly and SameSite and lasts 24 hours', async () => {
  const client = new Client(hub.url);
  await client.post('/hub/api/register', {
    username: 'carla',
    email: 'carla@example.org',
    password: 'long enough',
  });
  const login = await client.post('/hub/api/login', { username: 'Carla', password: 'long enough' });
  assert.equal(login.status, 200);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('orrery-session='))!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Max-Age=86400/);
  assert.equal((await client.get('/hub/api/user')).json.name, 'carla');
  assert.equal((await client.post('/hub/api/logout')).status, 204);
  assert.equal((await client.get('/hub/api/user')).status, 403, 'as JupyterHub: no one');
});

test('passwords are stored as argon2id hashes only', async () => {
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const { rows } = await db.query(`SELECT password_hash FROM users WHERE name = 'carla'`);
  await db.end();
  assert.match(rows[0].password_hash, /^\$argon2id\$/);
  assert.ok(!rows[0].password_hash.includes('long enough'));
});

test('wrong passwords are refused alike for real and unknown accounts, then rate-limited with Retry-After', async () => {
  await signUp(hub.url, 'dora');
  const client = new Client(hub.url);
  const unknown = await client.post('/hub/api/login', {
    username: 'nobody',
    password: 'whatever1',
  });
  assert.equal(unknown.status, 403);
  const statuses: number[] = [];
  let last: Awaited<ReturnType<Client['post']>> | undefined;
  for (let i = 0; i < 4; i++) {
    last = await client.post('/hub/api/login', { username: 'dora', password: 'wrong password' });
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [403, 403, 403, 429]);
  assert.equal(unknown.json.message, 'Wrong username or password');
  assert.ok(Number(last!.headers.get('retry-after')) > 0);
  assert.equal(last!.json.error, 'too_many_requests');
  const events = await (await signUp(hub.url, 'dora2')).get(
    '/hub/api/activity?type=user.login_failed',
  );
  assert.deepEqual(events.json.events, [], 'other users do not see dora’s failed logins');
});

test('API tokens: created once, listed without their value, scoped, never more than the owner, revocable', async () => {
  const eve = await signUp(hub.url, 'eve');
  const made = await eve.post('/hub/api/users/eve/tokens', {
    note: 'laptop',
    scopes: ['read:groups'],
    expires_in: 3600,
  });
  assert.equal(made.status, 201);
  assert.match(made.json.token, /^orr_/);
  const listed = await eve.get('/hub/api/users/eve/tokens');
  assert.equal(listed.json.api_tokens.length, 1);
  assert.equal(listed.json.api_tokens[0].token, undefined);
  assert.equal(listed.json.api_tokens[0].note, 'laptop');

  const narrow = Client.withToken(hub.url, made.json.token);
  assert.equal((await narrow.get('/hub/api/groups')).status, 200);
  const refused = await narrow.post('/hub/api/groups', { name: 'nope' });
  assert.equal(refused.status, 403);
  assert.match(refused.json.message, /"groups" scope/);
  assert.equal((await narrow.get('/hub/api/user')).status, 403);

  const everything = await eve.post('/hub/api/users/eve/tokens', { note: 'default' });
  assert.equal(everything.status, 201, everything.text);
  const scopes = (await Client.withToken(hub.url, everything.json.token).get('/hub/api/user')).json
    .scopes;
  assert.ok(
    scopes.includes('groups') && !scopes.includes('admin'),
    'a default token does what its owner may, and no more',
  );
  await eve.delete(`/hub/api/users/eve/tokens/${everything.json.id}`);
  const admin = await eve.post('/hub/api/users/eve/tokens', { scopes: ['admin'] });
  assert.equal(admin.status, 403, 'a non-admin cannot mint an admin token');
  const escalate = await Client.withToken(hub.url, made.json.token).post(
    '/hub/api/users/eve/tokens',
    { scopes: ['all'] },
  );
  assert.equal(escalate.status, 403, 'a narrow token cannot mint a broader one');

  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const stored = await db.query('SELECT token_hash FROM api_tokens WHERE id = $1', [made.json.id]);
  await db.end();
  assert.equal(stored.rows[0].token_hash.length, 32, 'only a sha256 is stored');

  assert.equal((await eve.delete(`/hub/api/users/eve/tokens/${made.json.id}`)).status, 204);
  assert.equal((await narrow.get('/hub/api/groups')).status, 401);
});

test('a token and its owner are found in one look-up: expired tokens and unapproved owners are refused, last use is reported', async () => {
  const fay = await signUp(hub.url, 'fay');
  const made = await fay.post('/hub/api/users/fay/tokens', { note: 'rules' });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.last_activity, null, 'never used yet');
  const token = Client.withToken(hub.url, made.json.token);
  const lastUse = async () =>
    (await fay.get('/hub/api/users/fay/tokens')).json.api_tokens.find(
      (t: { id: number }) => t.id === made.json.id,
    ).last_activity as string | null;
  /** The recorded last use once it differs from `before` (written beside the answer). */
  const lastUseAfter = async (before: string | null) => {
    for (let tries = 0; tries < 100; tries++) {
      const now = await lastUse();
      if (now !== before) return now;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return before;
  };

  const me = await token.get('/hub/api/user');
  assert.equal(me.status, 200);
  assert.equal(me.json.name, 'fay');
  assert.equal(me.json.admin, false);
  const first = await lastUseAfter(null);
  assert.ok(first, 'a use is recorded');

  // Refreshed at most once a minute: a use after a recorded one over a minute old moves it.
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  try {
    const old = await db.query(
      `UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1
       RETURNING last_used_at`,
      [made.json.id],
    );
    const stale = (old.rows[0].last_used_at as Date).toISOString();
    assert.equal(new Date((await lastUse())!).toISOString(), stale);
    assert.equal((await token.get('/hub/api/groups')).status, 200);
    const moved = await lastUseAfter((await lastUse())!);
    assert.ok(new Date(moved!).getTime() > new Date(stale).getTime(), 'a stale use is refreshed');

    // The owner's account decides, as read in the same look-up: admin, then not approved.
    await db.query(`UPDATE users SET admin = true WHERE name = 'fay'`);
    assert.equal((await token.get('/hub/api/user')).json.admin, true);
    await db.query(`UPDATE users SET admin = false, approved = false WHERE name = 'fay'`);
    assert.equal((await token.get('/hub/api/user')).status, 403);
    assert.equal((await token.get('/hub/api/groups')).status, 401);
    assert.equal((await fay.get('/hub/api/groups')).status, 401, 'the session too');
    await db.query(`UPDATE users SET approved = true WHERE name = 'fay'`);
    assert.equal((await token.get('/hub/api/groups')).status, 200);
    assert.equal((await fay.get('/hub/api/groups')).status, 200);

    // An expired token and an expired session are nobody.
    await db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      made.json.id,
    ]);
    assert.equal((await token.get('/hub/api/groups')).status, 401);
    await db.query(
      `UPDATE sessions SET expires_at = now() - interval '1 second'
       WHERE user_id = (SELECT id FROM users WHERE name = 'fay')`,
    );
    assert.equal((await fay.get('/hub/api/groups')).status, 401);
  } finally {
    await db.end();
  }
});

test('a token made with a token never outlives it: a 60-second token cannot mint a one-year one', async () => {
  const ivy = await signUp(hub.url, 'ivy');
  const parent = await ivy.post('/hub/api/users/ivy/tokens', {
    scopes: ['tokens'],
    expires_in: 60,
  });
  assert.equal(parent.status, 201, parent.text);
  const parentExpiry = new Date(parent.json.expires_at).getTime();
  const withParent = Client.withToken(hub.url, parent.json.token);
  const year = 365 * 24 * 3600;
  const child = await withParent.post('/hub/api/users/ivy/tokens', {
    scopes: ['tokens'],
    expires_in: year,
  });
  assert.equal(child.status, 201, child.text);
  assert.ok(
    new Date(child.json.expires_at).getTime() <= parentExpiry,
    `child expires ${child.json.expires_at}, after its parent (${parent.json.expires_at})`,
  );
  const grandchild = await Client.withToken(hub.url, child.json.token).post(
    '/hub/api/users/ivy/tokens',
    { scopes: ['tokens'] },
  );
  assert.equal(grandchild.status, 201, grandchild.text);
  assert.ok(
    new Date(grandchild.json.expires_at).getTime() <= parentExpiry,
    'the default lifetime is capped too',
  );
  // A browser session is where long-lived tokens come from: it may still make a one-year token.
  const fromSession = await ivy.post('/hub/api/users/ivy/tokens', { expires_in: year });
  assert.ok(
    new Date(fromSession.json.expires_at).getTime() > Date.now() + (year - 3600) * 1000,
    'a session still makes a token of the length asked',
  );
});

test('a user holds at most maxTokensPerUser API tokens: creating more at once answers 429, exactly the cap is kept', async () => {
  const capped = await startTestHub('token_cap', { maxTokensPerUser: 5 });
  try {
    const jo = await signUp(capped.url, 'jo');
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        jo.post('/hub/api/users/jo/tokens', { note: `t${i}`, scopes: ['read:users'] }),
      ),
    );
    const statuses = made.map((res) => res.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 429).length, 7, statuses.join(' '));
    const refused = made.find((res) => res.status === 429)!;
    assert.equal(refused.json.error, 'too_many_requests');
    assert.match(refused.json.message, /revoke one/);
    const listed = (await jo.get('/hub/api/users/jo/tokens')).json.api_tokens;
    assert.equal(listed.length, 5, 'no request slipped past the count');
    assert.equal((await jo.delete(`/hub/api/users/jo/tokens/${listed[0].id}`)).status, 204);
    assert.equal(
      (await jo.post('/hub/api/users/jo/tokens', { scopes: ['read:users'] })).status,
      201,
      'revoking one makes room for one',
    );
  } finally {
    await capped.stop();
  }
});

test('a per-server token is short-lived, narrow, and replaced when the server gets a new one', async () => {
  const frank = await signUp(hub.url, 'frank');
  const me = await frank.get('/hub/api/user');
  const db = new pg.Pool({ connectionString: hub.databaseUrl });
  const { rows } = await db.query(`SELECT id FROM users WHERE name = 'frank'`);
  const first = await issueServerToken(db, rows[0].id, 'lab', SERVER_TOKEN_SCOPES, 60);
  const inside = Client.withToken(hub.url, first);
  const who = await inside.get('/hub/api/user');
  assert.equal(who.json.name, me.json.name);
  assert.equal(who.json.token_server, 'lab');
  assert.ok(!who.json.scopes.includes('tokens'));
  assert.equal(
    (await inside.post('/hub/api/users/frank/tokens', {})).status,
    403,
    'code in a server cannot mint tokens',
  );
  const second = await issueServerToken(db, rows[0].id, 'lab', SERVER_TOKEN_SCOPES, 60);
  await db.end();
  assert.equal(
    (await inside.get('/hub/api/user')).status,
    403,
    'the old server token stopped working',
  );
  assert.equal((await Client.withToken(hub.url, second).get('/hub/api/user')).status, 200);
});

test('with approval required, a new account cannot log in until an admin approves it', async () => {
  const gated = await startTestHub('approval', { requireApproval: true });
  try {
    const db = new pg.Client({ connectionString: gated.databaseUrl });
    const client = new Client(gated.url);
    const registered = await client.post('/hub/api/register', {
      username: 'gina',
      email: 'g@example.org',
      password: 'password1',
    });
    assert.equal(registered.status, 201);
    assert.equal(registered.json.pending_approval, true);
    const early = await client.post('/hub/api/login', { username: 'gina', password: 'password1' });
    assert.equal(early.status, 403);
    assert.match(early.json.message, /approval/);
    await db.connect();
    await db.query(`UPDATE users SET approved = true, admin = true WHERE name = 'gina'`);
    await db.end();
    assert.equal(
      (await client.post('/hub/api/login', { username: 'gina', password: 'password1' })).status,
      200,
    );
    await client.post('/hub/api/register', {
      username: 'hal',
      email: 'h@example.org',
      password: 'password1',
    });
    assert.equal((await client.patch('/hub/api/users/hal', { approved: true })).status, 200);
    assert.equal(
      (
        await new Client(gated.url).post('/hub/api/login', {
          username: 'hal',
          password: 'password1',
        })
      ).status,
      200,
    );
  } finally {
    await gated.stop();
  }
});
