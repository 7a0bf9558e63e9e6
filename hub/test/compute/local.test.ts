/**
 * The hub's compute side end to end with real Jupyter servers run as local processes:
 * spawn with progress, the authenticated proxy (HTTP and WebSocket), limits, failures
 * that leave nothing behind, workspaces that outlive servers, culling and reconciling.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { domain } from '../../src/compute/domainConfig.ts';
import { SERVER_TOKEN_SCOPES } from '../../src/routes.ts';
import { Client, signUp, startTestHub, type TestHub, testConfig } from '../support.ts';
import {
  kernelInfo,
  openSocket,
  readProgress,
  sleepingJupyter,
  waitFor,
  waitForStatus,
} from './support.ts';

/** A "Jupyter" that runs and never answers: its spawn holds its slot until stopped. */
const SLEEPER = sleepingJupyter();

let hub: TestHub;
let alice: Client;
let bob: Client;
let db: pg.Pool;

before(async () => {
  hub = await startTestHub('compute', {
    compute: { ...testConfig('').compute, maxServersPerUser: 2 },
  });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  db = new pg.Pool({ connectionString: hub.databaseUrl });
});
after(async () => {
  for (const row of (
    await db.query(
      'SELECT u.name, s.name AS server FROM servers s JOIN users u ON u.id = s.user_id',
    )
  ).rows) {
    await new Client(hub.url).get('/');
    await (row.name === 'alice' ? alice : bob).delete(
      `/hub/api/users/${row.name}/servers/${row.server}`,
    );
  }
  await db.end();
  await hub.stop();
});

test('start streams progress to ready; the owner reaches JupyterLab through the proxy, others do not', async () => {
  const started = await alice.post('/hub/api/users/alice/servers/lab', {});
  assert.equal(started.status, 202);
  assert.equal(started.json.url, '/user/alice/lab/');
  const events = await readProgress(hub.url, started.json.progress_url, alice.authHeaders());
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));
  assert.ok(
    events.map((e) => e.progress).every((p, i, all) => i === 0 || p >= all[i - 1]!),
    'progress only goes up',
  );
  await waitForStatus(alice, 'alice', 'lab', 'running');

  const status = await alice.get('/user/alice/lab/api/status');
  assert.equal(status.status, 200);
  assert.equal(typeof status.json.last_activity, 'string');
  assert.equal((await bob.get('/user/alice/lab/api/status')).status, 403);
  assert.equal((await new Client(hub.url).get('/user/alice/lab/api/status')).status, 401);
  const page = await new Client(hub.url).request('GET', '/user/alice/lab/lab', undefined, {
    accept: 'text/html',
  });
  assert.equal(page.status, 302);
  assert.equal(
    page.headers.get('location'),
    `/hub/login?next=${encodeURIComponent('/user/alice/lab/lab')}`,
  );
  assert.equal((await alice.get('/user/alice/other/api/status')).status, 503);
});

test('the Jupyter server itself refuses requests that lack the secret the proxy adds', async () => {
  const { rows } = await db.query(`SELECT url FROM servers WHERE name = 'lab'`);
  const direct = await fetch(`${rows[0].url}/user/alice/lab/api/status`);
  assert.equal(direct.status, 403);
});

test('the token handed to the server holds the scopes of the lab routes, nothing more', async () => {
  const { rows } = await db.query(
    `SELECT t.scopes FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE u.name = 'alice' AND t.kind = 'server' AND t.server_name = 'lab'`,
  );
  assert.deepEqual(
    rows.map((row) => row.scopes),
    [SERVER_TOKEN_SCOPES],
  );
  assert.ok(!SERVER_TOKEN_SCOPES.includes('racm'));
});

