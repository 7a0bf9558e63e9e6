/**
 * Copying folders for courses without ever leaving the source: the source is walked by
 * descriptor with no link followed (files/safeFs.ts), so a link a student swaps in mid-copy
 * is met as a link, never followed. Links that point inside the copied tree are copied as
 * links; any other link, device or socket is left out. Copies are built in a folder only the
 * hub reaches (a staging area on the target's filesystem) and renamed into place whole, so
 * nobody ever sees half a copy and a failed copy leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NotFound } from '../errors.ts';
import { FILE_MODE, FOLDER_MODE, giveToContainerUser } from '../files/disk.ts';
import { quotaExceeded } from '../files/errors.ts';
import { inDir, lstatIn, openDirAt, openFileIn, openVolumeRoot } from '../files/safeFs.ts';
import { linkStaysInside } from './rules.ts';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface CopyResult {
  bytes: number;
  files: number;
  /** Entries left out: links leading outside the tree, devices, sockets, entries that vanished. */
  skipped: number;
}

/**
 * Copy the folder `source` holds open into the new folder `dest` (a hub-only path). Stops with
 * 413 `quota_exceeded` once more than `maxBytes` were read.
 */
export async function copyTree(
  source: FileHandle,
  dest: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<CopyResult> {
  const result: CopyResult = { bytes: 0, files: 0, skipped: 0 };
  await copyInto(source, dest, [], result, maxBytes);
  return result;
}

async function copyInto(
  source: FileHandle,
  dest: string,
  at: string[],
  result: CopyResult,
  maxBytes: number,
): Promise<void> {
  await fsp.mkdir(dest, { mode: FOLDER_MODE });
  await giveToContainerUser(dest);
  const names = await fsp.readdir(`/proc/self/fd/${source.fd}`);
  for (const name of names) {
    const target = path.join(dest, name);
    const stat = await lstatIn(source, name);
    if (stat?.isDirectory()) {
      const child = await fsp.open(inDir(source, name), DIR_FLAGS).catch(() => undefined);
      if (!child) {
        result.skipped++;
        continue;
      }
      try {
        await copyInto(child, target, [...at, name], result, maxBytes);
      } finally {
        await child.close();
      }
    } else if (stat?.isFile()) {
      // A FIFO swapped in after the lstat is opened without waiting, and refused.
      const file = await openFileIn(source, name, [...at, name].join('/')).catch(() => undefined);
      if (!file) {
        result.skipped++;
        continue;
      }
      try {
        await copyFile(file, target, result, maxBytes);
      } finally {
        await file.close();
      }
      await giveToContainerUser(target);
      result.files++;
    } else if (stat?.isSymbolicLink()) {
      const link = await fsp.readlink(inDir(source, name)).catch(() => '');
      if (!linkStaysInside(at, link)) {
        result.skipped++;
        continue;
      }
      await fsp.symlink(link, target);
      await giveToContainerUser(target);
    } else {
      result.skipped++;
    }
  }
}

/** Files up to this size are read whole (two calls), larger ones streamed. */
const WHOLE_FILE_BYTES = 4 << 20;

/** Copy an open file to `target` (a new file), counting its bytes against `maxBytes`. */
async function copyFile(file: FileHandle, target: string, result: CopyResult, maxBytes: number) {
  const count = (bytes: number) => {
    result.bytes += bytes;
    if (result.bytes > maxBytes)
      throw quotaExceeded(`The folder holds more than the ${maxBytes} bytes left`);
  };
  const { size } = await file.stat();
  if (size <= WHOLE_FILE_BYTES) {
    // Per-file overhead dominates small files: one read and one write instead of a stream.
    // The size read at the start, never more: a file someone appends to meanwhile is cut there.
    const data = Buffer.allocUnsafe(size);
    const { bytesRead } = await file.read(data, 0, size, 0);
    count(bytesRead);
    await fsp.writeFile(target, data.subarray(0, bytesRead), { flag: 'wx', mode: FILE_MODE });
    return;
  }
  await pipeline(
    file.createReadStream({ autoClose: false }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        count(chunk.length);
        yield chunk;
      }
    },
    createWriteStream(target, { flags: 'wx', mode: FILE_MODE }),
  );
}

