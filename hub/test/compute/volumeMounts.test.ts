/**
 * Volumes in running containers, live, on real Docker: the hub applies a user's view (a
 * read-write and a read-only volume) and they appear in a running, unprivileged container; the
 * read-only one refuses writes with EROFS; a volume taken out of the view disappears, even while
 * a process sits in it. The same through a helper container on a second Docker daemon.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  buildContainerSpec,
  connectDocker,
  DockerBackend,
  defaultContainerSpecOptions,
  dockerAvailable,
  type SpawnRequest,
} from '@orrery/spawner';
import { lockDockerTests } from '../../../spawner/test/helpers.ts';
import {
  answers,
  copyImageToSecond,
  SECOND,
  startSecondDaemon,
  stopSecondDaemon,
} from '../../../spawner/test/secondDaemon.ts';
import { DockerHelperMountHost, LocalMountHost } from '../../src/files/mounts/hosts.ts';
import { type MountableVolume, VolumeMounter } from '../../src/files/mounts/mounter.ts';
import { waitFor } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const LAB_IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
/** Small enough to copy to the second daemon quickly; it has nsenter for the helper. */
const BASE_IMAGE = 'orrery/debian-base:bookworm';
const prefix = `orrery-test-vm-${randomBytes(3).toString('hex')}-`;
const top = mkdtempSync('/tmp/orrery-vm-');
const storage = path.join(top, 'volumes', 'storage');
const data = path.join(top, 'volumes', 'data');

/** A volume folder as files-core makes them: owned by the container user, 0770. */
function volumeFolder(root: string, owner: number, id: number, files: Record<string, string>) {
  const folder = path.join(root, String(owner), String(id));
  mkdirSync(folder, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(folder, name), text);
  for (const entry of ['', ...Object.keys(files)]) chownSync(path.join(folder, entry), 1000, 100);
  return folder;
}

const alicePersistent = volumeFolder(storage, 7, 101, { 'notes.txt': 'mine\n' });
const bobShared = volumeFolder(storage, 8, 201, { 'catalog.csv': 'ra,dec\n1,2\n' });
const sdss = volumeFolder(data, 1, 301, { README: 'sdss\n' });

const mine: MountableVolume = {
  root: 'Storage',
  owner: 'alice',
  volume: 'persistent',
  host_path: alicePersistent,
  read_only: false,
};
const shared: MountableVolume = {
  root: 'Storage',
  owner: 'bob',
  volume: 'shared data',
  host_path: bobShared,
  read_only: true,
};
const dataset: MountableVolume = {
  root: 'Data',
  owner: 'admin',
  volume: 'sdss',
  host_path: sdss,
  read_only: true,
};

const IN = '/home/jovyan/volumes';

