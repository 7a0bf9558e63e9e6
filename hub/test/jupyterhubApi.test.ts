/**
 * The user, server and token resources in JupyterHub's shapes (docs/jupyterhub.md): the user
 * model with `servers` keyed by name, pagination and the `state` filter, JupyterHub's status
 * codes, admin creation of users and of tokens for another user (within the admin's scopes),
 * and the proxy's routing of the default server beside named ones.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let alice: Client;
let bob: Client;
let admin: Client;
let upstream: Server;
let upstreamUrl: string;

const PAGINATED = { accept: 'application/jupyterhub-pagination+json' };

before(async () => {
  hub = await startTestHub('jupyterhubapi');
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  admin = await signUp(hub.url, 'zed');
  await db.query(`UPDATE users SET admin = true WHERE name = 'zed'`);
  // A stand-in Jupyter server that answers with the path it was asked for.
  upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

after(async () => {
  upstream.close();
  await db.end();
  await hub.stop();
});

/** A running server row of `owner`'s and its proxy route, served by the stand-in. */
async function runningServer(owner: string, name: string, activity = 'now()'): Promise<void> {
  const { rows } = await db.query(
    `INSERT INTO servers (user_id, name, image, domain, status, url, ready_at, last_activity_at, user_options)
     SELECT id, $2, 'orrery/lab', 'local', 'running', $3, now(), ${activity}, '{"profile": "small"}'
     FROM users WHERE name = $1
     RETURNING id, user_id AS "userId", name, url, started_at AS "startedAt"`,
    [owner, name, upstreamUrl],
  );
  hub.compute().routes.set({ ...rows[0], ownerSafeName: owner });
}

async function removeServers(): Promise<void> {
  const { rows } = await db.query('DELETE FROM servers RETURNING id');
  for (const row of rows) hub.compute().routes.delete(row.id);
}

test('the user model: JupyterHub fields, servers keyed by name with "" the default', async () => {
  await runningServer('alice', '');
  await runningServer('alice', 'gpu');
  try {
    const model = (await alice.get('/hub/api/users/alice')).json;
    assert.equal(model.kind, 'user');
    assert.equal(model.name, 'alice');
    assert.equal(model.admin, false);
    assert.deepEqual(model.roles, ['user']);
    assert.deepEqual(model.groups, []);
    assert.equal(model.server, '/user/alice/');
    assert.equal(model.pending, null);
    assert.equal(typeof model.created, 'string');
    assert.equal(typeof model.last_activity, 'string');
    assert.deepEqual(Object.keys(model.servers).sort(), ['', 'gpu']);
    const def = model.servers[''];
    assert.equal(def.name, '');
    assert.equal(def.ready, true);
    assert.equal(def.stopped, false);
    assert.equal(def.url, '/user/alice/');
    assert.equal(def.progress_url, '/hub/api/users/alice/server/progress');
    assert.deepEqual(def.user_options, { profile: 'small' });
    assert.equal(def.state, undefined, 'state is for admin:servers');
    assert.equal(model.servers.gpu.url, '/user/alice/gpu/');
    assert.equal(model.servers.gpu.progress_url, '/hub/api/users/alice/servers/gpu/progress');
    const seen = (await admin.get('/hub/api/users/alice')).json;
    assert.ok('state' in seen.servers[''], 'an admin sees the saved state');
  } finally {
    await removeServers();
  }
});

test('user models of several users at once: each with its own groups (by name, not Public), servers and latest activity', async () => {
  for (const name of ['beta', 'Alpha']) {
    assert.equal((await alice.post('/hub/api/groups', { name: `${name}-models` })).status, 201);
  }
  assert.equal((await bob.post('/hub/api/groups', { name: 'bobs-models' })).status, 201);
  await runningServer('alice', '', "now() - interval '3 hours'");
  await runningServer('alice', 'gpu', "now() - interval '2 hours'");
  // A job that ended an hour ago is bob's latest sign of life (no server, signed in before).
  const ended = new Date(Date.now() - 3600_000);
  const signedIn = await db.query(
    `UPDATE users SET last_login_at = now() - interval '2 hours' WHERE name = 'bob'
     RETURNING (SELECT last_login_at FROM users WHERE name = 'bob') AS was`,
  );
  const { rows } = await db.query(
    `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes, time_limit_seconds,
                       status, started_at, finished_at)
     SELECT id, 'true', 'orrery/lab', 'local', 1, 268435456, 60, 'succeeded', $2, $2
     FROM users WHERE name = $1 RETURNING id`,
    ['bob', ended],
  );
  try {
    const all = (await admin.get('/hub/api/users')).json as {
      name: string;
      groups: string[];
      servers: Record<string, unknown>;
      last_activity: string | null;
    }[];
    const byName = new Map(all.map((model) => [model.name, model]));
    assert.deepEqual(byName.get('alice')!.groups, ['Alpha-models', 'beta-models']);
    assert.deepEqual(Object.keys(byName.get('alice')!.servers).sort(), ['', 'gpu']);
    assert.deepEqual(byName.get('bob')!.groups, ['bobs-models']);
    assert.deepEqual(byName.get('bob')!.servers, {});
    assert.equal(new Date(byName.get('bob')!.last_activity!).getTime(), ended.getTime());
    assert.deepEqual(byName.get('zed')!.groups, []);
    assert.deepEqual(byName.get('zed')!.servers, {});
    const me = (await alice.get('/hub/api/user')).json;
    assert.deepEqual(me.groups, ['Alpha-models', 'beta-models']);
    assert.deepEqual(Object.keys(me.servers).sort(), ['', 'gpu']);
  } finally {
    await removeServers();
    await db.query('DELETE FROM jobs WHERE id = $1', [rows[0].id]);
    await db.query(`UPDATE users SET last_login_at = $1 WHERE name = 'bob'`, [
      signedIn.rows[0].was,
    ]);
  }
});

