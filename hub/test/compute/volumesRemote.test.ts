/**
 * Volumes on a remote Docker host, through the hub: a compute domain whose only host is a
 * second Docker daemon (spawner/test/secondDaemon.ts, TCP on loopback). A server placed there
 * gets its Storage `persistent` volume at /home/jovyan/work and its volume view, applied by a
 * helper container on that host (hub/src/files/mounts/); a share appears in it live,
 * read-only, and goes when revoked. Both daemons see this machine's folders, as hosts sharing
 * the root volumes over NFS at the same path would.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import { lockDockerTests } from '../../../spawner/test/helpers.ts';
import {
  answers,
  copyImageToSecond,
  SECOND,
  startSecondDaemon,
  stopSecondDaemon,
} from '../../../spawner/test/secondDaemon.ts';
import { domain } from '../../src/compute/domainConfig.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { deploymentOf, removeDeployment, waitFor, waitForStatus } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = !available
  ? 'no Docker daemon answers (CI=true makes this a failure)'
  : process.getuid?.() !== 0
    ? 'the hub must run as root to mount volume views'
    : false;

const IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
const VOLUMES = '/home/jovyan/volumes';

let hub: TestHub | undefined;
let release: (() => void) | undefined;
let daemonPid: number | undefined;

before(async () => {
  if (skip) return;
  release = await lockDockerTests();
  if (!(await answers(SECOND))) daemonPid = await startSecondDaemon();
  await copyImageToSecond(IMAGE);
  hub = await startTestHub('volumes_remote', {
    compute: {
      domains: [domain('remote', 'docker', [`${SECOND}?insecure=1&firewall=none`])],
      images: [IMAGE],
    },
  });
});

after(async () => {
  if (skip) return;
  try {
    if (hub) {
      const names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
      await hub.stop();
      await removeDeployment(names, SECOND);
      await removeDeployment(names);
    }
    if (daemonPid !== undefined) await stopSecondDaemon(daemonPid);
  } finally {
    release?.();
  }
});

/** Run `script` in the user's running container on the second daemon. */
async function inServer(owner: string, script: string) {
  const servers = await hub!.compute().backendOf('remote').listManaged();
  const server = servers.find((s) => s.owner === owner && s.running);
  assert.ok(server, `${owner} has a running container`);
  const id = (server.state as unknown as { containerId: string }).containerId;
  try {
    const { stdout, stderr } = await run('docker', ['-H', SECOND, 'exec', id, 'sh', '-c', script]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const failed = err as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

async function upload(client: Client, volumePath: string, file: string, text: string) {
  const res = await client.request(
    'PUT',
    `/hub/api/files/${volumePath}/content?path=${encodeURIComponent(file)}`,
    text,
    { 'content-type': 'application/octet-stream' },
  );
  assert.equal(res.status, 201, res.text);
}

test('a server on a remote Docker host gets its Storage workspace and view, and a share live', {
  skip,
}, async () => {
  const h = hub!;
  const alice = await signUp(h.url, 'alice');
  const bob = await signUp(h.url, 'bob');
  const group = await bob.post('/hub/api/groups', { name: 'remote-team' });
  assert.equal(group.status, 201, group.text);
  const invited = await bob.post(`/hub/api/groups/${group.json.id}/invitations`, {
    username: 'alice',
    role: 'MEMBER',
  });
  assert.equal(invited.status, 201, invited.text);
  assert.equal((await alice.post(`/hub/api/invitations/${invited.json.id}/accept`)).status, 200);

  const started = await bob.post('/hub/api/users/bob/servers/lab', { domain: 'remote' });
  assert.equal(started.status, 202, started.text);
  await waitForStatus(bob, 'bob', 'lab', 'running', 240_000).catch((err) => {
    throw new Error(`${err.message}\n${h.logLines.join('')}`);
  });
  // The container runs on the second daemon, not on this machine's.
  const servers = await h.compute().backendOf('remote').listManaged();
  const id = (servers.find((s) => s.owner === 'bob')!.state as unknown as { containerId: string })
    .containerId;
  await run('docker', ['-H', SECOND, 'inspect', id]);
  await assert.rejects(run('docker', ['inspect', id]));

  // Storage `persistent` is the workspace there, and in the view at its path.
  const wrote = await inServer('bob', 'echo remote > /home/jovyan/work/from-remote.txt');
  assert.equal(wrote.code, 0, wrote.stderr);
  const viaApi = await bob.get(
    '/hub/api/files/Storage/bob/persistent/content?path=from-remote.txt',
  );
  assert.equal(viaApi.text, 'remote\n');
  assert.equal(
    (await inServer('bob', `cat ${VOLUMES}/Storage/bob/persistent/from-remote.txt`)).stdout,
    'remote\n',
  );

  // alice shares a volume with the group: it appears in bob's running server on that host.
  assert.equal((await alice.post('/hub/api/volumes/Storage', { name: 'far' })).status, 201);
  await upload(alice, 'Storage/alice/far', 'data.txt', 'far away\n');
  const target = `${VOLUMES}/Storage/alice/far`;
  assert.notEqual((await inServer('bob', `test -e '${target}'`)).code, 0, 'not shared yet');
  const shared = await alice.request('PUT', '/hub/api/volumes/Storage/alice/far/shares', {
    group: group.json.id,
    access: 'read',
  });
  assert.equal(shared.status, 200, shared.text);
  await waitFor('the share in bob’s remote container', 60_000, async () => {
    return (await inServer('bob', `cat '${target}/data.txt'`)).stdout === 'far away\n';
  });
  const refused = await inServer('bob', `echo no > '${target}/mine.txt'`);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Read-only file system/);

  const revoked = await alice.delete(
    `/hub/api/volumes/Storage/alice/far/shares?group=${group.json.id}`,
  );
  assert.equal(revoked.status, 204, revoked.text);
  await waitFor('the volume gone from bob’s remote container', 60_000, async () => {
    return (await inServer('bob', `test -e '${target}'`)).code !== 0;
  });
  assert.equal((await inServer('bob', `ls ${VOLUMES}/Storage`)).stdout, 'bob\n');

  assert.equal((await bob.delete('/hub/api/users/bob/servers/lab')).status, 204);
  await waitForStatus(bob, 'bob', 'lab', 'gone', 60_000);
  // No helper container of this hub is left on the remote host.
  const names = await deploymentOf(h.databaseUrl, h.hub.config.compute.namePrefix);
  const helpers = await run('docker', [
    '-H',
    SECOND,
    'ps',
    '-aq',
    '--filter',
    `label=org.orrery.view-helper=${names.label('volumes')}`,
  ]);
  assert.equal(helpers.stdout.trim(), '');
});