test('kernels work over the proxied WebSocket; another user’s upgrade is refused', async () => {
  const kernel = await alice.post('/user/alice/lab/api/kernels', { name: 'python3' });
  assert.equal(kernel.status, 201, kernel.text);
  const wsUrl = `${hub.url.replace('http', 'ws')}/user/alice/lab/api/kernels/${kernel.json.id}/channels`;
  const socket = await openSocket(wsUrl, alice.authHeaders());
  const info = await kernelInfo(socket);
  assert.equal(info.status, 'ok');
  socket.close();
  await assert.rejects(openSocket(wsUrl, bob.authHeaders()), /refused with 403/);
  await assert.rejects(openSocket(wsUrl, {}), /refused with 401/);
  await assert.rejects(
    openSocket(wsUrl, { ...alice.authHeaders(), origin: 'http://evil.example' }),
    /refused with 403/,
  );
  assert.equal((await alice.delete(`/user/alice/lab/api/kernels/${kernel.json.id}`)).status, 204);
});

test('a WebSocket upgrade is authenticated before any upstream connection opens, and the hub cookie never goes upstream', async () => {
  let connections = 0;
  let seen = '';
  const upstream = net.createServer((socket) => {
    connections += 1;
    socket.once('data', (chunk) => {
      seen = String(chunk);
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as net.AddressInfo).port;
  const { rows } = await db.query(`SELECT id FROM users WHERE name = 'bob'`);
  const inserted = await db.query(
    `INSERT INTO servers (user_id, name, image, domain, status, state, url) VALUES ($1, 'fake', 'x', 'local', 'running', $2, $3) RETURNING id, started_at`,
    [
      rows[0].id,
      JSON.stringify({
        backend: 'local',
        host: 'localhost',
        name: 'orrery-test-fake',
        pid: 2 ** 22 + 3,
        port,
      }),
      `http://127.0.0.1:${port}`,
    ],
  );
  hub.compute().routes.set({
    id: inserted.rows[0].id,
    userId: rows[0].id,
    ownerSafeName: 'bob',
    name: 'fake',
    image: 'orrery/lab:latest',
    url: `http://127.0.0.1:${port}`,
    startedAt: inserted.rows[0].started_at,
  });
  try {
    const url = `${hub.url.replace('http', 'ws')}/user/bob/fake/api/kernels/x/channels`;
    await assert.rejects(openSocket(url, alice.authHeaders()), /403/);
    await assert.rejects(openSocket(url, {}), /401/);
    assert.equal(connections, 0, 'refused upgrades never reached the upstream');
    await assert.rejects(openSocket(url, bob.authHeaders()), /400/);
    assert.equal(connections, 1);
    assert.match(seen, /authorization: token \S+/i, 'the proxy adds the server secret');
    assert.doesNotMatch(seen, /orrery-session=/, 'the hub session cookie is not forwarded');
  } finally {
    hub.compute().routes.delete(inserted.rows[0].id);
    await db.query('DELETE FROM servers WHERE id = $1', [inserted.rows[0].id]);
    upstream.close();
  }
});

test('files written in JupyterLab survive a stop and a new start', async () => {
  const put = await alice.request('PUT', '/user/alice/lab/api/contents/notes.txt', {
    type: 'file',
    format: 'text',
    content: 'M31 tonight',
  });
  assert.equal(put.status, 201, put.text);
  assert.equal((await alice.delete('/hub/api/users/alice/servers/lab')).status, 204);
  await waitForStatus(alice, 'alice', 'lab', 'gone');
  assert.equal((await alice.get('/user/alice/lab/api/status')).status, 503);
  await alice.post('/hub/api/users/alice/servers/lab', {});
  await waitForStatus(alice, 'alice', 'lab', 'running');
  const read = await alice.get('/user/alice/lab/api/contents/notes.txt');
  assert.equal(read.json.content, 'M31 tonight');
});

test('a user may run a limited number of servers, and names are unique', async () => {
  // JupyterHub answers 400 to starting a server that runs.
  const taken = await alice.post('/hub/api/users/alice/servers/lab', {});
  assert.equal(taken.status, 400);
  assert.equal(taken.json.rule, 'server_exists');
  assert.equal((await alice.post('/hub/api/users/alice/servers/second', {})).status, 202);
  const third = await alice.post('/hub/api/users/alice/servers/third', {});
  assert.equal(third.status, 409);
  assert.equal(third.json.rule, 'server_limit');
  assert.match(third.json.message, /at most 2 servers/);
  await waitForStatus(alice, 'alice', 'second', 'running');
  assert.equal((await alice.delete('/hub/api/users/alice/servers/second')).status, 204);
  const bad = await alice.post('/hub/api/users/alice/servers/Bad_Name', {});
  assert.equal(bad.status, 400);
  const image = await alice.post('/hub/api/users/alice/servers/x', { image: 'evil/miner' });
  assert.equal(image.status, 400);
  assert.equal(image.json.rule, 'image_not_offered');
  assert.match(image.json.message, /not offered/);
});

test('a spawn that fails leaves no row, no route, no process; the reason reaches the user and the log', async () => {
  // `true` passes the backend's start-up check (`--version`), then exits without serving.
  const broken = await startTestHub('compute_fail', {
    compute: { ...testConfig('').compute, jupyterCommand: '/bin/true', spawnTimeoutSeconds: 3 },
  });
  try {
    const carol = await signUp(broken.url, 'carol');
    const started = await carol.post('/hub/api/users/carol/servers/lab', {});
    const events = await readProgress(broken.url, started.json.progress_url, carol.authHeaders());
    assert.equal(events.at(-1)?.failed, true);
    assert.match(events.at(-1)!.message, /Could not start the server/);
    await waitForStatus(carol, 'carol', 'lab', 'gone');
    assert.equal(broken.compute().routes.size, 0);
    assert.deepEqual(await broken.compute().backendOf('local').listManaged(), []);
    // The failure is recorded as the spawn's last step, just after the row goes.
    await waitFor('the failed start in the activity log', 10_000, async () => {
      const activity = await carol.get('/hub/api/activity?type=server.start_failed');
      return activity.json.events.length === 1;
    });
  } finally {
    await broken.stop();
  }
});

test('a Docker host that does not answer does not stop the hub; starting there fails with its error', async () => {
  const partly = await startTestHub('compute_dead_host', {
    compute: {
      domains: [
        domain('here', 'local'),
        domain('gone', 'docker', ['unix:///nonexistent/docker.sock']),
      ],
      spawnTimeoutSeconds: 10,
    },
  });
  try {
    assert.ok(
      partly.logLines.some((line) => line.includes('Docker host unreachable')),
      'the unreachable host is logged at start',
    );
    const dora = await signUp(partly.url, 'dora');
    const started = await dora.post('/hub/api/users/dora/servers/lab', { domain: 'gone' });
    assert.equal(started.status, 202);
    const events = await readProgress(partly.url, started.json.progress_url, dora.authHeaders());
    assert.equal(events.at(-1)?.failed, true, JSON.stringify(events));
    // The spawn failed at once and its row is gone; its progress still tells why.
    assert.match(events.at(-1)!.message, /Could not start the server: .*(ENOENT|nonexistent)/);
    await waitForStatus(dora, 'dora', 'lab', 'gone');
    assert.equal(partly.compute().routes.size, 0);
  } finally {
    await partly.stop();
  }
});

test('above the global spawn limit a start answers 429 with Retry-After', async () => {
  const busy = await startTestHub('compute_busy', {
    compute: {
      ...testConfig('').compute,
      jupyterCommand: SLEEPER,
      spawnTimeoutSeconds: 3,
      maxConcurrentSpawns: 1,
    },
  });
  try {
    const dan = await signUp(busy.url, 'dan');
    assert.equal((await dan.post('/hub/api/users/dan/servers/one', {})).status, 202);
    const second = await dan.post('/hub/api/users/dan/servers/two', {});
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('retry-after'), '10');
    assert.equal(second.json.rule, 'spawn_busy');
  } finally {
    await busy.stop();
  }
});

test('an idle server is stopped by the culler; its files stay', async () => {
  await waitForStatus(alice, 'alice', 'lab', 'running');
  const compute = hub.compute();
  const serverOf = async () => (await alice.get('/hub/api/users/alice')).json.servers.lab;
  const info = await serverOf();
  assert.ok(info.cull_at, 'the user can see when an idle server will stop');
  const reported = await alice.post('/hub/api/users/alice/activity', {
    servers: { lab: { last_activity: new Date().toISOString() } },
  });
  assert.equal(reported.status, 204);
  const kept = await serverOf();
  assert.ok(new Date(kept.cull_at) >= new Date(info.cull_at), 'activity postpones the stop');
  assert.equal(await compute.cullIdle(new Date(Date.now() + 3 * 24 * 3600 * 1000 + 60_000)), 1);
  await waitForStatus(alice, 'alice', 'lab', 'gone');
  const culled = await alice.get('/hub/api/activity?type=server.culled');
  assert.equal(culled.json.events.length, 1);
  await alice.post('/hub/api/users/alice/servers/lab', {});
  await waitForStatus(alice, 'alice', 'lab', 'running');
  assert.equal(
    (await alice.get('/user/alice/lab/api/contents/notes.txt')).json.content,
    'M31 tonight',
  );
});

test('the reconcile loop notices a server that died outside the hub', async () => {
  const { rows } = await db.query(`SELECT state FROM servers WHERE name = 'lab'`);
  const backend = hub.compute().backendOf('local');
  const state = backend.loadState(rows[0].state);
  process.kill(-rows[0].state.pid, 'SIGKILL');
  await waitFor('the killed server to be gone', 10_000, async () => {
    return !(await backend.poll(state)).running;
  });
  await hub.compute().reconcile();
  await waitForStatus(alice, 'alice', 'lab', 'gone');
  const died = await alice.get('/hub/api/activity?type=server.died');
  assert.equal(died.json.events.length, 1);
  assert.equal((await alice.get('/user/alice/lab/api/status')).status, 503);
});

/** Statuses of `count` parallel requests, counted: `{ 202: 3, 409: 7 }`. */
async function tally(requests: Promise<{ status: number }>[]): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const { status } of await Promise.all(requests)) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

test('parallel starts take the per-user and the global limit atomically, and leave no orphan', async () => {
  const racing = await startTestHub('compute_race', {
    compute: {
      ...testConfig('').compute,
      jupyterCommand: SLEEPER,
      spawnTimeoutSeconds: 120,
      maxServersPerUser: 3,
      maxConcurrentSpawns: 3,
    },
  });
  const racingDb = new pg.Pool({ connectionString: racing.databaseUrl, max: 2 });
  const compute = racing.compute();
  const stopAll = async (clients: Map<string, Client>) => {
    const { rows } = await racingDb.query(
      'SELECT u.name AS owner, s.name FROM servers s JOIN users u ON u.id = s.user_id',
    );
    for (const row of rows) {
      const res = await clients
        .get(row.owner)!
        .delete(`/hub/api/users/${row.owner}/servers/${row.name}`);
      assert.equal(res.status, 204, res.text);
    }
  };
  try {
    // One user, ten servers at once, a limit of three.
    const erin = await signUp(racing.url, 'erin');
    const perUser = await tally(
      Array.from({ length: 10 }, (_, i) => erin.post(`/hub/api/users/erin/servers/s${i}`, {})),
    );
    assert.equal(perUser[202], 3, JSON.stringify(perUser));
    assert.equal((perUser[409] ?? 0) + (perUser[429] ?? 0), 7, JSON.stringify(perUser));
    const { rows } = await racingDb.query('SELECT count(*)::int AS n FROM servers');
    assert.equal(rows[0].n, 3, 'three rows, no more');
    await stopAll(new Map([['erin', erin]]));
    // A stopped spawn gives its slot back once it notices its server is gone.
    await waitFor('the stopped spawns to free their slots', 30_000, () => {
      return compute.spawnsInProgress === 0;
    });

    // Ten users, one server each, three spawn slots.
    const clients = new Map<string, Client>();
    for (let i = 0; i < 10; i++) clients.set(`u${i}`, await signUp(racing.url, `u${i}`));
    const global = await tally(
      [...clients].map(([name, client]) => client.post(`/hub/api/users/${name}/servers/lab`, {})),
    );
    assert.deepEqual(global, { 202: 3, 429: 7 });
    await waitFor('the three spawns to start their processes', 30_000, async () => {
      return (await compute.backendOf('local').listManaged()).length === 3;
    });
    await stopAll(clients);
    assert.deepEqual(await compute.backendOf('local').listManaged(), [], 'no orphan process');
    assert.equal((await racingDb.query('SELECT 1 FROM servers')).rowCount, 0, 'no row left');
  } finally {
    await racingDb.end();
    await racing.stop();
  }
});

test('a deleted account’s name, registered again at once, reaches neither its server nor its files', async () => {
  const admin = await signUp(hub.url, 'chief');
  await db.query(`UPDATE users SET admin = true WHERE name = 'chief'`);
  const frank = await signUp(hub.url, 'frank');
  assert.equal((await frank.post('/hub/api/users/frank/servers/lab', {})).status, 202);
  await waitForStatus(frank, 'frank', 'lab', 'running');
  const put = await frank.request('PUT', '/user/frank/lab/api/contents/secret.txt', {
    type: 'file',
    format: 'text',
    content: 'the old owner’s notes',
  });
  assert.equal(put.status, 201, put.text);
  const { rows } = await db.query(
    `SELECT s.state FROM servers s JOIN users u ON u.id = s.user_id WHERE u.name = 'frank'`,
  );
  const backend = hub.compute().backendOf('local');
  const oldServer = backend.loadState(rows[0].state);

  assert.equal((await admin.delete('/hub/api/users/frank')).status, 204);
  const newcomer = await signUp(hub.url, 'frank');
  assert.equal((await newcomer.get('/user/frank/lab/api/status')).status, 503, 'no old route');
  assert.equal((await backend.poll(oldServer)).running, false, 'the old server was stopped');
  assert.equal((await newcomer.post('/hub/api/users/frank/servers/lab', {})).status, 202);
  await waitForStatus(newcomer, 'frank', 'lab', 'running');
  const read = await newcomer.get('/user/frank/lab/api/contents/secret.txt');
  assert.equal(read.status, 404, 'the old workspace is gone');
  assert.equal((await newcomer.delete('/hub/api/users/frank/servers/lab')).status, 204);
});

test('a name stays taken while a deleted account is still being removed', async () => {
  await db.query(
    `INSERT INTO account_removals (user_id, name, safe_name) VALUES (999999, 'gina', 'gina')`,
  );
  const refused = await new Client(hub.url).post('/hub/api/register', {
    username: 'gina',
    email: 'gina@example.org',
    password: 'correct horse',
  });
  assert.equal(refused.status, 409);
  assert.match(refused.json.message, /still being removed/);
  await hub.compute().finishRemovals();
  await signUp(hub.url, 'gina');
});

test('the proxy checks the route’s owner by account, not by name', async () => {
  const { rows } = await db.query(`SELECT id FROM users WHERE name = 'alice'`);
  // A route left under bob's name by another account (as a deleted "bob" would leave it).
  hub.compute().routes.set({
    id: 424242,
    userId: rows[0].id,
    ownerSafeName: 'bob',
    name: 'stale',
    image: 'orrery/lab:latest',
    url: 'http://127.0.0.1:9',
    startedAt: new Date(),
  });
  try {
    const res = await bob.get('/user/bob/stale/api/status');
    assert.equal(res.status, 403);
    assert.match(res.json.message, /another user/);
  } finally {
    hub.compute().routes.delete(424242);
  }
});

test('a spawn whose server dies while JupyterLab is awaited fails at once, with the reason', {
  timeout: 60_000,
}, async () => {
  const waiting = await startTestHub('compute_gone', {
    compute: { ...testConfig('').compute, jupyterCommand: SLEEPER, spawnTimeoutSeconds: 600 },
  });
  try {
    const hana = await signUp(waiting.url, 'hana');
    const started = await hana.post('/hub/api/users/hana/servers/lab', {});
    assert.equal(started.status, 202);
    const events = readProgress(waiting.url, started.json.progress_url, hana.authHeaders());
    const backend = waiting.compute().backendOf('local');
    let pid = 0;
    await waitFor('the server process', 30_000, async () => {
      const [server] = await backend.listManaged();
      pid = (server?.state as { pid?: number } | undefined)?.pid ?? 0;
      return pid > 0;
    });
    process.kill(-pid, 'SIGKILL');
    // Well before the 600 s spawn timeout (the test's own timeout is 60 s).
    const last = (await events).at(-1)!;
    assert.equal(last.failed, true);
    assert.match(last.message, /stopped before JupyterLab answered/);
    await waitForStatus(hana, 'hana', 'lab', 'gone');
  } finally {
    await waiting.stop();
  }
});

test('a database error while cleaning up after a failed spawn is logged; the hub goes on', async () => {
  const broken = await startTestHub('compute_cleanup', {
    compute: { ...testConfig('').compute, jupyterCommand: '/bin/true', spawnTimeoutSeconds: 20 },
  });
  const brokenDb = new pg.Pool({ connectionString: broken.databaseUrl, max: 1 });
  try {
    const ivan = await signUp(broken.url, 'ivan');
    // The failure's activity record cannot be written: the cleanup's last step throws.
    await brokenDb.query('ALTER TABLE activity RENAME TO activity_away');
    const started = await ivan.post('/hub/api/users/ivan/servers/lab', {});
    assert.equal(started.status, 202);
    await waitFor('the spawn to fail and its cleanup to fault', 30_000, () =>
      broken.logLines.some((line) => line.includes('spawn cleanup failed')),
    );
    await brokenDb.query('ALTER TABLE activity_away RENAME TO activity');
    assert.equal((await ivan.get('/hub/api/users/ivan')).status, 200, 'the hub answers');
  } finally {
    await brokenDb.query('ALTER TABLE IF EXISTS activity_away RENAME TO activity');
    await brokenDb.end();
    await broken.stop();
  }
});

test('one server the reconcile loop cannot read does not stop the round', async () => {
  const { rows } = await db.query(`SELECT id FROM users WHERE name = 'bob'`);
  const insert = (name: string, state: unknown) =>
    db.query(
      `INSERT INTO servers (user_id, name, image, domain, status, state, url)
       VALUES ($1, $2, 'x', 'local', 'running', $3, 'http://127.0.0.1:9') RETURNING id`,
      [rows[0].id, name, JSON.stringify(state)],
    );
  await insert('unreadable', { backend: 'local', pid: 'not a pid' });
  // A server that died (no such process), after the unreadable one in the round's order.
  await insert('dead', {
    backend: 'local',
    host: 'localhost',
    name: 'orrery-x',
    pid: 2 ** 22 + 5,
    port: 9,
  });
  try {
    await hub.compute().reconcile();
    const left = await db.query(`SELECT name FROM servers WHERE name IN ('unreadable', 'dead')`);
    assert.deepEqual(left.rows, [{ name: 'unreadable' }], 'the dead server was still handled');
    assert.ok(hub.logLines.some((line) => line.includes('reconcile failed for a server')));
  } finally {
    await db.query(`DELETE FROM servers WHERE name IN ('unreadable', 'dead')`);
  }
});
