/**
 * Volumes in running servers, end to end on real Docker through the real hub API: a volume
 * shared read-only with bob's group appears in his running container (readable, EROFS on
 * writes, and in JupyterLab's file browser), and goes when revoked, without a restart; alice's
 * own server sees her volume read-write at the same path and her Storage `persistent` volume
 * at /home/jovyan/work; a removed account's view folder goes; an old-style workspace volume's
 * files are there at the first start.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import { lockDockerTests } from '../../../spawner/test/helpers.ts';
import { domain } from '../../src/compute/domainConfig.ts';
import { viewsRootOf } from '../../src/files/config.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { deploymentOf, removeDeployment, waitFor, waitForStatus } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
const VOLUMES = '/home/jovyan/volumes';

let hub: TestHub;
let release: (() => void) | undefined;
let oldVolume: string | undefined;

before(async () => {
  if (skip) return;
  release = await lockDockerTests();
  hub = await startTestHub('volumes_live', {
    compute: { domains: [domain('local', 'docker')], images: [IMAGE] },
  });
});

after(async () => {
  if (skip) return;
  try {
    const names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
    await hub.stop();
    if (oldVolume) await run('docker', ['volume', 'rm', '-f', oldVolume]).catch(() => undefined);
    await removeDeployment(names);
  } finally {
    release?.();
  }
});

/** Run `script` in the user's running container as its user; stdout, stderr and exit code. */
async function inServer(owner: string, script: string) {
  const servers = await hub.compute().backendOf('local').listManaged();
  const server = servers.find((s) => s.owner === owner && s.running);
  assert.ok(server, `${owner} has a running container`);
  const id = (server.state as unknown as { containerId: string }).containerId;
  try {
    const { stdout, stderr } = await run('docker', ['exec', id, 'sh', '-c', script]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const failed = err as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

async function startServer(client: Client, name: string) {
  const started = await client.post(`/hub/api/users/${name}/servers/lab`, {});
  assert.equal(started.status, 202, started.text);
  await waitForStatus(client, name, 'lab', 'running', 180_000).catch((err) => {
    throw new Error(`${err.message}\n${hub.logLines.join('')}`);
  });
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

test('a share appears in a running server read-only, and goes when revoked', { skip }, async () => {
  const alice = await signUp(hub.url, 'alice');
  const bob = await signUp(hub.url, 'bob');

  // bob's group, of which alice is a member (she shares with groups she is in).
  const group = await bob.post('/hub/api/groups', { name: 'survey-team' });
  assert.equal(group.status, 201, group.text);
  const invited = await bob.post(`/hub/api/groups/${group.json.id}/invitations`, {
    username: 'alice',
    role: 'MEMBER',
  });
  assert.equal(invited.status, 201, invited.text);
  const accepted = await alice.post(`/hub/api/invitations/${invited.json.id}/accept`);
  assert.equal(accepted.status, 200, accepted.text);

  const created = await alice.post('/hub/api/volumes/Storage', { name: 'survey' });
  assert.equal(created.status, 201, created.text);
  await upload(alice, 'Storage/alice/survey', 'catalog.csv', 'ra,dec\n1,2\n');

  await startServer(bob, 'bob');
  const target = `${VOLUMES}/Storage/alice/survey`;
  assert.notEqual((await inServer('bob', `test -e '${target}'`)).code, 0, 'not shared yet');
  // bob's own volumes are there from the start.
  assert.equal((await inServer('bob', `test -d ${VOLUMES}/Storage/bob/persistent`)).code, 0);

  const sharedAt = Date.now();
  const shared = await alice.request('PUT', '/hub/api/volumes/Storage/alice/survey/shares', {
    group: group.json.id,
    access: 'read',
  });
  assert.equal(shared.status, 200, shared.text);
  await waitFor('the share in bob’s running container', 30_000, async () => {
    return (await inServer('bob', `cat '${target}/catalog.csv'`)).stdout === 'ra,dec\n1,2\n';
  });
  console.log(`share → visible in bob's running container: ${Date.now() - sharedAt} ms`);

  const write = await inServer('bob', `echo no > '${target}/mine.txt'`);
  assert.notEqual(write.code, 0);
  assert.match(write.stderr, /Read-only file system/);

  // JupyterLab's file browser (rooted at /home/jovyan/work) reaches it through `volumes`.
  const listing = await bob.get('/user/bob/lab/api/contents/volumes/Storage/alice/survey');
  assert.equal(listing.status, 200, listing.text);
  assert.deepEqual(
    listing.json.content.map((entry: { name: string }) => entry.name),
    ['catalog.csv'],
  );

  const revokedAt = Date.now();
  const revoked = await alice.delete(
    `/hub/api/volumes/Storage/alice/survey/shares?group=${group.json.id}`,
  );
  assert.equal(revoked.status, 204, revoked.text);
  await waitFor('the volume gone from bob’s container', 30_000, async () => {
    return (await inServer('bob', `test -e '${target}'`)).code !== 0;
  });
  console.log(`revoke → gone from bob's running container: ${Date.now() - revokedAt} ms`);
  assert.equal((await inServer('bob', `ls ${VOLUMES}/Storage`)).stdout, 'bob\n');

  // alice: her volume read-write at the same path, and work is her persistent volume.
  await startServer(alice, 'alice');
  const own = await inServer(
    'alice',
    `cat '${target}/catalog.csv' && echo written > '${target}/from-lab.txt' && echo kept > /home/jovyan/work/notes.txt`,
  );
  assert.equal(own.code, 0, own.stderr);
  assert.equal(own.stdout, 'ra,dec\n1,2\n');
  const fromLab = await alice.get('/hub/api/files/Storage/alice/survey/content?path=from-lab.txt');
  assert.equal(fromLab.text, 'written\n');
  const notes = await alice.get('/hub/api/files/Storage/alice/persistent/content?path=notes.txt');
  assert.equal(notes.status, 200, notes.text);
  assert.equal(notes.text, 'kept\n');
  const seen = await inServer('alice', `cat ${VOLUMES}/Storage/alice/persistent/notes.txt`);
  assert.equal(seen.stdout, 'kept\n', 'the same folder at work and in the view');

  for (const [client, name] of [
    [bob, 'bob'],
    [alice, 'alice'],
  ] as const) {
    assert.equal((await client.delete(`/hub/api/users/${name}/servers/lab`)).status, 204);
    await waitForStatus(client, name, 'lab', 'gone', 60_000);
  }

  // bob's account removed: his view folder goes from the host.
  const { rows } = await hub.hub.db.query("SELECT id FROM users WHERE name = 'bob'");
  const bobView = path.join(
    viewsRootOf(hub.hub.config.files, hub.hub.config.stateDir),
    String(rows[0].id),
  );
  assert.ok(existsSync(bobView));
  const admin = await signUp(hub.url, 'root1');
  await hub.hub.db.query("UPDATE users SET admin = true WHERE name = 'root1'");
  const removed = await admin.delete('/hub/api/users/bob');
  assert.ok(removed.status < 300, removed.text);
  await waitFor('bob’s view folder removed', 30_000, () => !existsSync(bobView));
});

test('an old-style workspace volume is in /home/jovyan/work at the first start', {
  skip,
}, async () => {
  const carol = await signUp(hub.url, 'carol');
  const { rows } = await hub.hub.db.query("SELECT safe_name FROM users WHERE name = 'carol'");
  oldVolume = hub.compute().workspaceOf(rows[0].safe_name);
  // The workspace as the hub made it before: a named volume the container user wrote into.
  await run('docker', ['volume', 'create', oldVolume]);
  await run('docker', [
    'run',
    '--rm',
    '-v',
    `${oldVolume}:/w`,
    '--user',
    '0',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    'mkdir -p /w/analysis && echo old > /w/analysis/result.txt && chown -R 1000:1000 /w',
  ]);

  await startServer(carol, 'carol');
  const inside = await inServer('carol', 'cat /home/jovyan/work/analysis/result.txt');
  assert.equal(inside.stdout, 'old\n', inside.stderr);
  const viaApi = await carol.get(
    '/hub/api/files/Storage/carol/persistent/content?path=analysis%2Fresult.txt',
  );
  assert.equal(viaApi.text, 'old\n');
  // The old volume is kept for the operator to remove.
  await run('docker', ['volume', 'inspect', oldVolume]);
  assert.equal((await carol.delete('/hub/api/users/carol/servers/lab')).status, 204);
  await waitForStatus(carol, 'carol', 'lab', 'gone', 60_000);
});

test('privileges changed through the generic RACM routes, group membership, and an owner’s removal reach a running server', {
  skip,
}, async () => {
  const dave = await signUp(hub.url, 'dave');
  const erin = await signUp(hub.url, 'erin');
  const created = await dave.post('/hub/api/volumes/Storage', { name: 'ledger' });
  assert.equal(created.status, 201, created.text);
  await upload(dave, 'Storage/dave/ledger', 'entries.txt', 'one\n');
  const mine = await dave.get('/hub/api/racm/resources?type=UserVolume');
  const resource = mine.json.resources.find(
    (r: { description: string }) => r.description === 'Storage/ledger',
  );
  assert.ok(resource, mine.text);

  await startServer(erin, 'erin');
  const target = `${VOLUMES}/Storage/dave/ledger`;
  assert.notEqual((await inServer('erin', `test -e '${target}'`)).code, 0, 'not shared yet');

  // read through the generic route: there (read-only) once the route answers.
  const granted = await dave.post(`/hub/api/racm/resources/${resource.id}/privileges`, {
    action: 'read',
    user: 'erin',
  });
  assert.equal(granted.status, 201, granted.text);
  assert.equal((await inServer('erin', `cat '${target}/entries.txt'`)).stdout, 'one\n');
  assert.match((await inServer('erin', `echo x > '${target}/x'`)).stderr, /Read-only file system/);

  // write too: the same path becomes writable.
  const writable = await dave.post(`/hub/api/racm/resources/${resource.id}/privileges`, {
    action: 'write',
    user: 'erin',
  });
  assert.equal(writable.status, 201, writable.text);
  const wrote = await inServer('erin', `echo two >> '${target}/entries.txt'`);
  assert.equal(wrote.code, 0, wrote.stderr);

  // Both taken back: gone once the last revocation answers.
  for (const id of [writable.json.id, granted.json.id]) {
    const revoked = await dave.delete(`/hub/api/racm/resources/${resource.id}/privileges/${id}`);
    assert.equal(revoked.status, 204, revoked.text);
  }
  assert.notEqual((await inServer('erin', `test -e '${target}'`)).code, 0, 'revoked');

  // Shared with a group instead: leaving it takes the volume away, joining again brings it.
  const team = await dave.post('/hub/api/groups', { name: 'ledger-team' });
  assert.equal(team.status, 201, team.text);
  const join = async () => {
    const invited = await dave.post(`/hub/api/groups/${team.json.id}/invitations`, {
      username: 'erin',
      role: 'MEMBER',
    });
    assert.equal(invited.status, 201, invited.text);
    const accepted = await erin.post(`/hub/api/invitations/${invited.json.id}/accept`);
    assert.equal(accepted.status, 200, accepted.text);
  };
  await join();
  const toTeam = await dave.request('PUT', '/hub/api/volumes/Storage/dave/ledger/shares', {
    group: team.json.id,
    access: 'read',
  });
  assert.equal(toTeam.status, 200, toTeam.text);
  await waitFor('the group share in erin’s server', 60_000, async () => {
    return (await inServer('erin', `test -e '${target}/entries.txt'`)).code === 0;
  });
  const left = await erin.delete(`/hub/api/groups/${team.json.id}/members/erin`);
  assert.equal(left.status, 204, left.text);
  await waitFor('the volume gone when erin left the group', 60_000, async () => {
    return (await inServer('erin', `test -e '${target}'`)).code !== 0;
  });
  await join();
  await waitFor('the volume back when erin joined again', 60_000, async () => {
    return (await inServer('erin', `test -e '${target}/entries.txt'`)).code === 0;
  });

  // Shared again, then dave's account removed: his volume leaves erin's server with him.
  const again = await dave.post(`/hub/api/racm/resources/${resource.id}/privileges`, {
    action: 'read',
    user: 'erin',
  });
  assert.equal(again.status, 201, again.text);
  assert.equal((await inServer('erin', `cat '${target}/entries.txt'`)).stdout, 'one\ntwo\n');
  const admin = await signUp(hub.url, 'root2');
  await hub.hub.db.query("UPDATE users SET admin = true WHERE name = 'root2'");
  const removed = await admin.delete('/hub/api/users/dave');
  assert.ok(removed.status < 300, removed.text);
  await waitFor('dave’s volume gone from erin’s server', 60_000, async () => {
    return (await inServer('erin', `test -e '${target}'`)).code !== 0;
  });
  assert.equal((await inServer('erin', `ls ${VOLUMES}/Storage`)).stdout, 'erin\n');

  assert.equal((await erin.delete('/hub/api/users/erin/servers/lab')).status, 204);
  await waitForStatus(erin, 'erin', 'lab', 'gone', 60_000);
});