test('routing as express does it: HEAD, any case, a trailing slash, OPTIONS, and 404 for the wrong method', async () => {
  // A token, so that the wrong-method POST meets the router, not the XSRF check.
  const made = await alice.post('/hub/api/users/alice/tokens', { note: 'routing' });
  const headers = { authorization: `token ${made.json.token}` };
  const head = await fetch(`${hub.url}/hub/api/user`, { method: 'HEAD', headers });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  for (const path of ['/hub/api/USER', '/hub/api/user/', '/hub/api/Users/alice/'])
    assert.equal((await alice.get(path)).json?.name, 'alice', path);
  const options = await fetch(`${hub.url}/hub/api/users/alice/tokens`, {
    method: 'OPTIONS',
    headers,
  });
  assert.equal(options.headers.get('allow'), 'GET, HEAD, POST');
  for (const [method, path] of [
    ['POST', '/hub/api/user'],
    ['GET', '/hub/api/users/alice/mydb/query'],
    ['PROPFIND', '/hub/api/user'],
    ['GET', '/hub/api/nope'],
  ]) {
    const wrong = await fetch(`${hub.url}${path}`, { method, headers });
    assert.equal(wrong.status, 404, `${method} ${path}`);
    assert.equal((await wrong.json()).error, 'not_found');
  }
  assert.equal(
    (await alice.get('/hub/api')).json.version,
    (await alice.get('/hub/api/')).json.version,
  );
});

test('GET /users: a list, or pages with JupyterHub’s media type, filtered by state', async () => {
  await runningServer('bob', '');
  try {
    const all = await admin.get('/hub/api/users');
    assert.ok(Array.isArray(all.json));
    assert.deepEqual(
      all.json.map((u: { name: string }) => u.name),
      ['alice', 'bob', 'zed'],
    );
    const first = await admin.request('GET', '/hub/api/users?limit=2', undefined, PAGINATED);
    assert.deepEqual(
      first.json.items.map((u: { name: string }) => u.name),
      ['alice', 'bob'],
    );
    assert.deepEqual(
      { ...first.json._pagination, next: undefined },
      { offset: 0, limit: 2, total: 3, next: undefined },
    );
    const next = new URL(first.json._pagination.next.url);
    assert.equal(next.searchParams.get('offset'), '2');
    const second = await admin.request('GET', next.pathname + next.search, undefined, PAGINATED);
    assert.deepEqual(
      second.json.items.map((u: { name: string }) => u.name),
      ['zed'],
    );
    assert.equal(second.json._pagination.next, null);
    const ready = await admin.get('/hub/api/users?state=ready');
    assert.deepEqual(
      ready.json.map((u: { name: string }) => u.name),
      ['bob'],
    );
    const inactive = await admin.get('/hub/api/users?state=inactive');
    assert.deepEqual(
      inactive.json.map((u: { name: string }) => u.name),
      ['alice', 'zed'],
    );
    const named = await admin.get('/hub/api/users?name_filter=O');
    assert.deepEqual(
      named.json.map((u: { name: string }) => u.name),
      ['bob'],
      'JupyterHub’s name_filter: names containing it',
    );
    const past = await admin.request('GET', '/hub/api/users?offset=10', undefined, PAGINATED);
    assert.deepEqual(past.json.items, []);
    assert.equal(past.json._pagination.total, 3, 'a page past the end still counts them');
    assert.equal((await admin.get('/hub/api/users?state=sleeping')).status, 400);
    // Everyone else sees names only.
    assert.deepEqual((await alice.get('/hub/api/users?prefix=b')).json, [
      { kind: 'user', name: 'bob' },
    ]);
  } finally {
    await removeServers();
  }
});

