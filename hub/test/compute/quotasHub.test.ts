/**
 * The Storage quota enforced inside containers by the hub itself, end to end: a hub whose
 * Storage root is on a loop-mounted btrfs with quotas on makes each owner's folder a subvolume
 * limited to their quota; writes through the API still land (staging and the delete holding
 * area are inside that subvolume, so renames never cross it); a write from a real unprivileged
 * container beyond the quota fails with EDQUOT while the hub's measured quota warns and refuses
 * as before; an admin's quota change moves the limit; a removed account's subvolume goes.
 * Needs root, Docker, loop devices and btrfs-progs: in CI (CI=true) their absence fails this
 * test, elsewhere it skips saying why. The loop device is always unmounted and detached.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import pg from 'pg';
import { filesModule } from '../../src/files/module.ts';
import { quotaEnforcerFor } from '../../src/files/mounts/quota.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const QUOTA = 16 * MiB;
const IMAGE = 'orrery/debian-base:bookworm';
const API = '/hub/api';

/** Why this machine cannot run the test, or null when it can. */
async function missing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'loop mounts need root';
  if (!(await dockerAvailable())) return 'no Docker daemon answers';
  for (const tool of ['losetup', 'mkfs.btrfs', 'btrfs']) {
    const found = await run('sh', ['-c', `command -v ${tool}`]).then(
      () => true,
      () => false,
    );
    if (!found) return `${tool} is not installed (btrfs-progs, util-linux)`;
  }
  const loop = await run('losetup', ['--find']).then(
    () => true,
    () => false,
  );
  return loop ? null : 'no loop device is free or loop devices are not available';
}

const reason = await missing();
if (reason && process.env.CI === 'true') throw new Error(`required in CI: ${reason}`);

let top = '';
let loopDevice = '';
let mountPoint = '';
let hub: TestHub | undefined;
let db: pg.Pool | undefined;
let alice: Client;
let admin: Client;
let root = '';
let owner = '';

async function put(client: Client, volume: string, file: string, data: Uint8Array) {
  const res = await fetch(`${hub!.url}${API}/files/${volume}/content?path=${file}`, {
    method: 'PUT',
    headers: {
      ...client.authHeaders(),
      'x-xsrftoken': client.xsrf!,
      'content-type': 'application/octet-stream',
    },
    body: data as BodyInit,
  });
  return { status: res.status, json: await res.json() };
}