/** Run `work` with the folder at `segments` inside the volume at `hostPath` open. */
export async function withVolumeDir<T>(
  hostPath: string,
  segments: string[],
  work: (dir: FileHandle) => Promise<T>,
): Promise<T> {
  const root = await openVolumeRoot(hostPath);
  try {
    const dir = await openDirAt(root, segments);
    try {
      return await work(dir);
    } finally {
      if (dir !== root) await dir.close();
    }
  } finally {
    await root.close();
  }
}

/**
 * Open the folder `segments` inside the volume at `hostPath`, making missing folders on the
 * way (by descriptor, never through a link), and run `work` with it.
 */
export async function withMadeDir<T>(
  hostPath: string,
  segments: string[],
  work: (dir: FileHandle) => Promise<T>,
): Promise<T> {
  const root = await openVolumeRoot(hostPath);
  let current = root;
  try {
    for (const name of segments) {
      if (!(await lstatIn(current, name))) {
        await fsp.mkdir(inDir(current, name), { mode: FOLDER_MODE }).catch((err) => {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        });
        await giveToContainerUser(inDir(current, name));
      }
      const next = await openDirAt(current, [name]);
      if (current !== root) await current.close();
      current = next;
    }
    return await work(current);
  } finally {
    if (current !== root) await current.close();
    await root.close();
  }
}

/**
 * Build a folder in `staging` with `build`, then put it at `name` in `parent`. When `replace`,
 * what was there is moved aside first (and back if the new one cannot be put in place), its
 * entry `keep` (feedback/) is carried into the new folder, and the rest is removed; otherwise an
 * existing entry wins and the build is thrown away (false). `staging` is on the same filesystem
 * as `parent`.
 */
export async function placeBuilt(
  staging: string,
  parent: FileHandle,
  name: string,
  options: { replace: boolean; keep?: string },
  build: (folder: string) => Promise<void>,
): Promise<boolean> {
  const built = path.join(staging, `course-${randomUUID()}`);
  const aside = path.join(staging, `course-old-${randomUUID()}`);
  try {
    if (!options.replace && (await lstatIn(parent, name))) return false;
    await build(built);
    const moved = options.replace && (await lstatIn(parent, name)) !== undefined;
    if (moved) await fsp.rename(inDir(parent, name), aside);
    try {
      // rename(2) would replace an empty folder made meanwhile; a full one refuses (ENOTEMPTY).
      await fsp.rename(built, inDir(parent, name));
    } catch (err) {
      if (moved) await fsp.rename(aside, inDir(parent, name));
      const code = (err as NodeJS.ErrnoException).code;
      if (!options.replace && (code === 'ENOTEMPTY' || code === 'EEXIST')) return false;
      throw err;
    }
    if (moved && options.keep) {
      const kept = await fsp.lstat(path.join(aside, options.keep)).catch(() => undefined);
      // Renamed into the folder just placed, opened without following a link swapped in for it.
      if (kept?.isDirectory() || kept?.isFile()) {
        const placed = await openDirAt(parent, [name]);
        try {
          await fsp.rename(path.join(aside, options.keep), inDir(placed, options.keep));
        } finally {
          await placed.close();
        }
      }
    }
    return true;
  } finally {
    await fsp.rm(built, { recursive: true, force: true });
    await fsp.rm(aside, { recursive: true, force: true });
  }
}

/** Open a folder of the hub's own (a release or a snapshot), never through a link. */
export async function openHubDir(hostPath: string): Promise<FileHandle> {
  try {
    return await fsp.open(hostPath, DIR_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFound('no_such_path', 'The stored copy is missing');
    throw err;
  }
}
