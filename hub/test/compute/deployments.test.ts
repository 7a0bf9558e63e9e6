/**
 * Servers' lifecycles on real Docker, where the reconcile loop and the burst of starts meet:
 * ten parallel starts with the loop at 1 s all become ready; an account deleted with a server
 * running leaves nothing to whoever registers its name next; two hubs with the same name prefix
 * on one daemon (two deployments) never sweep each other's servers.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { createBackend, dockerAvailable, freePort } from '@orrery/spawner';
import pg from 'pg';
import { domain } from '../../src/compute/domainConfig.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { deploymentOf, removeDeployment, waitForStatus } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

/** Ten JupyterLabs starting at once on two shared cores take a while. */
const SPAWN_SECONDS = 480;

function dockerHub(
  label: string,
  compute: Partial<TestHub['hub']['config']['compute']> = {},
  port = 0,
) {
  return startTestHub(label, {
    port,
    compute: {
      domains: [domain('local', 'docker')],
      spawnTimeoutSeconds: SPAWN_SECONDS,
      ...compute,
    },
  });
}

/** Stop a test hub and remove all its deployment left on the daemon. */
async function dropHub(hub: TestHub): Promise<void> {
  const names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
  await hub.stop();
  await removeDeployment(names);
}

/** The local firewall's rules (INPUT and DOCKER-USER), as iptables -S prints them. */
async function firewall(): Promise<string> {
  const chains = await Promise.all(
    ['INPUT', 'DOCKER-USER'].map(
      async (chain) => (await run('iptables', ['-w', '-S', chain])).stdout,
    ),
  );
  return chains.join('');
}

/** The hub's observer of its own Docker servers, from outside the hub. */
async function observe(hub: TestHub) {
  const names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
  return {
    names,
    backend: createBackend({
      kind: 'docker',
      hosts: [{ name: 'local', socketPath: '/var/run/docker.sock' }],
      spec: names.spec('local'),
    }),
  };
}

test('ten parallel starts with the reconcile loop at 1 s: ten of ten ready, none stopped; then a deleted account leaves nothing to the next owner of its name', {
  skip,
  timeout: (SPAWN_SECONDS + 300) * 1000,
}, async () => {
  const hub = await dockerHub('deploy_burst', {
    loopSeconds: 1,
    maxServersPerUser: 10,
    maxConcurrentSpawns: 10,
  });
  const db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  try {
    const vera = await signUp(hub.url, 'vera');
    const names = Array.from({ length: 10 }, (_, i) => `burst${i}`);
    const started = await Promise.all(
      names.map((name) => vera.post(`/hub/api/users/vera/servers/${name}`, {})),
    );
    assert.deepEqual(
      started.map((res) => res.status),
      names.map(() => 202),
    );
    for (const name of names)
      await waitForStatus(vera, 'vera', name, 'running', SPAWN_SECONDS * 1000);
    const swept = hub.logLines.filter((line) => line.includes('stopping an orphaned server'));
    assert.deepEqual(swept, [], 'the loop stopped no starting server');
    const failed = await vera.get('/hub/api/activity?type=server.start_failed');
    assert.deepEqual(failed.json.events, []);
    for (const name of names)
      assert.equal((await vera.delete(`/hub/api/users/vera/servers/${name}`)).status, 204);

    // An account deleted with a server running and a file in its workspace (its Storage volume).
    const admin = await signUp(hub.url, 'chief');
    await db.query(`UPDATE users SET admin = true WHERE name = 'chief'`);
    const walt = await signUp(hub.url, 'walt');
    assert.equal((await walt.post('/hub/api/users/walt/servers/lab', {})).status, 202);
    await waitForStatus(walt, 'walt', 'lab', 'running', SPAWN_SECONDS * 1000);
    const put = await walt.request('PUT', '/user/walt/lab/api/contents/secret.txt', {
      type: 'file',
      format: 'text',
      content: 'the old owner’s notes',
    });
    assert.equal(put.status, 201, put.text);
    const { backend } = await observe(hub);
    const storage = hub.hub.config.files.rootVolumes.find((root) => root.name === 'Storage')!;
    const secretFiles = async () =>
      (
        await run('find', [
          storage.path,
          '-path',
          `${storage.path}/.orrery`,
          '-prune',
          '-o',
          '-name',
          'secret.txt',
          '-print',
        ])
      ).stdout.trim();
    assert.notEqual(await secretFiles(), '', 'the file is in the Storage volume on the host');

    assert.equal((await admin.delete('/hub/api/users/walt')).status, 204);
    const newcomer: Client = await signUp(hub.url, 'walt');
    assert.equal((await newcomer.get('/user/walt/lab/api/status')).status, 503, 'no old route');
    const left = (await backend.listManaged()).filter((server) => server.owner === 'walt');
    assert.deepEqual(left, [], 'the old container is gone');
    assert.equal(await secretFiles(), '', 'the old volume is gone from Storage (quarantined)');
    assert.equal((await newcomer.post('/hub/api/users/walt/servers/lab', {})).status, 202);
    await waitForStatus(newcomer, 'walt', 'lab', 'running', SPAWN_SECONDS * 1000);
    const read = await newcomer.get('/user/walt/lab/api/contents/secret.txt');
    assert.equal(read.status, 404, 'the old file is not there');
    assert.equal((await newcomer.delete('/hub/api/users/walt/servers/lab')).status, 204);
    await backend.close();
  } finally {
    await db.end();
    await dropHub(hub);
  }
});

