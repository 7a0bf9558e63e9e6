/**
 * Sharing a server: the API's rules (codes that expire, redeemed twice, revoked by either side,
 * group shares following membership, no sharing onwards without grant, no stopping with access
 * only) and the proxy admitting those a server is shared with, then closing their WebSockets
 * the moment the share is taken back. The server is a stand-in upstream (HTTP and WebSocket)
 * behind a real proxy route: what is under test is the hub, not Jupyter.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import WebSocket, { WebSocketServer } from 'ws';
import { addMember } from '../src/groups/store.ts';
import { openSocket } from './compute/support.ts';
import {
  activityKeysNotSnakeCase,
  Client,
  signUp,
  startTestHub,
  type TestHub,
  testConfig,
} from './support.ts';

let hub: TestHub;
let alice: Client;
let bob: Client;
let carol: Client;
let dan: Client;
let db: pg.Pool;
let upstream: http.Server;
let upstreamPort: number;
let serverId: number;

const userId = async (name: string) =>
  Number((await db.query('SELECT id FROM users WHERE name = $1', [name])).rows[0].id);

/** A "Jupyter server" that answers every request 200 and accepts every WebSocket. */
async function startUpstream(): Promise<void> {
  upstream = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
}

/** Alice's server "lab", running at the stand-in upstream as far as the hub knows. */
async function aliceServer(): Promise<void> {
  const owner = await userId('alice');
  const url = `http://127.0.0.1:${upstreamPort}`;
  const inserted = await db.query(
    `INSERT INTO servers (user_id, name, image, domain, status, state, url)
     VALUES ($1, 'lab', 'x', 'local', 'running', $2, $3) RETURNING id, started_at`,
    [
      owner,
      JSON.stringify({
        backend: 'local',
        host: 'localhost',
        name: 'orrery-test-share',
        pid: 2 ** 22 + 5,
        port: upstreamPort,
      }),
      url,
    ],
  );
  serverId = Number(inserted.rows[0].id);
  hub.compute().routes.set({
    id: serverId,
    userId: owner,
    ownerSafeName: 'alice',
    name: 'lab',
    image: 'orrery/lab:latest',
    url,
    startedAt: inserted.rows[0].started_at,
  });
}

before(async () => {
  // No server really starts here (the stand-in upstream is alice's server): any jupyter will do.
  hub = await startTestHub('shares', {
    compute: { ...testConfig('').compute, jupyterCommand: '/bin/true', spawnTimeoutSeconds: 1 },
  });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  carol = await signUp(hub.url, 'carol');
  dan = await signUp(hub.url, 'dan');
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  await startUpstream();
  await aliceServer();
});
after(async () => {
  if (!hub) return;
  hub.compute().routes.delete(serverId);
  await db.query('DELETE FROM servers WHERE id = $1', [serverId]);
  await db.end();
  upstream.closeAllConnections();
  upstream.close();
  await hub.stop();
});

const wsUrl = () => `${hub.url.replace('http', 'ws')}/user/alice/lab/api/collaboration/room/x`;

/** Resolves when the socket closes (the proxy closed it), whatever the code. */
const closed = (socket: WebSocket) =>
  new Promise<void>((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) resolve();
    else socket.once('close', () => resolve());
  });

