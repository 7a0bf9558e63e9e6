/**
 * Four compute domains on one hub, through the API: a Docker domain, a Docker Swarm domain
 * (a one-node swarm on the local daemon, joined by this test if needed), a Docker host reached
 * over TCP with TLS and a client certificate, and one reached over SSH (a private sshd). Users choose the domain per server; RACM decides who may use which; each domain's servers are its own.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { createBackend, dockerAvailable, type SpawnerBackend } from '@orrery/spawner';
import { domain } from '../../src/compute/domainConfig.ts';
import { findResourceByName, grant, resourceType } from '../../src/racm/store.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { type SshDocker, startSshDocker } from './sshDocker.ts';
import { deploymentOf, removeDeployment, waitForStatus } from './support.ts';
import { startTlsDocker, type TlsDocker } from './tlsDocker.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const docker = async (...args: string[]) => (await run('docker', args)).stdout.trim();

let hub: TestHub;
let joinedSwarm = false;
let secure: TlsDocker;
let far: SshDocker;
const observers: SpawnerBackend[] = [];
let names: Awaited<ReturnType<typeof deploymentOf>> | undefined;

before(async () => {
  if (skip) return;
  if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) !== 'active') {
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    joinedSwarm = true;
  }
  secure = await startTlsDocker();
  far = await startSshDocker();
  hub = await startTestHub('domains', {
    compute: {
      domains: [
        domain('local', 'docker'),
        domain('cluster', 'swarm'),
        // A "remote" host: TCP with TLS and a client certificate, no local firewall.
        domain('secure', 'docker', [`${secure.url}?tls=${secure.clientCertDir}&firewall=none`]),
        // And one over SSH, its host key pinned, a key file to log in.
        domain('far', 'docker', [
          `ssh://root@127.0.0.1:${far.port}?fingerprint=${far.fingerprint}&identity=${far.identityFile}&firewall=none`,
        ]),
      ],
    },
  });
  // Each domain's backend as seen from outside the hub: same daemon, that domain's label.
  const local = { name: 'local', socketPath: '/var/run/docker.sock' };
  names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
  const deployment = names.spec;
  observers.push(
    createBackend({ kind: 'docker', hosts: [local], spec: deployment('local') }),
    createBackend({
      kind: 'swarm',
      manager: { ...local, name: 'swarm' },
      spec: deployment('cluster'),
    }),
    createBackend({ kind: 'docker', hosts: [local], spec: deployment('secure') }),
    createBackend({ kind: 'docker', hosts: [local], spec: deployment('far') }),
  );
});

after(async () => {
  if (skip) return;
  try {
    // The hub's warnings (a spawn's reason for failing) explain a failure here.
    if (hub?.logLines.length) console.error(`hub warnings:\n${hub.logLines.join('')}`);
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
    // The workspace volumes and anything else the deployment left on the daemon.
    if (names) await removeDeployment(names);
    await secure?.close();
    await far?.close();
    if (joinedSwarm) await docker('swarm', 'leave', '--force');
  }
});

async function startOn(client: Client, user: string, server: string, body: object) {
  return client.post(`/hub/api/users/${user}/servers/${server}`, body);
}

/**
 * A new user starts "lab" on `domain`; it answers through the proxy, and its container is the
 * one `observer` (the domain's backend, seen from outside the hub) finds.
 */
async function labOn(user: string, domain: string, observer: SpawnerBackend): Promise<Client> {
  const client = await signUp(hub.url, user);
  const started = await startOn(client, user, 'lab', { domain });
  assert.equal(started.status, 202, started.text);
  await waitForStatus(client, user, 'lab', 'running', 200_000);
  assert.equal((await client.get(`/user/${user}/lab/api/status`)).status, 200);
  assert.deepEqual(
    (await observer.listManaged()).map((s) => s.owner),
    [user],
    `the server runs on ${domain}`,
  );
  return client;
}

async function stopLab(client: Client, user: string, observer: SpawnerBackend): Promise<void> {
  assert.equal((await client.delete(`/hub/api/users/${user}/servers/lab`)).status, 204);
  assert.deepEqual(await observer.listManaged(), []);
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
    { name: 'secure', backend: 'docker' },
    { name: 'far', backend: 'docker' },
  ]);

  const unknown = await startOn(alice, 'alice', 'x', { domain: 'moon' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.rule, 'domain_not_offered');
  assert.match(
    unknown.json.message,
    /no compute domain "moon"; choose one of: local, cluster, secure, far/,
  );

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
  const [containers, services, secured, farAway] = await Promise.all(
    observers.map((o) => o.listManaged()),
  );
  assert.deepEqual([secured, farAway], [[], []]);
  assert.deepEqual(
    containers!.map((s) => s.serverName),
    ['here'],
  );
  assert.deepEqual(
    services!.map((s) => s.serverName),
    ['there'],
  );

  // A reconcile round keeps both: neither domain takes the other's server for an orphan.
  await hub.compute().reconcile();
  assert.equal((await alice.get('/user/alice/there/api/status')).status, 200);
  assert.equal((await alice.get('/user/alice/here/api/status')).status, 200);

  for (const server of ['here', 'there']) {
    assert.equal((await alice.delete(`/hub/api/users/alice/servers/${server}`)).status, 204);
  }
  for (const observer of observers) assert.deepEqual(await observer.listManaged(), []);
});

test('a domain on a Docker host over TCP with TLS and a client certificate', {
  skip,
  timeout: 180_000,
}, async () => {
  const erin = await labOn('erin', 'secure', observers[2]!);
  // The endpoint is really TLS with client certificates: without one the handshake fails.
  const port = Number(new URL(secure.url).port);
  const refused = await new Promise<string>((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(`${secure.clientCertDir}/ca.pem`),
    });
    socket.once('secureConnect', () => socket.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.once('data', (data) => resolve(`answered: ${String(data).split('\r\n')[0]}`));
    socket.once('error', (err) => resolve(`refused: ${err.message}`));
    socket.once('close', () => resolve('refused: closed'));
  });
  assert.match(refused, /^refused/);
  await stopLab(erin, 'erin', observers[2]!);
});

test('a domain on a Docker host over SSH, its host key pinned', {
  skip,
  timeout: 240_000,
}, async () => {
  const frank = await labOn('frank', 'far', observers[3]!);
  // A host presenting another key is never sent a request.
  const endpoint = {
    host: '127.0.0.1',
    port: far.port,
    protocol: 'ssh' as const,
    username: 'root',
    sshPrivateKey: far.privateKey,
  };
  assert.equal(
    await dockerAvailable({ ...endpoint, hostKeyFingerprint: far.fingerprint }, 20_000),
    true,
  );
  assert.equal(
    await dockerAvailable({ ...endpoint, hostKeyFingerprint: 'SHA256:not-this-host' }, 20_000),
    false,
  );
  await stopLab(frank, 'frank', observers[3]!);
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
    ['local', 'secure', 'far'],
  );
  const refused = await startOn(dave, 'dave', 'lab', { domain: 'cluster' });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.rule, 'domain_forbidden');
  assert.match(refused.json.message, /may not use the compute domain "cluster"/);
  assert.deepEqual((await dave.get('/hub/api/users/dave')).json.servers, {});
  assert.deepEqual(
    (await carol.get('/hub/api/compute')).json.domains.map((d: { name: string }) => d.name),
    ['local', 'cluster', 'secure', 'far'],
  );
});