test('a token with only list:users and read:servers sees servers but not account details', async () => {
  await runningServer('bob', '');
  try {
    const minted = await admin.post('/hub/api/users/zed/tokens', {
      scopes: ['list:users', 'read:servers'],
    });
    const narrow = Client.withToken(hub.url, minted.json.token);
    const bobModel = (await narrow.get('/hub/api/users?state=ready')).json[0];
    assert.equal(bobModel.name, 'bob');
    assert.ok(bobModel.servers['']);
    assert.equal(bobModel.email, undefined);
    assert.equal(bobModel.last_activity, undefined, 'activity needs read:users:activity');
    assert.equal((await narrow.get('/hub/api/users/bob')).status, 403, 'read:users is needed');
  } finally {
    await removeServers();
  }
});

test('JupyterHub’s status codes on start and stop', async () => {
  await runningServer('alice', '');
  try {
    const again = await alice.post('/hub/api/users/alice/server', {});
    assert.equal(again.status, 400, 'already running');
    assert.equal(again.json.rule, 'server_exists');
    assert.equal((await alice.post('/hub/api/users/alice/servers/api', {})).status, 400);
    await db.query(`UPDATE servers SET status = 'stopping'`);
    assert.equal((await alice.delete('/hub/api/users/alice/server')).status, 202);
    assert.equal((await alice.post('/hub/api/users/alice/server', {})).status, 400);
  } finally {
    await removeServers();
  }
  assert.equal((await alice.delete('/hub/api/users/alice/server')).status, 204, 'not running');
  assert.equal((await alice.delete('/hub/api/users/alice/servers/nope')).status, 404);
  const remove = await alice.request('DELETE', '/hub/api/users/alice/server', { remove: true });
  assert.equal(remove.status, 400, 'the default server cannot be removed');
  assert.equal((await bob.delete('/hub/api/users/alice/server')).status, 403);
});

test('activity reports postpone the idle stop; refused for unknown servers and the far future', async () => {
  await runningServer('alice', 'gpu', "now() - interval '1 day'");
  try {
    const at = new Date().toISOString();
    const ok = await alice.post('/hub/api/users/alice/activity', {
      last_activity: at,
      servers: { gpu: { last_activity: at } },
    });
    assert.equal(ok.status, 204, ok.text);
    const gpu = (await alice.get('/hub/api/users/alice')).json.servers.gpu;
    assert.equal(new Date(gpu.last_activity).getTime(), new Date(at).getTime());
    const unknown = await alice.post('/hub/api/users/alice/activity', {
      servers: { other: { last_activity: at } },
    });
    assert.equal(unknown.status, 400);
    const future = await alice.post('/hub/api/users/alice/activity', {
      servers: { gpu: { last_activity: new Date(Date.now() + 3 * 3600_000).toISOString() } },
    });
    assert.equal(future.status, 400);
    assert.equal(
      (await bob.post('/hub/api/users/alice/activity', { last_activity: at })).status,
      403,
    );
  } finally {
    await removeServers();
  }
});

test('the default server owns /user/<name>/; a path names a server only when it runs', async () => {
  await runningServer('alice', '');
  try {
    const status = await alice.get('/user/alice/api/status');
    assert.equal(status.status, 200);
    assert.equal(status.json.path, '/user/alice/api/status', 'the default server, not "api"');
    assert.equal((await alice.get('/user/alice/gpu/lab')).json.path, '/user/alice/gpu/lab');
    await runningServer('alice', 'gpu');
    const named = await alice.get('/user/alice/gpu/api/status');
    assert.equal(named.status, 200);
    const { rows } = await db.query(`SELECT id FROM servers WHERE name = 'gpu'`);
    // The same upstream answers both; the route table tells which server a path reached.
    assert.equal(hub.compute().routes.lookup('alice', 'gpu')?.serverId, rows[0].id);
    assert.equal((await bob.get('/user/alice/api/status')).status, 403);
  } finally {
    await removeServers();
  }
  const bare = await alice.get('/user/alice?x=1');
  assert.equal(bare.status, 302);
  assert.equal(bare.headers.get('location'), '/user/alice/?x=1');
  const none = await alice.get('/user/alice/api/status');
  assert.equal(none.status, 503);
  assert.equal(none.json.message, 'Your default server is not running');
});

test('admins create users (many, or one); others may not', async () => {
  const made = await admin.post('/hub/api/users', { usernames: ['carol', 'dave', 'alice'] });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(
    made.json.map((u: { name: string }) => u.name),
    ['carol', 'dave'],
    'existing names are skipped',
  );
  assert.equal((await admin.post('/hub/api/users', { usernames: ['carol'] })).status, 409);
  const one = await admin.post('/hub/api/users/erin', { admin: true });
  assert.equal(one.status, 201);
  assert.equal(one.json.admin, true);
  assert.equal((await admin.post('/hub/api/users/erin', {})).status, 409);
  assert.equal((await admin.post('/hub/api/users', { usernames: ['has@'] })).status, 400);
  assert.equal((await alice.post('/hub/api/users', { usernames: ['mallory'] })).status, 403);
  assert.equal((await alice.post('/hub/api/users/mallory', {})).status, 403);
  const { rows } = await db.query(`SELECT name FROM users WHERE name = 'mallory'`);
  assert.equal(rows.length, 0);
});

