/**
 * Old workspaces move into the user's Storage folder without loss: a real old-style workspace
 * volume holding files (owners, modes, a symbolic link, a hidden file, nested folders) is copied
 * by a helper container into the empty Storage folder and kept; a folder that already has files
 * is left alone; an interrupted copy is finished or redone. Also the local backend's folder.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { connectDocker, dockerAvailable } from '@orrery/spawner';
import { lockDockerTests } from '../../../spawner/test/helpers.ts';
import { migrateDockerWorkspace, migrateLocalWorkspace } from '../../src/files/mounts/workspace.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const IMAGE = 'orrery/debian-base:bookworm';
const prefix = `orrery-test-wm-${randomBytes(3).toString('hex')}-`;
const oldVolume = `${prefix}alice-work`;
const top = mkdtempSync('/tmp/orrery-wm-');
const docker = connectDocker({ socketPath: '/var/run/docker.sock' });
const labels = { 'org.orrery.test': prefix };

/** An empty Storage folder as files-core makes it: 1000:100, 0770. */
function storageFolder(name: string): string {
  const folder = path.join(top, 'storage', '7', name);
  mkdirSync(folder, { recursive: true, mode: 0o770 });
  chownSync(folder, 1000, 100);
  return folder;
}

/** The old workspace as a server left it: the user's files, and one root made. */
const FILL = [
  'set -e',
  'cd /w',
  'echo "my notes" > notes.txt && chown 1000:100 notes.txt && chmod 0644 notes.txt',
  'echo secret > private.key && chown 1000:1000 private.key && chmod 0600 private.key',
  'echo dot > .hidden && chown 1000:100 .hidden',
  'mkdir -p sub/deep && echo deep > sub/deep/file.txt && chown -R 1000:100 sub && chmod 2750 sub',
  'ln -s notes.txt link-to-notes && chown -h 1000:100 link-to-notes',
  'echo root > by-root.txt && chmod 0640 by-root.txt',
  'touch -d "2020-01-02 03:04:05" notes.txt',
].join('\n');

let release: () => void = () => undefined;

before(async () => {
  if (!available) return;
  // The spawner's Docker tests sweep every orrery-test-* volume: not while this one is in use.
  release = await lockDockerTests();
  await docker.createVolume({ Name: oldVolume, Labels: labels });
  await run('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${oldVolume}:/w`,
    IMAGE,
    'sh',
    '-c',
    FILL,
  ]);
});

after(async () => {
  try {
    await run('docker', ['volume', 'rm', '-f', oldVolume]).catch(() => undefined);
    rmSync(top, { recursive: true, force: true });
  } finally {
    release();
  }
});

/** Owner, mode and kind of every entry under `folder`, by relative path. */
function inventory(folder: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(folder, relative))) {
      const entry = path.join(relative, name);
      const info = lstatSync(path.join(folder, entry));
      const kind = info.isSymbolicLink() ? `-> ${readlinkSync(path.join(folder, entry))}` : '';
      found[entry] = `${info.uid}:${info.gid} ${(info.mode & 0o7777).toString(8)} ${kind}`.trim();
      if (info.isDirectory()) walk(entry);
    }
  };
  walk('');
  return found;
}

const EXPECTED = {
  '.hidden': '1000:100 644',
  'by-root.txt': '0:0 640',
  'link-to-notes': '1000:100 777 -> notes.txt',
  'notes.txt': '1000:100 644',
  'private.key': '1000:1000 600',
  sub: '1000:100 2750',
  'sub/deep': '1000:100 755',
  'sub/deep/file.txt': '1000:100 644',
};

