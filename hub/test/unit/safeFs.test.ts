/** Opening files in users' volumes: a FIFO or a link is refused at once, a file opens. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openDirPath, openFileIn } from '../../src/files/safeFs.ts';

let base: string;

before(async () => {
  base = await fsp.mkdtemp(path.join(os.tmpdir(), 'safe-fs-'));
  await fsp.writeFile(path.join(base, 'notes.txt'), 'hello');
  await fsp.symlink('/etc/passwd', path.join(base, 'link'));
  execFileSync('mkfifo', [path.join(base, 'pipe')]);
});

after(async () => {
  await fsp.rm(base, { recursive: true, force: true });
});

// Without O_NONBLOCK the FIFO's open waits for a writer that never comes: the test's timeout
// turns that hang into a failure.
test('a FIFO is refused without waiting for a writer', { timeout: 10_000 }, async () => {
  const dir = await openDirPath(base);
  try {
    await assert.rejects(openFileIn(dir, 'pipe', 'pipe'), { reason: 'not_a_file' });
    await assert.rejects(openFileIn(dir, 'link', 'link'));
    const file = await openFileIn(dir, 'notes.txt', 'notes.txt');
    assert.equal(await file.readFile('utf8'), 'hello');
    await file.close();
  } finally {
    await dir.close();
  }
});
