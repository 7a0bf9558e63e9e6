/** Copying a folder for courses: links inside kept as links, links out and FIFOs left out, the byte cap. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { copyTree, openHubDir } from '../../src/courses/tree.ts';

let base: string;
let source: string;

before(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'course-tree-'));
  source = path.join(base, 'source');
  await fsp.mkdir(path.join(source, 'data', 'deep'), { recursive: true });
  await fsp.writeFile(path.join(source, 'task.ipynb'), '{}');
  await fsp.writeFile(path.join(source, 'data', 'deep', 'big.bin'), Buffer.alloc(5 << 20, 1));
  await fsp.symlink('data/deep/big.bin', path.join(source, 'inside'));
  await fsp.symlink('../../task.ipynb', path.join(source, 'data', 'deep', 'up'));
  await fsp.symlink('../outside.txt', path.join(source, 'escape'));
  await fsp.symlink('/etc/passwd', path.join(source, 'absolute'));
  await fsp.writeFile(path.join(base, 'outside.txt'), 'secret');
  execFileSync('mkfifo', [path.join(source, 'pipe')]);
});

after(async () => {
  await fsp.rm(base, { recursive: true, force: true });
});

async function copy(dest: string, maxBytes?: number) {
  const dir = await openHubDir(source);
  try {
    return await copyTree(dir, path.join(base, dest), maxBytes);
  } finally {
    await dir.close();
  }
}

test('files and folders are copied; links inside stay links; links out and FIFOs are left out', async () => {
  const result = await copy('copy');
  const copied = path.join(base, 'copy');
  assert.equal(result.files, 2);
  assert.equal(result.bytes, 2 + (5 << 20));
  assert.equal(result.skipped, 3, 'escape, absolute, pipe');
  assert.equal(await fsp.readFile(path.join(copied, 'task.ipynb'), 'utf8'), '{}');
  assert.equal((await fsp.stat(path.join(copied, 'data/deep/big.bin'))).size, 5 << 20);
  assert.equal(await fsp.readlink(path.join(copied, 'inside')), 'data/deep/big.bin');
  assert.equal(await fsp.readlink(path.join(copied, 'data/deep/up')), '../../task.ipynb');
  for (const gone of ['escape', 'absolute', 'pipe'])
    await assert.rejects(fsp.lstat(path.join(copied, gone)), { code: 'ENOENT' }, gone);
});

test('more bytes than allowed: refused with quota_exceeded (the big file is streamed and cut)', async () => {
  await assert.rejects(copy('capped', 1 << 20), { status: 413, reason: 'quota_exceeded' });
  await assert.rejects(copy('capped-small', 1), { status: 413 });
});

test('the source must be a real folder, never a link to one', async () => {
  await fsp.symlink(source, path.join(base, 'link-to-source'));
  // O_DIRECTORY | O_NOFOLLOW on a link: ENOTDIR (ELOOP on some kernels); never followed.
  await assert.rejects(
    openHubDir(path.join(base, 'link-to-source')),
    (err: NodeJS.ErrnoException) => ['ENOTDIR', 'ELOOP'].includes(err.code ?? ''),
  );
  await assert.rejects(openHubDir(path.join(base, 'missing')), { reason: 'no_such_path' });
});