describe('migrating an old Docker workspace volume', { skip }, () => {
  test('copies everything into the empty Storage folder and keeps the old volume', async () => {
    const target = storageFolder('101');
    assert.equal(
      await migrateDockerWorkspace({ docker, oldVolume, target, image: IMAGE, labels }),
      'copied',
    );
    assert.deepEqual(inventory(target), EXPECTED);
    assert.equal(readFileSync(path.join(target, 'sub/deep/file.txt'), 'utf8'), 'deep\n');
    assert.equal(readFileSync(path.join(target, 'private.key'), 'utf8'), 'secret\n');
    assert.equal(
      lstatSync(path.join(target, 'notes.txt')).mtime.toISOString().slice(0, 10),
      '2020-01-02',
    );
    // The old volume is kept, untouched, for an operator to remove.
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${oldVolume}:/w:ro`,
      IMAGE,
      'ls',
      '-A',
      '/w',
    ]);
    assert.deepEqual(
      stdout.trim().split('\n').sort(),
      Object.keys(EXPECTED)
        .filter((k) => !k.includes('/'))
        .sort(),
    );

    // The next start: the folder has files now, nothing is copied again.
    writeFileSync(path.join(target, 'notes.txt'), 'changed since\n');
    assert.equal(
      await migrateDockerWorkspace({ docker, oldVolume, target, image: IMAGE, labels }),
      'target_not_empty',
    );
    assert.equal(readFileSync(path.join(target, 'notes.txt'), 'utf8'), 'changed since\n');
    assert.deepEqual(Object.keys(inventory(target)).sort(), Object.keys(EXPECTED).sort());
    const helpers = await run('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=org.orrery.test=${prefix}`,
    ]);
    assert.equal(helpers.stdout.trim(), '', 'no helper container is left behind');
  });

  test('leaves a Storage folder that already has files alone', async () => {
    const target = storageFolder('102');
    writeFileSync(path.join(target, 'already.txt'), 'here\n');
    assert.equal(
      await migrateDockerWorkspace({ docker, oldVolume, target, image: IMAGE, labels }),
      'target_not_empty',
    );
    assert.deepEqual(readdirSync(target), ['already.txt']);
  });

  test('finishes a copy that was complete, redoes one that was not', async () => {
    const finished = storageFolder('103');
    mkdirSync(path.join(finished, '.orrery-migration-copied'));
    writeFileSync(path.join(finished, '.orrery-migration-copied', 'moved.txt'), 'x');
    writeFileSync(path.join(finished, 'notes.txt'), 'moved before the crash');
    assert.equal(
      await migrateDockerWorkspace({ docker, oldVolume, target: finished, image: IMAGE, labels }),
      'copied',
    );
    assert.deepEqual(readdirSync(finished).sort(), ['moved.txt', 'notes.txt']);

    const partial = storageFolder('104');
    mkdirSync(path.join(partial, '.orrery-migration'));
    writeFileSync(path.join(partial, '.orrery-migration', 'notes.txt'), 'half');
    assert.equal(
      await migrateDockerWorkspace({ docker, oldVolume, target: partial, image: IMAGE, labels }),
      'copied',
    );
    assert.deepEqual(inventory(partial), EXPECTED);
    assert.equal(readFileSync(path.join(partial, 'notes.txt'), 'utf8'), 'my notes\n');
  });

  test('does nothing without an old volume', async () => {
    const target = storageFolder('105');
    assert.equal(
      await migrateDockerWorkspace({
        docker,
        oldVolume: `${prefix}nobody-work`,
        target,
        image: IMAGE,
        labels,
      }),
      'no_old_workspace',
    );
    assert.deepEqual(readdirSync(target), []);
    await assert.rejects(docker.getVolume(`${prefix}nobody-work`).inspect());
  });
});

describe('migrating a local workspace folder', () => {
  test('copies it, owned by the container user, and keeps it', async () => {
    const old = path.join(top, 'workspaces', 'alice', 'work');
    mkdirSync(path.join(old, 'sub'), { recursive: true });
    writeFileSync(path.join(old, 'a.txt'), 'a\n');
    writeFileSync(path.join(old, 'sub', 'b.txt'), 'b\n');
    symlinkSync('a.txt', path.join(old, 'link'));
    for (const entry of ['', 'a.txt', 'sub', 'sub/b.txt'])
      chownSync(path.join(old, entry), 4321, 4321);
    const target = storageFolder('201');
    assert.equal(await migrateLocalWorkspace(old, target), 'copied');
    const found = inventory(target);
    assert.deepEqual(Object.keys(found).sort(), ['a.txt', 'link', 'sub', 'sub/b.txt']);
    for (const entry of Object.values(found)) assert.match(entry, /^1000:100 /);
    assert.match(found['link'] ?? '', /-> a\.txt$/);
    assert.equal(readFileSync(path.join(old, 'a.txt'), 'utf8'), 'a\n');
    assert.equal(await migrateLocalWorkspace(old, target), 'target_not_empty');
    assert.equal(
      await migrateLocalWorkspace(path.join(top, 'nowhere'), storageFolder('202')),
      'no_old_workspace',
    );
  });
});
