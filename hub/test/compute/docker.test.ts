/**
 * Compute on real Docker through the hub: a container per server behind the proxy, and a
 * hub killed with SIGKILL that finds every server again, with no orphan or duplicate.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  createBackend,
  type DockerSavedState,
  dockerAvailable,
  type SpawnerBackend,
} from '@orrery/spawner';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { Client, createTestDatabase, releaseViews, signUp } from '../support.ts';
import {
  deploymentOf,
  kernelInfo,
  openSocket,
  removeDeployment,
  waitFor,
  waitForStatus,
} from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const prefix = `orrery-test-${randomBytes(3).toString('hex')}-`;
const stateDir = mkdtempSync(path.join(tmpdir(), 'orrery-docker-'));
const secretKey = randomBytes(32).toString('base64url');
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let names: Awaited<ReturnType<typeof deploymentOf>>;
let observer: SpawnerBackend;

/** Every hub process started here; after() kills any a failed test left running. */
const children = new Set<ChildProcess>();

/** Run the hub as its own process, the way an operator does, so it can be killed for real. */
async function runHub(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      ORRERY_PORT: '0',
      ORRERY_LOG_LEVEL: 'info',
      ORRERY_ARGON2_MEMORY_KIB: '1024',
      ORRERY_ARGON2_TIME: '1',
      ORRERY_COMPUTE: 'docker',
      ORRERY_NAME_PREFIX: prefix,
      ORRERY_STATE_DIR: stateDir,
      ORRERY_SECRET_KEY: secretKey,
      ORRERY_SERVER_MEMORY_MB: '1024',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const found = output.match(/"url":"(http:\/\/[^"]+)"/);
      // Killed hubs cannot close their firewall openings; after() does.
      if (found) resolve(found[1]!);
    });
    child.once('exit', () => reject(new Error(`hub exited: ${output.slice(-2000)}`)));
  });
  return { child, url };
}

before(async () => {
  if (skip) return;
  database = await createTestDatabase('docker');
  await migrate(database.url);
  names = await deploymentOf(database.url, prefix);
  observer = createBackend({
    kind: 'docker',
    hosts: [{ name: 'local', socketPath: '/var/run/docker.sock' }],
    spec: names.spec('local'),
  });
});

after(async () => {
  if (skip) return;
  for (const child of children) child.kill('SIGKILL');
  const left = await observer.listManaged();
  await observer.close();
  await removeDeployment(names);
  await releaseViews({ files: {}, stateDir });
  await database.drop();
  assert.deepEqual(left, [], 'no test container is left behind');
});

/** Python run inside the container: what its environment lets it reach. */
const INSIDE_PROBE = `
import json, os, socket, urllib.request, urllib.error
hub = os.environ['ORRERY_HUB_URL']
req = urllib.request.Request(hub + '/hub/api/user', headers={'Authorization': 'token ' + os.environ['ORRERY_API_TOKEN']})
user = json.load(urllib.request.urlopen(req, timeout=10))['name']
try:
    pages = urllib.request.urlopen(hub + '/hub/login', timeout=10).status
except urllib.error.HTTPError as e:
    pages = e.code
gateway = hub.split('//')[1].split(':')[0]
try:
    socket.create_connection((gateway, 5432), timeout=3).close()
    database = 'reachable'
except OSError:
    database = 'unreachable'
print(json.dumps({'user': user, 'pages': pages, 'database': database, 'hub': hub}))
`;

async function insideContainer(id: string, code: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('docker', ['exec', id, 'python3', '-c', code]);
  return JSON.parse(stdout);
}

test('a server in a container, reached through the proxy; the hub killed with SIGKILL finds it again', {
  skip,
  timeout: 300_000,
}, async () => {
  let hub = await runHub();
  const alice = await signUp(hub.url, 'alice');
  assert.equal((await alice.post('/hub/api/users/alice/servers/lab', {})).status, 202);
  await waitForStatus(alice, 'alice', 'lab', 'running', 120_000);
  assert.equal((await alice.get('/user/alice/lab/api/status')).status, 200);
  const kernel = await alice.post('/user/alice/lab/api/kernels', { name: 'python3' });
  assert.equal(kernel.status, 201, kernel.text);
  const wsUrl = (base: string) =>
    `${base.replace('http', 'ws')}/user/alice/lab/api/kernels/${kernel.json.id}/channels`;
  const socket = await openSocket(wsUrl(hub.url), alice.authHeaders());
  assert.equal((await kernelInfo(socket)).status, 'ok');
  socket.close();
  const before = await observer.listManaged();
  assert.equal(before.length, 1);

  // Code inside the container reaches the hub's API with its own token, over the user network;
  // the hub's pages and every other host port stay out of reach.
  const id = (before[0]!.state as DockerSavedState).containerId;
  const inside = await insideContainer(id, INSIDE_PROBE);
  assert.equal(inside.user, 'alice', JSON.stringify(inside));
  assert.equal(inside.pages, 404, 'only the API is served to servers');
  assert.equal(inside.database, 'unreachable', 'the host database is firewalled');

  hub.child.kill('SIGKILL');
  await once(hub.child, 'exit');
  hub = await runHub();
  const again = new Client(hub.url);
  assert.equal(
    (await again.post('/hub/api/login', { username: 'alice', password: 'correct horse' })).status,
    200,
  );
  assert.equal((await again.get('/hub/api/users/alice')).json.servers.lab.status, 'running');
  assert.equal(
    (await again.get('/user/alice/lab/api/status')).status,
    200,
    'reachable again after the restart',
  );
  const resumed = await openSocket(wsUrl(hub.url), again.authHeaders());
  assert.equal((await kernelInfo(resumed)).status, 'ok', 'the same kernel answers');
  resumed.close();
  const afterRestart = await observer.listManaged();
  assert.equal(afterRestart.length, 1, 'no duplicate container');
  assert.deepEqual(afterRestart[0]!.state, before[0]!.state, 'the very same container');

  assert.equal((await again.delete('/hub/api/users/alice/servers/lab')).status, 204);
  assert.deepEqual(await observer.listManaged(), [], 'stopped means removed');
  hub.child.kill('SIGTERM');
  await once(hub.child, 'exit');
});

test('a container left behind by a crashed spawn is swept when the hub starts', {
  skip,
  timeout: 300_000,
}, async () => {
  let hub = await runHub();
  const bob = await signUp(hub.url, 'bob');
  assert.equal((await bob.post('/hub/api/users/bob/servers/lab', {})).status, 202);
  // Kill the hub mid-spawn, once its container exists and before JupyterLab answers.
  await waitFor('the spawn to create its container', 120_000, async () => {
    return (await observer.listManaged()).length === 1;
  });
  hub.child.kill('SIGKILL');
  await once(hub.child, 'exit');
  const db = new pg.Pool({ connectionString: database.url, max: 1 });
  const { rows } = await db.query(`SELECT status FROM servers WHERE name = 'lab'`);
  await db.end();
  assert.equal(rows[0]?.status, 'starting', 'the hub died while the server was starting');
  hub = await runHub();
  const again = new Client(hub.url);
  await again.post('/hub/api/login', { username: 'bob', password: 'correct horse' });
  await waitForStatus(again, 'bob', 'lab', 'gone', 30_000);
  assert.deepEqual(await observer.listManaged(), [], 'no orphaned container');
  hub.child.kill('SIGTERM');
  await once(hub.child, 'exit');
});