/** Write `mib` MiB into `folder` from an unprivileged container; its exit code and stderr. */
async function writeInContainer(folder: string, file: string, mib: number) {
  try {
    await run('docker', [
      'run',
      '--rm',
      '--user',
      '1000:100',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--network',
      'none',
      '--mount',
      `type=bind,src=${folder},dst=/home/jovyan/work`,
      IMAGE,
      'dd',
      'if=/dev/zero',
      `of=/home/jovyan/work/${file}`,
      'bs=1M',
      `count=${mib}`,
      'conv=fsync',
    ]);
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

const storageUsage = async () =>
  (await alice.get(`${API}/users/alice/files/usage`)).json.roots.find(
    (r: { root: string }) => r.root === 'Storage',
  );

describe('the Storage quota in containers, set by the hub on btrfs', {
  skip: reason ?? false,
}, () => {
  before(async () => {
    top = await fsp.mkdtemp(path.join(tmpdir(), 'orrery-btrfs-'));
    const image = path.join(top, 'storage.img');
    mountPoint = path.join(top, 'mnt');
    await fsp.mkdir(mountPoint);
    await run('truncate', ['-s', '256M', image]);
    await run('mkfs.btrfs', ['-q', image]);
    loopDevice = (await run('losetup', ['--find', '--show', image])).stdout.trim();
    await run('mount', [loopDevice, mountPoint]);
    await run('btrfs', ['quota', 'enable', mountPoint]);
    root = path.join(mountPoint, 'storage');
    hub = await startTestHub('files_btrfs', {
      files: {
        rootVolumes: [{ name: 'Storage', path: root, quota_bytes: QUOTA, backed_up: true }],
        quarantineDays: 7,
        sweepSeconds: 3600,
        maxVolumesPerUser: 100,
      },
    });
    db = new pg.Pool({ connectionString: hub.databaseUrl });
    alice = await signUp(hub.url, 'alice');
    admin = await signUp(hub.url, 'root1');
    await db.query(`UPDATE users SET admin = true WHERE name = 'root1'`);
    assert.equal((await alice.get(`${API}/volumes`)).status, 200);
    const { rows } = await db.query(`SELECT id FROM users WHERE name = 'alice'`);
    owner = path.join(root, String(rows[0].id));
  });

  after(async () => {
    await db?.end();
    await hub?.stop();
    if (mountPoint) {
      await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
    }
    if (loopDevice) await run('losetup', ['-d', loopDevice]);
    if (top) await fsp.rm(top, { recursive: true, force: true });
  });

  test('a new owner folder is a subvolume limited to the owner’s quota', async () => {
    const files = hub!.modules.serviceOf(filesModule);
    assert.equal(files.limits.mechanism(files.volumes.root('Storage')), 'btrfs-qgroup');
    await run('btrfs', ['subvolume', 'show', owner]);
    // Owner and mode kept: those of a plain folder made the same way (a volume's).
    const kept = await fsp.stat(owner);
    const volume = await fsp.stat(
      path.join(owner, (await fsp.readdir(owner)).find((n) => n !== '.orrery')!),
    );
    assert.deepEqual([kept.uid, kept.gid, kept.mode], [1000, 100, volume.mode]);
    assert.equal((await fsp.stat(path.join(owner, '.orrery'))).mode & 0o777, 0o700);
    const usage = await (await quotaEnforcerFor(root)).usage(owner);
    assert.equal(usage?.limit_bytes, QUOTA);
  });

  test('writes, folder deletes and volume deletes through the hub stay inside the subvolume', async () => {
    // Staged in the owner's area and renamed into place: no EXDEV across the subvolume.
    const written = await put(alice, 'Storage/alice/persistent', 'a.bin', Buffer.alloc(MiB, 1));
    assert.equal(written.status, 201, JSON.stringify(written.json));
    const made = await alice.post(`${API}/files/Storage/alice/persistent/folders`, {
      path: 'folder',
    });
    assert.equal(made.status, 201, made.text);
    const inside = await put(alice, 'Storage/alice/persistent', 'folder/b.bin', Buffer.alloc(10));
    assert.equal(inside.status, 201);
    const gone = await alice.delete(`${API}/files/Storage/alice/persistent/content?path=folder`);
    assert.equal(gone.status, 204, gone.text);
    const created = await alice.post(`${API}/volumes/Storage`, { name: 'scratch' });
    assert.equal(created.status, 201, created.text);
    const deleted = await alice.delete(`${API}/volumes/Storage/alice/scratch`);
    assert.equal(deleted.status, 204, deleted.text);
    const held = await fsp.readdir(path.join(owner, '.orrery', 'quarantine'));
    assert.ok(held.some((entry) => entry.includes('volume-')));
    assert.deepEqual(await fsp.readdir(path.join(owner, '.orrery', 'uploads')), []);
  });

  test('a container write beyond the quota fails with EDQUOT; the hub warns and refuses', async () => {
    const volume = path.join(owner, (await fsp.readdir(owner)).find((n) => n !== '.orrery')!);
    const over = await writeInContainer(volume, 'big', 24);
    assert.notEqual(over.code, 0);
    assert.match(over.stderr, /Disk quota exceeded/);
    // The measured path: the rescan sees what the container left, the hub warns and refuses.
    await hub!.modules.serviceOf(filesModule).sweeper.rescan();
    const usage = await storageUsage();
    assert.equal(usage.warning, true, JSON.stringify(usage));
    const refused = await put(alice, 'Storage/alice/persistent', 'c.bin', Buffer.alloc(4 * MiB));
    assert.equal(refused.status, 413);
    assert.equal(refused.json.error, 'quota_exceeded');
    await fsp.rm(path.join(volume, 'big'));
  });

  test('an admin’s quota change moves the limit, live', async () => {
    const volume = path.join(owner, (await fsp.readdir(owner)).find((n) => n !== '.orrery')!);
    const raised = await admin.request('PUT', `${API}/users/alice/files/quota`, {
      root: 'Storage',
      quota_bytes: 64 * MiB,
    });
    assert.equal(raised.status, 200, raised.text);
    const enforcer = await quotaEnforcerFor(root);
    assert.equal((await enforcer.usage(owner))?.limit_bytes, 64 * MiB);
    const fits = await writeInContainer(volume, 'big', 24);
    assert.equal(fits.code, 0, fits.stderr);
    await fsp.rm(path.join(volume, 'big'));
    const reset = await admin.request('PUT', `${API}/users/alice/files/quota`, {
      root: 'Storage',
      quota_bytes: null,
    });
    assert.equal(reset.status, 200, reset.text);
    assert.equal((await enforcer.usage(owner))?.limit_bytes, QUOTA);
  });

  test('two first uses at once make one limited subvolume', async () => {
    const bob = await signUp(hub!.url, 'bob');
    const answers = await Promise.all([1, 2, 3].map(() => bob.get(`${API}/volumes`)));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    const { rows } = await db!.query(`SELECT id FROM users WHERE name = 'bob'`);
    const folder = path.join(root, String(rows[0].id));
    await run('btrfs', ['subvolume', 'show', folder]);
    assert.equal((await (await quotaEnforcerFor(root)).usage(folder))?.limit_bytes, QUOTA);
    assert.equal(
      (await fsp.readdir(folder)).filter((n) => n !== '.orrery').length,
      1,
      'one persistent volume',
    );
  });

  test('a removed account’s subvolume goes to quarantine and then away', async () => {
    assert.equal((await admin.delete(`${API}/users/alice`)).status, 204);
    await assert.rejects(fsp.stat(owner));
    const files = hub!.modules.serviceOf(filesModule);
    const sweeper = files.sweeper as unknown as { clock: () => Date };
    const realClock = sweeper.clock;
    sweeper.clock = () => new Date(Date.now() + 8 * 86_400_000);
    try {
      await files.sweeper.sweep();
    } finally {
      sweeper.clock = realClock;
    }
    assert.deepEqual(await fsp.readdir(path.join(root, '.orrery', 'quarantine')), []);
    const { stdout } = await run('btrfs', ['subvolume', 'list', mountPoint]);
    const left = stdout
      .split('\n')
      .filter((line) => line.endsWith(` path storage/${path.basename(owner)}`));
    assert.deepEqual(left, [], 'the removed account’s subvolume is gone');
  });
});