test('a share code: made hashed, redeemed by whoever holds it, twice without harm, refused once expired or revoked', async () => {
  const made = await alice.post('/hub/api/share-codes/alice/lab', { expires_in: 3600 });
  assert.equal(made.status, 201, made.text);
  assert.match(made.json.code, /^orrs_/);
  assert.equal(
    made.json.accept_url,
    `${hub.hub.config.publicUrl}/hub/accept-share?code=${made.json.code}`,
  );
  assert.deepEqual(made.json.scopes, ['access:servers!server=alice/lab']);
  const stored = await db.query('SELECT code_hash FROM server_share_codes');
  assert.ok(
    stored.rows.every((row) => !row.code_hash.includes(made.json.code)),
    'only the hash is kept',
  );
  const listed = await alice.get('/hub/api/share-codes/alice/lab');
  assert.equal(listed.json.items.length, 1);
  assert.equal(listed.json.items[0].code, undefined, 'the list never shows a code');

  // Bob may not see the codes of a server not shared with him.
  assert.equal((await bob.get('/hub/api/share-codes/alice/lab')).status, 404);

  const first = await bob.post('/hub/api/users/bob/shared', { code: made.json.code });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.kind, 'user');
  assert.deepEqual(first.json.user, { name: 'bob' });
  assert.equal(first.json.server.full_name, 'alice/lab');
  assert.equal(first.json.server.url, '/user/alice/lab/');
  assert.equal(first.json.server.ready, true);
  const second = await bob.post('/hub/api/users/bob/shared', { code: made.json.code });
  assert.equal(second.status, 200);
  assert.deepEqual(second.json.scopes, first.json.scopes);
  const privileges = await db.query(
    `SELECT count(*)::int AS n FROM racm_privileges p JOIN users u ON u.id = p.user_id WHERE u.name = 'bob'`,
  );
  assert.equal(privileges.rows[0].n, 1, 'redeeming again gives nothing more');
  assert.equal((await alice.get('/hub/api/share-codes/alice/lab')).json.items[0].exchange_count, 2);
  // Redeeming for someone else, or one's own server's code, is refused.
  assert.equal((await bob.post('/hub/api/users/dan/shared', { code: made.json.code })).status, 403);
  assert.equal(
    (await alice.post('/hub/api/users/alice/shared', { code: made.json.code })).status,
    400,
  );

  // Expired: refused, and no longer listed.
  const expiring = await alice.post('/hub/api/share-codes/alice/lab', { expires_in: 60 });
  await db.query(
    `UPDATE server_share_codes SET expires_at = now() - interval '1 second' WHERE id = $1`,
    [expiring.json.id],
  );
  const late = await dan.post('/hub/api/users/dan/shared', { code: expiring.json.code });
  assert.equal(late.status, 404);
  assert.equal(late.json.error, 'not_found');
  assert.equal((await alice.get('/hub/api/share-codes/alice/lab')).json.items.length, 1);

  // Revoked: refused; the share it made stays.
  assert.equal(
    (await alice.delete(`/hub/api/share-codes/alice/lab?id=${made.json.id}`)).status,
    204,
  );
  assert.equal((await dan.post('/hub/api/users/dan/shared', { code: made.json.code })).status, 404);
  assert.equal((await bob.get('/hub/api/users/bob/shared')).json.items.length, 1);
  assert.equal(
    (await alice.delete(`/hub/api/share-codes/alice/lab?id=${made.json.id}`)).status,
    404,
  );

  // Nonsense is a 4xx, never a 500.
  assert.equal((await dan.post('/hub/api/users/dan/shared', { code: 'orrs_nope' })).status, 404);
  assert.equal((await alice.post('/hub/api/share-codes/alice/lab', { expires_in: 1 })).status, 400);
  const badScope = await alice.post('/hub/api/share-codes/alice/lab', { scopes: ['admin'] });
  assert.equal(badScope.status, 400);
  assert.equal(
    (await alice.post('/hub/api/share-codes/alice/lab', { scopes: ['servers!server=alice/other'] }))
      .status,
    400,
  );
  assert.equal((await alice.post('/hub/api/share-codes/alice/Bad_Name', {})).status, 400);

  await alice.delete('/hub/api/shares/alice/lab');
});

