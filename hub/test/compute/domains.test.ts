/**
 * Two compute domains on one hub, through the API: a Docker domain and a Docker Swarm domain
 * (a one-node swarm on the local daemon, joined by this test if needed). Users choose the
 * domain per server; RACM decides who may use which; each domain's servers are its own.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createBackend, dockerAvailable, type SpawnerBackend } from '@orrery/spawner';
import { domain } from '../../src/compute/domainConfig.ts';
import { findResourceByName, grant, resourceType } from '../../src/racm/store.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { waitForStatus } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const docker = async (...args: string[]) => (await run('docker', args)).stdout.trim();

let hub: TestHub;
let joinedSwarm = false;
let prefix = '';
const observers: SpawnerBackend[] = [];

before(async () => {
  if (skip) return;
  if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) !== 'active') {
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    joinedSwarm = true;
  }
  hub = await startTestHub('domains', {
    compute: { domains: [domain('local', 'docker'), domain('cluster', 'swarm')] },
  });
  prefix = hub.hub.config.compute.namePrefix;
  observers.push(
    createBackend({
      kind: 'docker',
      hosts: [{ name: 'local', socketPath: '/var/run/docker.sock' }],
      spec: { namePrefix: prefix, deployment: `${prefix}local` },
    }),
    createBackend({
      kind: 'swarm',
      manager: { name: 'swarm', socketPath: '/var/run/docker.sock' },
      spec: { namePrefix: prefix, deployment: `${prefix}cluster` },
    }),
  );
});

after(async () => {
  if (skip) return;
  try {
    await hub?.stop();
    const left = [];
    for (const observer of observers) {
      for (const server of await observer.listManaged()) {
        left.push(server.serverName);
        await observer.stop(server.state);
      }
      await observer.close();
    }
    assert.deepEqual(left, [], 'no test container or service is left behind');
  } finally {
    if (joinedSwarm) await docker('swarm', 'leave', '--force');
  }
});

async function startOn(client: Client, user: string, server: string, body: object) {
  return client.post(`/hub/api/users/${user}/servers/${server}`, body);
}

test('servers on a Docker domain and a Swarm domain side by side, each reached through the proxy', {
  skip,
  timeout: 300_000,
}, async () => {
  const alice = await signUp(hub.url, 'alice');
  const compute = await alice.get('/hub/api/compute');
  assert.deepEqual(compute.json.domains, [
    { name: 'local', backend: 'docker' },
    { name: 'cluster', backend: 'swarm' },
  ]);

  const unknown = await startOn(alice, 'alice', 'x', { domain: 'moon' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.message, /no compute domain "moon"; choose one of: local, cluster/);

  assert.equal((await startOn(alice, 'alice', 'here', {})).status, 202, 'default: the first');
  const there = await startOn(alice, 'alice', 'there', { domain: 'cluster' });
  assert.equal(there.status, 202, there.text);
  assert.equal(there.json.domain, 'cluster');
  const here = await waitForStatus(alice, 'alice', 'here', 'running', 180_000);
  await waitForStatus(alice, 'alice', 'there', 'running', 180_000);
  assert.equal(here.domain, 'local');
  for (const server of ['here', 'there']) {
    assert.equal((await alice.get(`/user/alice/${server}/api/status`)).status, 200, server);
  }
  const [containers, services] = await Promise.all(observers.map((o) => o.listManaged()));
  assert.deepEqual(
    containers!.map((s) => s.serverName),
    ['here'],
  );
  assert.deepEqual(
    services!.map((s) => s.serverName),
    ['there'],
  );

  // A reconcile round keeps both: neither domain takes the other's server for an orphan.
  await hub.hub.compute!.reconcile();
  assert.equal((await alice.get('/user/alice/there/api/status')).status, 200);
  assert.equal((await alice.get('/user/alice/here/api/status')).status, 200);

  for (const server of ['here', 'there']) {
    assert.equal((await alice.delete(`/hub/api/users/alice/servers/${server}`)).status, 204);
  }
  for (const observer of observers) assert.deepEqual(await observer.listManaged(), []);
});

test('RACM decides who may use a domain', { skip, timeout: 60_000 }, async () => {
  const db = hub.hub.db;
  const cluster = (await findResourceByName(db, 'ComputeDomain', 'cluster'))!;
  // Take the domain from everyone, then give it to carol alone.
  await db.query(`DELETE FROM racm_privileges WHERE resource_id = $1`, [cluster.id]);
  const carol = await signUp(hub.url, 'carol');
  const dave = await signUp(hub.url, 'dave');
  const carolId = (await db.query(`SELECT id FROM users WHERE name = 'carol'`)).rows[0].id;
  await grant(db, {
    resourceId: cluster.id,
    typeId: (await resourceType(db, 'ComputeDomain'))!.id,
    action: 'use',
    userId: carolId,
    grantedBy: null,
  });

  assert.deepEqual(
    (await dave.get('/hub/api/compute')).json.domains.map((d: { name: string }) => d.name),
    ['local'],
  );
  const refused = await startOn(dave, 'dave', 'lab', { domain: 'cluster' });
  assert.equal(refused.status, 403);
  assert.match(refused.json.message, /may not use the compute domain "cluster"/);
  assert.equal((await dave.get('/hub/api/users/dave/servers')).json.servers.length, 0);
  assert.deepEqual(
    (await carol.get('/hub/api/compute')).json.domains.map((d: { name: string }) => d.name),
    ['local', 'cluster'],
  );
});