test('tokens for another user: an admin within their own scopes; never a non-admin', async () => {
  const forAlice = await admin.post('/hub/api/users/alice/tokens', {
    note: 'made by an admin',
    scopes: ['read:users'],
    expires_in: 3600,
  });
  assert.equal(forAlice.status, 201, forAlice.text);
  assert.equal(forAlice.json.user, 'alice');
  assert.equal(forAlice.json.kind, 'api_token');
  const asAlice = Client.withToken(hub.url, forAlice.json.token);
  assert.equal((await asAlice.get('/hub/api/user')).json.name, 'alice');
  const listed = (await admin.get('/hub/api/users/alice/tokens')).json.api_tokens;
  assert.ok(listed.some((t: { id: number }) => t.id === forAlice.json.id));

  // An admin's narrow token cannot mint more than it holds, for anyone.
  const narrow = await admin.post('/hub/api/users/zed/tokens', { scopes: ['tokens'] });
  const narrowAdmin = Client.withToken(hub.url, narrow.json.token);
  const exceeding = await narrowAdmin.post('/hub/api/users/alice/tokens', {
    scopes: ['servers'],
  });
  assert.equal(exceeding.status, 403);
  // An admin-only scope never goes to an ordinary account.
  const adminScope = await admin.post('/hub/api/users/alice/tokens', { scopes: ['admin:users'] });
  assert.equal(adminScope.status, 403);
  assert.equal((await bob.post('/hub/api/users/alice/tokens', { scopes: [] })).status, 403);
  assert.equal(
    (await alice.post('/hub/api/users/alice/tokens', { roles: ['admin'] })).status,
    400,
    'JupyterHub roles are not Orrery’s',
  );
});

test('/hub/api/ and /hub/api/info', async () => {
  const answer = await new Client(hub.url).get('/hub/api/');
  const root = answer.json;
  // A JupyterHub version, so clients take their current paths (the idle culler filters with
  // state=ready from 1.3 on); Orrery's own version beside it.
  assert.equal(root.version, '5.4.0');
  assert.equal(root.orrery_version, hub.hub.version);
  assert.equal(answer.headers.get('x-jupyterhub-version'), '5.4.0');
  const info = await admin.get('/hub/api/info');
  assert.equal(info.status, 200);
  assert.equal(info.json.node, process.versions.node);
  assert.deepEqual(info.json.spawner.domains, [{ name: 'local', backend: 'local' }]);
  assert.equal((await alice.get('/hub/api/info')).status, 403);
});

test('GET /user without a valid credential is 403, as JupyterHub: its clients read it as no one', async () => {
  // HubAuth (jupyterhub-singleuser, services) identifies a token here; it takes a 403 as "no such
  // user" and signs the browser in again, where a 401 would be shown as a failure of the hub.
  const anonymous = await new Client(hub.url).get('/hub/api/user');
  assert.equal(anonymous.status, 403);
  assert.equal(anonymous.json.error, 'forbidden');
  const unknown = await fetch(`${hub.url}/hub/api/user`, {
    headers: { authorization: 'token orr_no_such_token' },
  });
  assert.equal(unknown.status, 403);
  const made = await alice.post('/hub/api/users/alice/tokens', { note: 'whoami' });
  const asToken = { authorization: `token ${made.json.token}` };
  assert.equal(
    (await (await fetch(`${hub.url}/hub/api/user`, { headers: asToken })).json()).name,
    'alice',
  );
  await alice.delete(`/hub/api/users/alice/tokens/${made.json.id}`);
  assert.equal((await fetch(`${hub.url}/hub/api/user`, { headers: asToken })).status, 403);
  // Other routes keep 401 for no credential (docs/jupyterhub.md).
  assert.equal((await new Client(hub.url).get('/hub/api/users/alice')).status, 401);
  const doc = (await new Client(hub.url).get('/hub/api/openapi.json')).json;
  assert.match(doc.paths['/user'].get.description, /403 without a credential/);
});

test('the OpenAPI document marks the JupyterHub-compatible operations', async () => {
  const doc = (await new Client(hub.url).get('/hub/api/openapi.json')).json;
  assert.equal(doc.paths['/users/{name}/server'].post['x-jupyterhub-compatible'], true);
  assert.equal(doc.paths['/users'].get['x-jupyterhub-compatible'], true);
  assert.equal(doc.paths['/groups'].get['x-jupyterhub-compatible'], undefined);
});