test('the proxy admits bob as himself once shared; revoking refuses his next request and closes his WebSocket at once', async () => {
  assert.equal((await bob.get('/user/alice/lab/api/status')).status, 403);
  await assert.rejects(openSocket(wsUrl(), bob.authHeaders()), /refused with 403/);

  const share = await alice.post('/hub/api/shares/alice/lab', { user: 'bob' });
  assert.equal(share.status, 200, share.text);
  assert.deepEqual(share.json.scopes, ['access:servers!server=alice/lab']);
  const status = await bob.get('/user/alice/lab/api/status');
  assert.equal(status.status, 200);
  const socket = await openSocket(wsUrl(), bob.authHeaders());
  const echo = new Promise((resolve) => socket.once('message', (data) => resolve(String(data))));
  socket.send('hello');
  assert.equal(await echo, 'hello');
  // Dan, with nothing shared, is still refused; a cross-origin upgrade of bob's too.
  assert.equal((await dan.get('/user/alice/lab/api/status')).status, 403);
  await assert.rejects(
    openSocket(wsUrl(), { ...bob.authHeaders(), origin: 'http://evil.example' }),
    /refused with 403/,
  );

  const gone = closed(socket);
  assert.equal((await alice.patch('/hub/api/shares/alice/lab', { user: 'bob' })).status, 204);
  await gone;
  assert.equal((await bob.get('/user/alice/lab/api/status')).status, 403);
  assert.deepEqual((await bob.get('/hub/api/users/bob/shared')).json.items, []);
});

test('bob may leave a share, which closes his WebSocket too', async () => {
  await alice.post('/hub/api/shares/alice/lab', { user: 'bob' });
  const one = await bob.get('/hub/api/users/bob/shared/alice/lab');
  assert.equal(one.status, 200);
  assert.equal(one.json.server.user.name, 'alice');
  const socket = await openSocket(wsUrl(), bob.authHeaders());
  const gone = closed(socket);
  assert.equal((await bob.delete('/hub/api/users/bob/shared/alice/lab')).status, 204);
  await gone;
  assert.equal((await bob.get('/user/alice/lab/api/status')).status, 403);
  assert.equal((await bob.delete('/hub/api/users/bob/shared/alice/lab')).status, 404);
  assert.equal((await bob.get('/hub/api/users/bob/shared/alice/lab')).status, 404);
  assert.deepEqual((await alice.get('/hub/api/shares/alice/lab')).json.items, []);
});

test('a share to a group follows membership: a member gets in, and is shut out the moment they leave the group', async () => {
  const group = await alice.post('/hub/api/groups', { name: 'observers' });
  assert.equal(group.status, 201, group.text);
  await addMember(db, group.json.id, await userId('carol'), 'MEMBER');
  // Dan cannot share with a private group he is not in; nor anyone with a group that does not exist.
  const shared = await alice.post('/hub/api/shares/alice/lab', { group: 'observers' });
  assert.equal(shared.status, 200, shared.text);
  assert.equal(shared.json.kind, 'group');
  assert.deepEqual(shared.json.group, { name: 'observers' });
  assert.equal((await alice.post('/hub/api/shares/alice/lab', { group: 'nobody' })).status, 404);

  const mine = await carol.get('/hub/api/users/carol/shared');
  assert.equal(mine.json.items.length, 1);
  assert.equal(mine.json.items[0].group.name, 'observers');
  assert.equal((await carol.get('/user/alice/lab/api/status')).status, 200);
  const socket = await openSocket(wsUrl(), carol.authHeaders());
  // A group's share is not carol's to leave.
  assert.equal((await carol.delete('/hub/api/users/carol/shared/alice/lab')).status, 404);

  const gone = closed(socket);
  const removed = await alice.delete(`/hub/api/groups/${group.json.id}/members/carol`);
  assert.equal(removed.status, 204, removed.text);
  await gone;
  assert.equal((await carol.get('/user/alice/lab/api/status')).status, 403);
  assert.deepEqual((await carol.get('/hub/api/users/carol/shared')).json.items, []);
  assert.equal((await alice.delete('/hub/api/shares/alice/lab')).status, 204);
  assert.deepEqual((await alice.get('/hub/api/shares/alice/lab')).json.items, []);
});