/** `sh -c script` in `container`; resolves to its exit code and output, never rejects. */
async function inContainer(container: string, script: string, host?: string) {
  try {
    const { stdout, stderr } = await run('docker', [
      ...(host ? ['-H', host] : []),
      'exec',
      container,
      'sh',
      '-c',
      script,
    ]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Start an unprivileged container as the Docker backend would, with the user's view bound. */
async function startContainer(options: {
  image: string;
  views: string;
  host?: string;
  name: string;
}): Promise<string> {
  const request: SpawnRequest = {
    user: { name: options.name, safeName: options.name },
    serverName: '',
    image: options.image,
    env: {},
    workspaceVolume: `${prefix}unused`,
    workspaceHostPath: alicePersistent,
    volumesViewHostPath: path.join(options.views, '7'),
    limits: { memoryBytes: 256 * 1024 * 1024, cpus: 0.5, pids: 64 },
    baseUrl: '/user/alice/',
    authSecret: 'orrery-test-secret-0123456789abcdef',
  };
  const spec = buildContainerSpec(request, {
    ...defaultContainerSpecOptions,
    namePrefix: prefix,
    deployment: `${prefix}deployment`,
    network: 'none',
    bindRoots: [path.join(top, 'volumes'), options.views],
  });
  // No Jupyter and no port: what is under test is the mounts and the privileges.
  spec.Cmd = ['sleep', 'infinity'];
  delete spec.ExposedPorts;
  delete spec.HostConfig?.PortBindings;
  const docker = connectDocker(
    options.host ? { host: '127.0.0.1', port: 23750 } : { socketPath: '/var/run/docker.sock' },
  );
  const container = await docker.createContainer(spec);
  await container.start();
  return spec.name as string;
}

/** Milliseconds from `apply()` starting until `visible` holds in the container. */
async function timeToVisible(apply: () => Promise<void>, visible: () => Promise<boolean>) {
  const started = performance.now();
  await apply();
  await waitFor('the change to show in the container', 10_000, visible);
  return Math.round(performance.now() - started);
}

/** Unmount everything under a test's views root and stage, then remove the folders. */
async function releaseMounts(folder: string) {
  await run('umount', ['-R', folder]).catch(() => undefined);
}

let release: () => void = () => undefined;
const containers: Array<{ name: string; host?: string }> = [];

before(async () => {
  if (available) release = await lockDockerTests();
});

after(async () => {
  try {
    for (const { name, host } of containers) {
      await run('docker', [...(host ? ['-H', host] : []), 'rm', '-f', name]).catch(() => undefined);
    }
    for (const folder of ['views', 'stage', 'views2', 'stage2']) {
      await releaseMounts(path.join(top, folder));
    }
    rmSync(top, { recursive: true, force: true });
  } finally {
    release();
  }
});

/** The checks both hosts share: what appears, what refuses, what disappears. */
async function exerciseView(
  t: { diagnostic(message: string): void },
  mounter: VolumeMounter,
  container: string,
  host?: string,
) {
  const sh = (script: string) => inContainer(container, script, host);

  // Both volumes are there, and nothing else.
  const listing = await sh(`cd ${IN} && find . -mindepth 1 -maxdepth 3 | sort`);
  assert.equal(listing.code, 0, listing.stderr);
  assert.deepEqual(listing.stdout.trim().split('\n'), [
    './Storage',
    './Storage/alice',
    './Storage/alice/persistent',
    './Storage/bob',
    './Storage/bob/shared data',
  ]);
  assert.equal(
    (await sh(`cat "${IN}/Storage/bob/shared data/catalog.csv"`)).stdout,
    'ra,dec\n1,2\n',
  );

  // Read-only is read-only: EROFS, for a new file, an existing one, and a removal.
  for (const write of [
    `echo x > "${IN}/Storage/bob/shared data/new.txt"`,
    `echo x >> "${IN}/Storage/bob/shared data/catalog.csv"`,
    `rm -f "${IN}/Storage/bob/shared data/catalog.csv"`,
  ]) {
    const refused = await sh(write);
    assert.notEqual(refused.code, 0, write);
    assert.match(refused.stderr, /Read-only file system/, write);
  }
  assert.equal(readFileSync(path.join(bobShared, 'catalog.csv'), 'utf8'), 'ra,dec\n1,2\n');

  // The container cannot undo it: no capability, no new privileges, mount refused.
  const status = await sh('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status');
  assert.match(status.stdout, /CapEff:\s+0000000000000000/);
  assert.match(status.stdout, /NoNewPrivs:\s+1/);
  const remount = await sh(`mount -o remount,rw,bind "${IN}/Storage/bob/shared data"`);
  assert.notEqual(remount.code, 0);
  assert.notEqual((await sh(`umount "${IN}/Storage/bob/shared data"`)).code, 0);

  // Read-write works and reaches the host; the workspace is the same Storage folder.
  const token = randomBytes(4).toString('hex');
  const wrote = await sh(`echo ${token} > "${IN}/Storage/alice/persistent/from-${token}.txt"`);
  assert.equal(wrote.code, 0, wrote.stderr);
  assert.equal(readFileSync(path.join(alicePersistent, `from-${token}.txt`), 'utf8'), `${token}\n`);
  assert.equal((await sh(`cat /home/jovyan/work/from-${token}.txt`)).stdout, `${token}\n`);

  // A volume added to the view appears in the running container.
  const added = await timeToVisible(
    () => mounter.applyView(7, [mine, shared, dataset]),
    async () => (await sh(`test -f ${IN}/Data/admin/sdss/README`)).code === 0,
  );
  t.diagnostic(`share to visible in the running container: ${added} ms`);
  assert.notEqual((await sh(`touch ${IN}/Data/admin/sdss/x`)).code, 0);

  // Taken out of the view, it disappears, even with a process sitting in it (lazy unmount).
  await run('docker', [
    ...(host ? ['-H', host] : []),
    'exec',
    '-d',
    container,
    'sh',
    '-c',
    `cd "${IN}/Storage/bob/shared data" && exec sleep 600`,
  ]);
  await waitFor(
    'the process to sit in the share',
    5000,
    async () =>
      (await sh('for p in /proc/[0-9]*; do readlink "$p/cwd"; done | grep -q "shared data"'))
        .code === 0,
  );
  const removed = await timeToVisible(
    () => mounter.applyView(7, [mine, dataset]),
    async () => (await sh(`test -e "${IN}/Storage/bob"`)).code !== 0,
  );
  t.diagnostic(`unshare to gone from the running container: ${removed} ms`);
  const after = await sh(`cd ${IN} && find . -mindepth 1 -maxdepth 3 | sort`);
  assert.deepEqual(after.stdout.trim().split('\n'), [
    './Data',
    './Data/admin',
    './Data/admin/sdss',
    './Storage',
    './Storage/alice',
    './Storage/alice/persistent',
  ]);

  // Applying the same view again changes nothing (idempotent), and read-only can become
  // read-write live.
  await mounter.applyView(7, [mine, dataset]);
  await mounter.applyView(7, [mine, { ...dataset, read_only: false }]);
  await waitFor('the dataset to become writable', 5000, async () => {
    const wrote = await sh(`touch ${IN}/Data/admin/sdss/ok && rm ${IN}/Data/admin/sdss/ok`);
    return wrote.code === 0;
  });
}

describe('volumes in a running container on this machine', { skip }, () => {
  const views = path.join(top, 'views');
  const mounter = new VolumeMounter({
    viewsRoot: views,
    stageRoot: path.join(top, 'stage'),
    sourceRoots: [storage, data],
    hosts: [new LocalMountHost()],
  });

  test('appear, refuse writes when read-only, and go, without a restart', async (t) => {
    await mounter.applyView(7, [mine, shared]);
    const name = await startContainer({ image: LAB_IMAGE, views, name: 'alice' });
    containers.push({ name });
    await exerciseView(t, mounter, name);
  });

  test('reconcile at hub start: views follow viewOf, a stale one is emptied', async () => {
    // User 12 had bob's share, user 13 had the dataset; now 12 sees a re-created volume of the
    // same name (another folder) and 13 sees nothing.
    await mounter.applyView(12, [shared]);
    await mounter.applyView(13, [dataset]);
    const recreated = volumeFolder(storage, 8, 202, { 'new.csv': 'x\n' });
    const failed = await mounter.reconcile([12], async (id) =>
      id === 12 ? [{ ...shared, host_path: recreated }] : [],
    );
    assert.deepEqual([...failed.keys()], []);
    const twelve = await run('ls', [path.join(views, '12', 'Storage', 'bob', 'shared data')]);
    assert.equal(twelve.stdout.trim(), 'new.csv');
    const thirteen = await run('find', [path.join(views, '13'), '-mindepth', '1']);
    assert.equal(thirteen.stdout, '');
    await mounter.forget(12);
    await mounter.forget(13);
    await assert.rejects(run('test', ['-e', path.join(views, '12')]));
  });

  test('a volume outside the root volumes or with a path in its name is refused', async () => {
    await assert.rejects(
      mounter.applyView(9, [
        { ...mine, host_path: '/etc' },
        { ...mine, volume: '../../../etc' },
        { ...mine, host_path: `${storage}/7/../../../../etc` },
      ]),
      (error: Error) => {
        assert.match(error.message, /\/etc is not under a root volume/);
        assert.match(error.message, /not a valid path/);
        return true;
      },
    );
    const { stdout } = await run('find', [path.join(views, '9'), '-mindepth', '1']);
    assert.equal(stdout, '');
  });
});

describe('a server started by the Docker backend', { skip }, () => {
  test('gets its Storage folder as workspace and its view, and no workspace volume', async () => {
    const views = path.join(top, 'views');
    const mounter = new VolumeMounter({
      viewsRoot: views,
      stageRoot: path.join(top, 'stage'),
      sourceRoots: [storage, data],
      hosts: [new LocalMountHost()],
    });
    await mounter.applyView(11, [{ ...shared, owner: 'bob' }]);
    const network = `${prefix}net`;
    const backend = new DockerBackend({
      hosts: [
        {
          name: 'local',
          socketPath: '/var/run/docker.sock',
          bridgeName: `orvm${prefix.slice(15, 21)}`,
        },
      ],
      spec: {
        namePrefix: prefix,
        deployment: `${prefix}backend`,
        network,
        bindRoots: [path.join(top, 'volumes'), views],
      },
    });
    const request: SpawnRequest = {
      user: { name: 'carol', safeName: 'carol' },
      serverName: '',
      image: LAB_IMAGE,
      env: {},
      workspaceVolume: `${prefix}carol-work`,
      workspaceHostPath: alicePersistent,
      volumesViewHostPath: mounter.viewPath(11),
      limits: { memoryBytes: 512 * 1024 * 1024, cpus: 0.5, pids: 128 },
      baseUrl: '/user/carol/',
      authSecret: 'orrery-test-secret-0123456789abcdef',
    };
    const { state } = await backend.start(request);
    try {
      const name = state.containerName;
      const work = await inContainer(name, 'ls /home/jovyan/work && id -u');
      assert.match(work.stdout, /notes\.txt/);
      assert.match(work.stdout, /^1000$/m);
      const view = await inContainer(name, `ls "${IN}/Storage/bob/shared data"`);
      assert.equal(view.stdout.trim(), 'catalog.csv');
      const volumes = await run('docker', ['volume', 'ls', '-q', '--filter', `name=${prefix}`]);
      assert.equal(volumes.stdout.trim(), '', 'no named workspace volume was made');
    } finally {
      await backend.stop(state);
      await run('docker', ['network', 'rm', network]).catch(() => undefined);
      await mounter.forget(11);
    }
  });
});

describe('volumes in a running container on a second Docker host', { skip }, () => {
  let daemonPid: number | undefined;
  const views = path.join(top, 'views2');

  before(async () => {
    if (!(await answers(SECOND))) daemonPid = await startSecondDaemon();
    await copyImageToSecond(BASE_IMAGE);
  });

  after(async () => {
    for (const { name, host } of containers.filter((c) => c.host === SECOND)) {
      await run('docker', ['-H', host as string, 'rm', '-f', name]).catch(() => undefined);
    }
    await run('docker', [
      '-H',
      SECOND,
      'container',
      'prune',
      '-f',
      '--filter',
      `label=org.orrery.view-helper=${prefix}`,
    ]).catch(() => undefined);
    if (daemonPid !== undefined) await stopSecondDaemon(daemonPid);
  });

  test('are mounted on that host by a helper container and behave the same', async (t) => {
    const second = new DockerHelperMountHost(
      'second',
      connectDocker({ host: '127.0.0.1', port: 23750 }),
      BASE_IMAGE,
      prefix,
    );
    const mounter = new VolumeMounter({
      viewsRoot: views,
      stageRoot: path.join(top, 'stage2'),
      sourceRoots: [storage, data],
      hosts: [second],
    });
    await mounter.applyView(7, [mine, shared]);
    const name = await startContainer({ image: BASE_IMAGE, views, host: SECOND, name: 'alice2' });
    containers.push({ name, host: SECOND });
    await exerciseView(t, mounter, name, SECOND);
    const helpers = await run('docker', [
      '-H',
      SECOND,
      'ps',
      '-aq',
      '--filter',
      `label=org.orrery.view-helper=${prefix}`,
    ]);
    assert.equal(helpers.stdout.trim(), '', 'no helper container is left behind');
  });
});
