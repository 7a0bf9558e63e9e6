/**
 * The hub as OAuth 2 provider of users' servers (what jupyterhub-singleuser calls), without
 * Docker: a server row and its token stand for the server. Codes are single-use, short-lived
 * and stored hashed; only the server's own callback receives one; only the server's own token
 * trades it; the access token reaches that server and tells who holds it, nothing more.
 * The whole flow with the real jupyterhub-singleuser: compute/singleuser.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { issueServerToken, revokeServerToken } from '../src/auth/tokens.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let alice: Client;
let bob: Client;
let aliceId: number;
let serverToken: string;
let bobServerToken: string;

const CALLBACK = '/user/alice/oauth_callback';
const SINGLEUSER = 'orrery/lab-singleuser:latest';
const authorizePath = (fields: Record<string, string> = {}) =>
  `/hub/api/oauth2/authorize?${new URLSearchParams({
    client_id: 'jupyterhub-user-alice',
    redirect_uri: CALLBACK,
    response_type: 'code',
    state: 'st4te',
    ...fields,
  })}`;

before(async () => {
  hub = await startTestHub('oauth', {
    compute: { images: ['orrery/lab:latest', SINGLEUSER], singleuserImages: [SINGLEUSER] },
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  const ids = await db.query(`SELECT id, name FROM users ORDER BY name`);
  aliceId = ids.rows.find((row) => row.name === 'alice').id;
  const bobId = ids.rows.find((row) => row.name === 'bob').id;
  // Their default servers, as rows (no process: the flow needs none).
  for (const id of [aliceId, bobId])
    await db.query(
      `INSERT INTO servers (user_id, name, image, domain, status) VALUES ($1, '', 'orrery/lab:latest', 'local', 'running')`,
      [id],
    );
  serverToken = await issueServerToken(db, aliceId, '', ['users:activity'], 3600);
  bobServerToken = await issueServerToken(db, bobId, '', ['users:activity'], 3600);
});

after(async () => {
  await db.end();
  await hub.stop();
});

async function codeFor(client: Client): Promise<string> {
  const res = await client.get(authorizePath());
  assert.equal(res.status, 302, res.text);
  const location = new URL(res.headers.get('location')!, 'http://hub.invalid');
  assert.equal(location.pathname, CALLBACK);
  assert.equal(location.searchParams.get('state'), 'st4te');
  return location.searchParams.get('code')!;
}

/** POST the token request as jupyterhub-singleuser does: form-encoded, secret in the body. */
async function trade(fields: Record<string, string>) {
  const res = await fetch(`${hub.url}/hub/api/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: 'jupyterhub-user-alice',
      client_secret: serverToken,
      redirect_uri: CALLBACK,
      ...fields,
    }),
  });
  return { status: res.status, json: await res.json() };
}

test('authorize: the signed-in owner is sent back to the server’s callback with a code', async () => {
  const signedOut = await fetch(`${hub.url}${authorizePath()}`, { redirect: 'manual' });
  assert.equal(signedOut.status, 302);
  assert.equal(
    signedOut.headers.get('location'),
    `/hub/login?next=${encodeURIComponent(authorizePath())}`,
  );
  const code = await codeFor(alice);
  assert.ok(code.length >= 40);
  // At rest only its hash, and it expires within minutes.
  const { rows } = await db.query(
    `SELECT code_hash, expires_at - now() < interval '3 minutes' AS soon FROM oauth_codes`,
  );
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].code_hash, createHash('sha256').update(code).digest());
  assert.equal(rows[0].soon, true);
});

test('authorize refuses other users, other callbacks, other response types, unknown clients', async () => {
  const refused = async (client: Client, path: string, status: number, rule?: string) => {
    const res = await client.get(path);
    assert.equal(res.status, status, `${path}: ${res.text}`);
    if (rule) assert.equal(res.json.rule, rule);
    assert.equal(res.headers.get('location'), null);
  };
  await refused(bob, authorizePath(), 403);
  await refused(
    alice,
    authorizePath({ redirect_uri: 'https://evil.example/cb' }),
    400,
    'invalid_request',
  );
  await refused(
    alice,
    authorizePath({ redirect_uri: '/user/bob/oauth_callback' }),
    400,
    'invalid_request',
  );
  await refused(alice, authorizePath({ response_type: 'token' }), 400, 'unsupported_response_type');
  await refused(alice, authorizePath({ client_id: 'someone-else' }), 400, 'invalid_client');
  // A named server she does not run.
  await refused(
    alice,
    authorizePath({
      client_id: 'jupyterhub-user-alice.lab',
      redirect_uri: '/user/alice/lab/oauth_callback',
    }),
    400,
    'invalid_client',
  );
  // An API token is not a browser's sign-in: it is sent to sign in.
  const minted = await alice.post('/hub/api/users/alice/tokens', { scopes: ['access:servers'] });
  const withToken = await fetch(`${hub.url}${authorizePath()}`, {
    redirect: 'manual',
    headers: { authorization: `token ${minted.json.token}` },
  });
  assert.equal(withToken.status, 302);
  assert.match(withToken.headers.get('location')!, /^\/hub\/login\?next=/);
});

test('token: a code once, for its client with the client’s own secret, before it expires', async () => {
  // Wrong secrets: none, another server's, a user's API token.
  const code = await codeFor(alice);
  assert.equal((await trade({ code, client_secret: '' })).status, 401);
  assert.equal((await trade({ code, client_secret: bobServerToken })).status, 401);
  const apiToken = (await alice.post('/hub/api/users/alice/tokens', { scopes: [] })).json.token;
  assert.equal((await trade({ code, client_secret: apiToken })).status, 401);
  // Those were refused before the code was looked at; a wrong redirect_uri spends it.
  const other = await trade({ code, redirect_uri: '/user/alice/elsewhere' });
  assert.equal(other.status, 400);
  assert.equal(other.json.rule, 'invalid_grant');
  // A code is taken by its first use, even a refused one.
  assert.equal((await trade({ code })).status, 400);

  const fresh = await codeFor(alice);
  const traded = await trade({ code: fresh });
  assert.equal(traded.status, 200, JSON.stringify(traded.json));
  assert.equal(traded.json.token_type, 'Bearer');
  assert.equal(traded.json.scope, 'access:servers!server=alice/');
  assert.ok(traded.json.expires_in > 0 && traded.json.expires_in <= 3600);
  const again = await trade({ code: fresh });
  assert.equal(again.status, 400, 'single use');
  assert.equal(again.json.rule, 'invalid_grant');

  const late = await codeFor(alice);
  await db.query(`UPDATE oauth_codes SET expires_at = now() - interval '1 second'`);
  assert.equal((await trade({ code: late })).status, 400, 'expired');
  assert.equal((await trade({ code: 'made-up' })).status, 400);
  const wrongGrant = await trade({ code: await codeFor(alice), grant_type: 'password' });
  assert.equal(wrongGrant.status, 400);
  assert.equal(wrongGrant.json.rule, 'unsupported_grant_type');

  // The access token: who it is, for which server; nothing else of the hub.
  const token = traded.json.access_token;
  const asServer = { authorization: `token ${token}` };
  const me = await fetch(`${hub.url}/hub/api/user`, { headers: asServer });
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), {
    kind: 'user',
    name: 'alice',
    admin: false,
    scopes: ['access:servers!server=alice/'],
    token_server: '',
  });
  for (const path of ['/hub/api/users/alice', '/hub/api/users', '/hub/api/users/alice/tokens'])
    assert.equal((await fetch(`${hub.url}${path}`, { headers: asServer })).status, 403, path);
  // The proxy: alice's other servers are not this token's.
  const elsewhere = await fetch(`${hub.url}/user/alice/lab/api/status`, { headers: asServer });
  assert.equal(elsewhere.status, 403);
  // Listed among her tokens as an OAuth token of that server.
  const tokens = (await alice.get('/hub/api/users/alice/tokens')).json.api_tokens;
  assert.ok(
    tokens.some(
      (t: { kind: string; server_name: string }) =>
        t.kind === 'oauth_token' && t.server_name === '',
    ),
  );

  // The server stops: its users' OAuth tokens go with its own.
  await revokeServerToken(db, aliceId, '');
  assert.equal((await fetch(`${hub.url}/hub/api/user`, { headers: asServer })).status, 403);
});

test('a single-user image is refused on a domain of local processes, before anything starts', async () => {
  const res = await alice.post('/hub/api/users/alice/servers/su', { image: SINGLEUSER });
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.rule, 'image_needs_container');
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM servers WHERE name = 'su'`);
  assert.equal(rows[0].n, 0);
});
