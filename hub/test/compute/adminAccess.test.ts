/**
 * "Open as admin" through the real proxy: a platform admin reaches another user's running
 * server only after opening it as admin (a form POST with the XSRF token), which the owner's
 * activity log records; a non-admin is refused both the opening and the server; the admin is
 * let in as themself, with the server's own secret upstream and none of the admin's or the
 * owner's credentials; the access ends when it expires, when the admin is unmade, and when the
 * server goes. The server is a plain HTTP listener standing in for Jupyter (the proxy rule is
 * what is tested), registered in the route table as compute registers a started server.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { Client, signUp, startTestHub, type TestHub } from '../support.ts';

let hub: TestHub;
let alice: Client;
let boss: Client;
let carol: Client;
let db: pg.Pool;
let upstream: http.Server;
let serverId: number;
/** What the upstream saw of each request it got. */
const seen: { url: string; authorization?: string; cookie?: string }[] = [];

const SERVER_PATH = '/user/alice/work/api/status';
const OPEN = '/hub/admin/servers/alice/servers/work/open';

/** A form POST as a page's button sends it (the client adds the XSRF header from its cookie). */
const submit = (client: Client, path: string) =>
  client.request('POST', path, '', { 'content-type': 'application/x-www-form-urlencoded' });

before(async () => {
  hub = await startTestHub('admin_access');
  alice = await signUp(hub.url, 'alice');
  boss = await signUp(hub.url, 'boss');
  carol = await signUp(hub.url, 'carol');
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  await db.query(`UPDATE users SET admin = true WHERE name = 'boss'`);
  upstream = http.createServer((req, res) => {
    seen.push({
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const { rows } = await db.query(
    `INSERT INTO servers (user_id, name, image, domain, status, state, url)
     SELECT id, 'work', 'orrery/lab:latest', 'local', 'running', '{}', $1 FROM users WHERE name = 'alice'
     RETURNING id, user_id, started_at`,
    [url],
  );
  serverId = rows[0].id;
  hub.compute().routes.set({
    id: serverId,
    userId: rows[0].user_id,
    ownerSafeName: 'alice',
    name: 'work',
    image: 'orrery/lab:latest',
    url,
    startedAt: rows[0].started_at,
  });
});
after(async () => {
  hub.compute().routes.delete(serverId);
  await db.query('DELETE FROM servers WHERE id = $1', [serverId]);
  await db.end();
  upstream.close();
  await hub.stop();
});

test('an admin who has not opened the server as admin is refused, and nothing reaches it', async () => {
  assert.equal((await alice.get(SERVER_PATH)).status, 200);
  const before = seen.length;
  const refused = await boss.get(SERVER_PATH);
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error, 'forbidden');
  assert.equal(seen.length, before);
});

test('a non-admin can neither open a server as admin nor reach it', async () => {
  const opened = await submit(carol, OPEN);
  assert.equal(opened.status, 403);
  assert.match(opened.text, /platform administrators/);
  assert.equal((await carol.get(SERVER_PATH)).status, 403);
  const { rows } = await db.query('SELECT count(*)::int AS n FROM server_admin_access');
  assert.equal(rows[0].n, 0);
});

test('opening as admin needs the XSRF token', async () => {
  const forged = await boss.request('POST', OPEN, '', {
    'content-type': 'application/x-www-form-urlencoded',
    'x-xsrftoken': 'forged',
  });
  assert.equal(forged.status, 403);
  assert.equal((await boss.get(SERVER_PATH)).status, 403);
});

test('the admin opens it as admin: recorded in the owner’s log, then admitted as themself with the server’s secret upstream', async () => {
  const tokensBefore = await db.query(
    `SELECT count(*)::int AS n FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name IN ('alice', 'boss')`,
  );
  const opened = await submit(boss, OPEN);
  assert.equal(opened.status, 303, opened.text);
  assert.equal(opened.headers.get('location'), '/user/alice/work/lab');

  seen.length = 0;
  assert.equal((await alice.get(SERVER_PATH)).status, 200);
  const admitted = await boss.get(SERVER_PATH);
  assert.equal(admitted.status, 200);
  assert.deepEqual(admitted.json, { ok: true });
  const [owners, admins] = seen;
  assert.ok(owners?.authorization?.startsWith('token '));
  // The admin's request carries the server's own secret, as the owner's does, and no hub cookie.
  assert.equal(admins?.authorization, owners?.authorization);
  assert.doesNotMatch(admins?.cookie ?? '', /orrery-session/);

  // With an API token of the admin's, that token stays at the proxy too.
  const made = await boss.post('/hub/api/users/boss/tokens', { note: 'proxy test' });
  assert.equal(made.status, 201, made.text);
  seen.length = 0;
  const byToken = await Client.withToken(hub.url, made.json.token).get(SERVER_PATH);
  assert.equal(byToken.status, 200);
  assert.equal(seen[0]?.authorization, owners?.authorization);

  // Nothing of the owner's was minted or handed over: the only new token is the one just made.
  const tokensAfter = await db.query(
    `SELECT count(*)::int AS n FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name IN ('alice', 'boss')`,
  );
  assert.equal(tokensAfter.rows[0].n, tokensBefore.rows[0].n + 1);

  // The owner reads in her own log who opened which server of hers, and until when.
  const log = await alice.get('/hub/api/activity?type=server.admin_access');
  assert.equal(log.status, 200);
  assert.equal(log.json.events.length, 1);
  const [event] = log.json.events;
  assert.equal(event.user, 'alice');
  assert.equal(event.actor, 'boss');
  assert.equal(event.payload.server, 'work');
  assert.equal(event.payload.admin, 'boss');
  assert.ok(Date.parse(event.payload.expires_at) > Date.now());
  // Still refused to the non-admin.
  assert.equal((await carol.get(SERVER_PATH)).status, 403);
});

test('the access ends when it expires, and when the admin is no longer an admin', async () => {
  await db.query(`UPDATE server_admin_access SET expires_at = now() - interval '1 second'`);
  assert.equal((await boss.get(SERVER_PATH)).status, 403);

  assert.equal((await submit(boss, OPEN)).status, 303);
  assert.equal((await boss.get(SERVER_PATH)).status, 200);
  const opened = await alice.get('/hub/api/activity?type=server.admin_access');
  assert.equal(opened.json.events.length, 2, 'each opening is recorded');

  await db.query(`UPDATE users SET admin = false WHERE name = 'boss'`);
  try {
    assert.equal((await boss.get(SERVER_PATH)).status, 403);
  } finally {
    await db.query(`UPDATE users SET admin = true WHERE name = 'boss'`);
  }
});

test('a server that is starting, or not there, cannot be opened as admin', async () => {
  await db.query(`UPDATE servers SET status = 'starting' WHERE id = $1`, [serverId]);
  try {
    const starting = await submit(boss, OPEN);
    assert.equal(starting.status, 409);
    assert.match(starting.text, /starting, not running/);
  } finally {
    await db.query(`UPDATE servers SET status = 'running' WHERE id = $1`, [serverId]);
  }
  const missing = await submit(boss, '/hub/admin/servers/alice/servers/nothing/open');
  assert.equal(missing.status, 404);
});

test('the access goes with the server', async () => {
  const { rows } = await db.query(
    'SELECT count(*)::int AS n FROM server_admin_access WHERE server_id = $1',
    [serverId],
  );
  assert.equal(rows[0].n, 1);
  const copy = await db.query(
    `INSERT INTO servers (user_id, name, image, domain, status, state, url)
     SELECT user_id, 'gone', image, domain, 'running', '{}', url FROM servers WHERE id = $1 RETURNING id`,
    [serverId],
  );
  await db.query(
    `INSERT INTO server_admin_access (server_id, admin_id, expires_at)
     SELECT $1, id, now() + interval '1 hour' FROM users WHERE name = 'boss'`,
    [copy.rows[0].id],
  );
  await db.query('DELETE FROM servers WHERE id = $1', [copy.rows[0].id]);
  const left = await db.query(
    'SELECT count(*)::int AS n FROM server_admin_access WHERE server_id = $1',
    [copy.rows[0].id],
  );
  assert.equal(left.rows[0].n, 0);
});