test('bob cannot share alice’s server onwards, unless she gives him grant', async () => {
  await alice.post('/hub/api/shares/alice/lab', { user: 'bob' });
  const onwards = await bob.post('/hub/api/shares/alice/lab', { user: 'dan' });
  assert.equal(onwards.status, 403);
  assert.equal((await bob.post('/hub/api/share-codes/alice/lab', {})).status, 403);
  assert.equal((await bob.patch('/hub/api/shares/alice/lab', { user: 'bob' })).status, 403);
  // Dan, with nothing shared, is told there is nothing.
  assert.equal((await dan.post('/hub/api/shares/alice/lab', { user: 'dan' })).status, 404);
  assert.equal((await dan.get('/hub/api/shares/alice/lab')).status, 404);

  const resources = await alice.get('/hub/api/racm/resources?type=Server&action=grant');
  const resource = resources.json.resources.find((r: { name: string }) => r.name === 'alice/lab');
  assert.ok(resource, JSON.stringify(resources.json));
  const granted = await alice.post(`/hub/api/racm/resources/${resource.id}/privileges`, {
    action: 'grant',
    user: 'bob',
  });
  assert.equal(granted.status, 201, granted.text);
  assert.equal((await bob.post('/hub/api/shares/alice/lab', { user: 'dan' })).status, 200);
  assert.equal((await dan.get('/user/alice/lab/api/status')).status, 200);
  // Bob's grant goes with the rest of his share when alice takes it back.
  assert.equal((await alice.patch('/hub/api/shares/alice/lab', { user: 'bob' })).status, 204);
  assert.equal((await bob.post('/hub/api/shares/alice/lab', { user: 'carol' })).status, 404);
  assert.equal((await alice.delete('/hub/api/shares/alice/lab')).status, 204);
  assert.equal((await dan.get('/user/alice/lab/api/status')).status, 403);
});

test('access alone does not start or stop the server; "servers" does, and can be taken back alone', async () => {
  await alice.post('/hub/api/shares/alice/lab', { user: 'bob' });
  assert.equal((await bob.delete('/hub/api/users/alice/servers/lab')).status, 403);
  assert.equal((await bob.post('/hub/api/users/alice/servers/other', {})).status, 403);
  assert.equal((await dan.delete('/hub/api/users/alice/servers/lab')).status, 403);

  const more = await alice.post('/hub/api/shares/alice/lab', { user: 'bob', scopes: ['servers'] });
  assert.deepEqual(more.json.scopes, [
    'access:servers!server=alice/lab',
    'servers!server=alice/lab',
  ]);
  // Manage on alice/lab is not manage on her other servers.
  assert.equal((await bob.post('/hub/api/users/alice/servers/other', {})).status, 403);
  const progress = await bob.get('/hub/api/users/alice/servers/lab/progress');
  assert.equal(progress.status, 200);

  // "servers" alone is taken back; access stays.
  assert.equal(
    (await alice.patch('/hub/api/shares/alice/lab', { user: 'bob', scopes: ['servers'] })).status,
    204,
  );
  const left = (await bob.get('/hub/api/users/bob/shared/alice/lab')).json;
  assert.deepEqual(left.scopes, ['access:servers!server=alice/lab']);
  assert.equal((await bob.delete('/hub/api/users/alice/servers/lab')).status, 403);
  await alice.delete('/hub/api/shares/alice/lab');
});

test('the accept page shows what a code shares and redeems it with a form post', async () => {
  const made = await alice.post('/hub/api/share-codes/alice/lab', {});
  const page = await dan.get(`/hub/accept-share?code=${encodeURIComponent(made.json.code)}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /alice\/lab/);
  assert.doesNotMatch(page.text, /<script>/);
  const anonymous = await new Client(hub.url).get(`/hub/accept-share?code=${made.json.code}`);
  assert.equal(anonymous.status, 303);
  const form = new URLSearchParams({ _xsrf: dan.xsrf ?? '', code: made.json.code });
  const posted = await dan.request('POST', '/hub/accept-share', form.toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    origin: hub.url,
  });
  assert.equal(posted.status, 303, posted.text);
  assert.equal(posted.headers.get('location'), '/user/alice/lab/');
  assert.equal((await dan.get('/user/alice/lab/api/status')).status, 200);
  const bad = await dan.get('/hub/accept-share?code=orrs_nothing');
  assert.match(bad.text, /does not work/);
  await alice.delete('/hub/api/shares/alice/lab');
  assert.equal((await dan.get('/user/alice/lab/api/status')).status, 403);
});

test('every activity payload key written here is snake_case', async () => {
  assert.deepEqual(await activityKeysNotSnakeCase(hub.databaseUrl), []);
});
