/**
 * Quotas enforced by the filesystem inside unprivileged containers: on a loop-mounted btrfs
 * (qgroups) and, where the kernel has quota formats, an ext4 with `prjquota`, a write beyond a
 * volume's limit fails in the container with EDQUOT; raising the limit lets it through, live. On
 * a filesystem without quotas the enforcer says it cannot, and the hub measures instead.
 * Needs root, loop devices, btrfs-progs and quota (scripts/provision-docker.sh).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import { quotaEnforcerFor } from '../../src/files/mounts/quota.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const IMAGE = 'orrery/debian-base:bookworm';
const MiB = 1024 * 1024;
const top = mkdtempSync('/tmp/orrery-quota-');
const mounted: string[] = [];

after(async () => {
  for (const mountPoint of mounted.reverse()) {
    await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
  }
  rmSync(top, { recursive: true, force: true });
});

/** A filesystem of `type` in a 256 MiB image, loop-mounted at `<top>/<name>`; its mount point. */
async function loopFilesystem(name: string, mkfs: string[], options: string[]): Promise<string> {
  const image = path.join(top, `${name}.img`);
  const mountPoint = path.join(top, name);
  mkdirSync(mountPoint);
  await run('truncate', ['-s', '256M', image]);
  await run(mkfs[0] as string, [...mkfs.slice(1), image]);
  await run('mount', ['-o', ['loop', ...options].join(','), image, mountPoint]);
  mounted.push(mountPoint);
  return mountPoint;
}

/** A volume folder as files-core makes it: `<root>/<owner>/<volume>`, 1000:100, 0770. */
function volumeFolder(root: string): string {
  const folder = path.join(root, '7', '101');
  mkdirSync(folder, { recursive: true, mode: 0o770 });
  chownSync(path.join(root, '7'), 1000, 100);
  chownSync(folder, 1000, 100);
  chmodSync(folder, 0o770);
  return folder;
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

async function exerciseLimit(root: string, mechanism: string) {
  const quotas = await quotaEnforcerFor(root);
  assert.equal(quotas.supported, true);
  assert.equal(quotas.mechanism, mechanism);
  const folder = volumeFolder(root);
  assert.equal(await quotas.setLimit(folder, 8 * MiB), true);
  const kept = statSync(folder);
  assert.deepEqual([kept.uid, kept.gid, kept.mode & 0o7777], [1000, 100, 0o770]);

  const over = await writeInContainer(folder, 'big', 16);
  assert.notEqual(over.code, 0);
  assert.match(over.stderr, /Disk quota exceeded/);
  const usage = await quotas.usage(folder);
  assert.equal(usage?.limit_bytes, 8 * MiB);
  assert.ok((usage?.bytes ?? 0) <= 8 * MiB, `usage ${usage?.bytes} within the limit`);
  assert.ok((usage?.bytes ?? 0) >= 4 * MiB, `usage ${usage?.bytes} counts what was written`);

  // Raised while the volume is in use: the same write now fits.
  await run('rm', ['-f', path.join(folder, 'big')]);
  assert.equal(await quotas.setLimit(folder, 64 * MiB), true);
  const fits = await writeInContainer(folder, 'big', 16);
  assert.equal(fits.code, 0, fits.stderr);
  assert.equal((await quotas.usage(folder))?.limit_bytes, 64 * MiB);
}

describe('quotas in containers', { skip }, () => {
  test('btrfs qgroups: a write beyond the limit fails with EDQUOT in the container', async () => {
    const root = await loopFilesystem('btrfs', ['mkfs.btrfs', '-q'], []);
    await run('btrfs', ['quota', 'enable', root]);
    await exerciseLimit(root, 'btrfs-qgroup');
  });

  test('ext4 project quotas: a write beyond the limit fails with EDQUOT in the container', async (t) => {
    const root = path.join(top, 'ext4');
    try {
      await loopFilesystem('ext4', ['mkfs.ext4', '-q', '-O', 'quota,project'], ['prjquota']);
    } catch (error) {
      // Only a kernel built without quota formats (CONFIG_QFMT_V2) cannot mount this.
      const { stdout } = await run('sh', ['-c', 'dmesg | tail -n 5']).catch(() => ({ stdout: '' }));
      if (/not built with CONFIG_QUOTA and CONFIG_QFMT_V2/.test(stdout)) {
        t.skip(
          'this kernel has no quota formats (CONFIG_QFMT_V2): ext4 project quotas cannot work',
        );
        return;
      }
      throw error;
    }
    await exerciseLimit(root, 'project-quota');
  });

  test('a filesystem without quotas: nothing enforced, the hub measures', async () => {
    const plain = path.join(top, 'plain');
    mkdirSync(plain);
    const quotas = await quotaEnforcerFor(plain);
    assert.equal(quotas.supported, false);
    assert.equal(quotas.mechanism, 'none');
    const folder = volumeFolder(plain);
    assert.equal(await quotas.setLimit(folder, 8 * MiB), false);
    assert.equal(await quotas.usage(folder), null);

    // btrfs without `btrfs quota enable` counts as no quotas too.
    const bare = await loopFilesystem('bare', ['mkfs.btrfs', '-q'], []);
    assert.equal((await quotaEnforcerFor(bare)).supported, false);
  });
});