test('two hubs with the same name prefix on one daemon keep each other’s servers through reconcile rounds; a hub on a fixed port closes its firewall opening when it stops', {
  skip,
  timeout: (SPAWN_SECONDS + 120) * 1000,
}, async () => {
  const namePrefix = `orrery-test-${randomBytes(3).toString('hex')}-`;
  const port = await freePort();
  const one = await dockerHub('deploy_one', { namePrefix }, port);
  const two = await dockerHub('deploy_two', { namePrefix });
  const oneNames = await deploymentOf(one.databaseUrl, namePrefix);
  let oneStopped = false;
  try {
    const ann = await signUp(one.url, 'ann');
    const ben = await signUp(two.url, 'ben');
    assert.equal((await ann.post('/hub/api/users/ann/servers/lab', {})).status, 202);
    assert.equal((await ben.post('/hub/api/users/ben/servers/lab', {})).status, 202);
    await waitForStatus(ann, 'ann', 'lab', 'running', SPAWN_SECONDS * 1000);
    await waitForStatus(ben, 'ben', 'lab', 'running', SPAWN_SECONDS * 1000);
    for (let round = 0; round < 3; round++) {
      await one.compute().reconcile();
      await two.compute().reconcile();
    }
    assert.equal((await ann.get('/user/ann/lab/api/status')).status, 200, 'ann’s server survived');
    assert.equal((await ben.get('/user/ben/lab/api/status')).status, 200, 'ben’s server survived');
    const swept = [...one.logLines, ...two.logLines].filter((line) =>
      line.includes('stopping an orphaned server'),
    );
    assert.deepEqual(swept, []);
    assert.equal((await ann.delete('/hub/api/users/ann/servers/lab')).status, 204);
    assert.equal((await ben.delete('/hub/api/users/ben/servers/lab')).status, 204);

    const opening = new RegExp(`-i ${oneNames.localBridge} -p tcp -m tcp --dport ${port} `);
    assert.match(await firewall(), opening, 'the hub on a fixed port opened it for its servers');
    await one.stop();
    oneStopped = true;
    assert.doesNotMatch(await firewall(), opening, 'and closed it when it stopped');
  } finally {
    if (!oneStopped) await one.stop();
    await removeDeployment(oneNames);
    await dropHub(two);
  }
});
