/**
 * Path-safe file operations inside a volume, for trees that code in containers writes at the
 * same time. Node has no openat(2), so each step opens the next component relative to the
 * folder opened before it through `/proc/self/fd/<fd>/<name>`: the kernel resolves that from
 * the folder the descriptor holds, not by walking the path string again. Every component is
 * opened with O_NOFOLLOW, so a symlink anywhere in the path (one made after any earlier check
 * too) fails the open with ELOOP/ENOTDIR instead of being followed out of the volume. The last
 * step (open, mkdir, rename, unlink) also names its target relative to the held folder.
 * Linux only (/proc); the hub's hosts are Linux.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Forbidden, Invalid, NotFound } from '../errors.ts';

// libuv opens every file with O_CLOEXEC already: no descriptor leaks into a spawned process.
const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** The path of `name` inside the folder `dir` holds open, resolved by the kernel from that folder. */
export const inDir = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

/** Errors a walk meets, as refusals a client understands. */
export function walkError(err: unknown, shown: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new NotFound('no_such_path', `Nothing at "${shown}"`);
  if (code === 'ELOOP' || code === 'EMLINK')
    return new Forbidden(
      'symlink',
      `"${shown}" goes through a symbolic link; links are not followed`,
    );
  if (code === 'ENOTDIR')
    return new Invalid(
      'not_a_folder',
      `"${shown}" goes through something that is not a folder (or a link)`,
    );
  return err as Error;
}

/** Open a volume's top folder; it must be a real folder, not a link. */
export async function openVolumeRoot(hostPath: string): Promise<FileHandle> {
  try {
    return await fsp.open(hostPath, DIR_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFound('volume_missing', 'The volume’s folder is missing on the server');
    throw walkError(err, '/');
  }
}

/**
 * Open the folder `segments` names under the open folder `root`, one component at a time.
 * The caller closes the handle it gets (which is `root` itself for no segments: not a copy).
 */
export async function openDirAt(root: FileHandle, segments: string[]): Promise<FileHandle> {
  let current = root;
  let walked = '';
  try {
    for (const segment of segments) {
      walked = walked ? `${walked}/${segment}` : segment;
      const next = await fsp.open(inDir(current, segment), DIR_FLAGS).catch(async (err) => {
        // O_DIRECTORY on a link fails with ENOTDIR: say it is a link, the rule that refused.
        const stat = await fsp.lstat(inDir(current, segment)).catch(() => undefined);
        if (stat?.isSymbolicLink()) throw walkError({ code: 'ELOOP' }, walked);
        throw walkError(err, walked);
      });
      if (current !== root) await current.close();
      current = next;
    }
    return current;
  } catch (err) {
    if (current !== root) await current.close();
    throw err;
  }
}

/** Run `work` with the folder `segments` open, closing it after (never closing `root`). */
export async function withDir<T>(
  root: FileHandle,
  segments: string[],
  work: (dir: FileHandle) => Promise<T>,
): Promise<T> {
  const dir = await openDirAt(root, segments);
  try {
    return await work(dir);
  } finally {
    if (dir !== root) await dir.close();
  }
}

/**
 * Open a regular file in `dir` without following a link; anything else is refused. O_NONBLOCK:
 * opening a FIFO a user made in their volume would otherwise wait for a writer, holding one of
 * the hub's few file-system threads for good (a handful of downloads would stall every file
 * operation); opened at once, it is refused below like any other non-file.
 */
export async function openFileIn(
  dir: FileHandle,
  name: string,
  shown: string,
  flags = O_RDONLY,
): Promise<FileHandle> {
  const file = await fsp.open(inDir(dir, name), flags | O_NOFOLLOW | O_NONBLOCK).catch((err) => {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR')
      throw new Invalid('is_a_folder', `"${shown}" is a folder`);
    throw walkError(err, shown);
  });
  const stat = await file.stat();
  if (!stat.isFile()) {
    await file.close();
    throw new Invalid('not_a_file', `"${shown}" is not a regular file`);
  }
  return file;
}

/** lstat of `name` in `dir`, or undefined when there is nothing there. */
export async function lstatIn(dir: FileHandle, name: string) {
  try {
    return await fsp.lstat(inDir(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Bytes of regular files under a folder, never following links; walked by descriptor like
 * everything else, so a link swapped in during the walk is counted as a link (0), not followed.
 */
export async function treeBytes(dir: FileHandle, skip?: string): Promise<number> {
  let total = 0;
  const entries = await fsp.readdir(`/proc/self/fd/${dir.fd}`, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name === skip) continue;
    if (entry.isDirectory()) {
      const child = await fsp.open(inDir(dir, entry.name), DIR_FLAGS).catch(() => undefined);
      if (!child) continue;
      try {
        total += await treeBytes(child);
      } finally {
        await child.close();
      }
    } else if (entry.isFile()) {
      const stat = await fsp.lstat(inDir(dir, entry.name)).catch(() => undefined);
      if (stat?.isFile()) total += stat.size;
    }
  }
  return total;
}

/** Open a folder by its host path (the hub's own folders: quarantine, uploads). */
export function openDirPath(hostPath: string): Promise<FileHandle> {
  return fsp.open(hostPath, DIR_FLAGS);
}
