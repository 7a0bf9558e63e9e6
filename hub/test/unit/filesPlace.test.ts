/**
 * Placing a finished write: a rename that fails with EXDEV (the folder is on another
 * filesystem than the staging area) is a 409 `cross_device`, never a 500; other failures pass
 * through as they are. The real case, a tmpfs mounted inside a volume, is in files.test.ts.
 */
import assert from 'node:assert/strict';
import { constants, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Conflict } from '../../src/errors.ts';
import { FileOps } from '../../src/files/fileOps.ts';
import type { Quotas } from '../../src/files/quota.ts';

let work: string;
before(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'orrery-place-'));
});
after(async () => {
  await fsp.rm(work, { recursive: true, force: true });
});

const failingWith = (code: string) => async () => {
  throw Object.assign(new Error(`${code}: rename`), { code });
};

async function placeWith(rename: (from: string, to: string) => Promise<void>) {
  // place never touches the quotas: settling them is its callers' work.
  const ops = new FileOps({} as Quotas, rename);
  const temp = path.join(work, `temp-${Math.random()}`);
  await fsp.writeFile(temp, 'bytes');
  const folder = await fsp.open(work, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await ops.place(temp, folder, 'placed.txt');
  } finally {
    await folder.close();
  }
}

test('EXDEV is a Conflict cross_device that says nothing was written', async () => {
  await assert.rejects(
    placeWith(failingWith('EXDEV')),
    (err: unknown) =>
      err instanceof Conflict &&
      err.reason === 'cross_device' &&
      /another filesystem/.test(err.message) &&
      /nothing was written/.test(err.message),
  );
  await assert.rejects(fsp.stat(path.join(work, 'placed.txt')));
});

test('other rename failures are not dressed up as EXDEV', async () => {
  await assert.rejects(
    placeWith(failingWith('EIO')),
    (err: unknown) => (err as NodeJS.ErrnoException).code === 'EIO',
  );
});

test('a rename that works places the file', async () => {
  await placeWith(fsp.rename);
  assert.equal(await fsp.readFile(path.join(work, 'placed.txt'), 'utf8'), 'bytes');
});
