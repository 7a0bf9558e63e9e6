/**
 * The files API's work on disk: list, download (ranges), upload (whole or resumable), make a
 * folder, move/rename, delete. Every path is checked (names.ts) and walked by descriptor with
 * no link followed (safeFs.ts). Writes land in the root's hidden upload area and are renamed
 * into place when complete, so nobody ever sees half a file; their bytes are reserved against
 * the owner's quota first and given back if the write fails.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fsp, lstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Conflict, Invalid, NotFound } from '../errors.ts';
import type { RootVolumeConfig } from './config.ts';
import { FILE_MODE, FOLDER_MODE, giveToContainerUser, stagingArea } from './disk.ts';
import { diskFull, isNoSpace } from './errors.ts';
import { pathSegments } from './names.ts';
import type { Quotas } from './quota.ts';
import {
  inDir,
  lstatIn,
  openDirAt,
  openFileIn,
  openVolumeRoot,
  treeBytes,
  withDir,
} from './safeFs.ts';
import type { ResolvedVolume } from './volumes.ts';

/** Entries lstat-ed between two turns of the event loop when listing a folder. */
const LIST_SLICE = 1000;

export interface Entry {
  name: string;
  type: 'file' | 'folder' | 'link' | 'other';
  size: number;
  mtime: string;
}

/** A checked path: its folder's segments and its last name. */
function split(raw: string): { dir: string[]; name: string; shown: string } {
  const segments = pathSegments(raw);
  const name = segments.pop();
  if (name === undefined)
    throw new Invalid(
      'volume_itself',
      'This needs a path inside the volume, not the volume itself',
    );
  return { dir: segments, name, shown: [...segments, name].join('/') };
}

const typeOf = (stat: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}): Entry['type'] =>
  stat.isFile() ? 'file' : stat.isDirectory() ? 'folder' : stat.isSymbolicLink() ? 'link' : 'other';

async function withVolume<T>(
  volume: ResolvedVolume,
  work: (root: FileHandle) => Promise<T>,
): Promise<T> {
  const root = await openVolumeRoot(volume.hostPath);
  try {
    return await work(root);
  } finally {
    await root.close();
  }
}

/** A write into a folder that is on another filesystem than its volume. */
const otherFilesystem = () =>
  new Conflict(
    'cross_device',
    'That folder is on another filesystem than its volume (a mount or a subvolume made inside it); the hub writes files only on the volume’s own filesystem, and nothing was written',
  );

/** A failed write's cause as the answer: a full disk is 507, never a 500. */
function writeError(err: unknown): unknown {
  return isNoSpace(err) ? diskFull() : err;
}

export class FileOps {
  constructor(
    private readonly quotas: Quotas,
    /** rename(2); a unit test passes one that fails as another filesystem would. */
    private readonly rename: (from: string, to: string) => Promise<void> = fsp.rename,
  ) {}

  /** A folder's entries (name, type, size, mtime); links are shown as links, never followed. */
  async list(volume: ResolvedVolume, rawPath: string): Promise<Entry[]> {
    const segments = pathSegments(rawPath);
    return withVolume(volume, (root) =>
      withDir(root, segments, async (dir) => {
        const names = await fsp.readdir(`/proc/self/fd/${dir.fd}`);
        const entries: Entry[] = [];
        // lstat synchronously in slices of 1,000, yielding between them: a thread-pool round
        // trip per entry costs more than the lstat itself (bench/files.ts: 10,000 entries in
        // about half the time), and no slice holds the event loop for long.
        for (let i = 0; i < names.length; i += LIST_SLICE) {
          if (i > 0) await new Promise((resolve) => setImmediate(resolve));
          for (const name of names.slice(i, i + LIST_SLICE)) {
            const stat = lstatSync(inDir(dir, name), { throwIfNoEntry: false });
            if (stat)
              entries.push({
                name,
                type: typeOf(stat),
                size: stat.isFile() ? stat.size : 0,
                mtime: stat.mtime.toISOString(),
              });
          }
        }
        return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }),
    );
  }

  /** Open a file for download; the caller streams it and closes the handle. */
  async openForRead(
    volume: ResolvedVolume,
    rawPath: string,
  ): Promise<{ file: FileHandle; size: number; mtime: Date; name: string }> {
    const { dir, name, shown } = split(rawPath);
    return withVolume(volume, (root) =>
      withDir(root, dir, async (folder) => {
        const file = await openFileIn(folder, name, shown);
        const stat = await file.stat();
        return { file, size: stat.size, mtime: stat.mtime, name };
      }),
    );
  }

  /**
   * Write a whole file from a stream. `declared` (Content-Length) is checked against the quota
   * before a byte is read; without it, the stream is counted and cut at the quota. The file
   * appears at `rawPath` only once complete (rename from the hidden upload area).
   */
  async upload(
    volume: ResolvedVolume,
    rawPath: string,
    body: Readable,
    declared: number | null,
    overwrite: boolean,
  ): Promise<Entry> {
    const { dir, name, shown } = split(rawPath);
    const rootConfig = volume.rootConfig!;
    return withVolume(volume, (root) =>
      withDir(root, dir, async (folder) => {
        const existing = await lstatIn(folder, name);
        if (existing && !overwrite)
          throw new Conflict('exists', `"${shown}" exists; send overwrite=true to replace it`);
        if (existing && !existing.isFile())
          throw new Conflict('not_a_file', `"${shown}" exists and is not a file`);
        const replaced = existing?.size ?? 0;
        const temp = path.join(
          await stagingArea(rootConfig, Number(volume.ownerId)),
          `put-${randomUUID()}`,
        );
        let reserved = 0;
        try {
          if (declared !== null && declared > replaced) {
            await this.quotas.reserve(volume.ownerId!, rootConfig, declared - replaced);
            reserved = declared - replaced;
          }
          const written = await this.receive(body, temp, 'w', async (total) => {
            // No length given: reserve as the bytes come, a MiB at a time.
            if (declared === null && total - replaced > reserved) {
              const more = Math.max(total - replaced - reserved, 1 << 20);
              await this.quotas.reserve(volume.ownerId!, rootConfig, more);
              reserved += more;
            } else if (declared !== null && total > declared) {
              throw new Invalid('length_mismatch', 'The body is longer than its Content-Length');
            }
          });
          if (declared !== null && written !== declared)
            throw new Invalid('length_mismatch', 'The body ended before its Content-Length');
          await this.place(temp, folder, name);
          // Settle the reservation to what the change really takes (a smaller file frees bytes).
          const settle = written - replaced - reserved;
          reserved = 0;
          await this.quotas.adjust(volume.ownerId!, rootConfig, settle);
          const stat = (await lstatIn(folder, name))!;
          return { name, type: 'file', size: stat.size, mtime: stat.mtime.toISOString() };
        } catch (err) {
          await fsp.rm(temp, { force: true });
          if (reserved > 0) await this.quotas.release(volume.ownerId!, rootConfig, reserved);
          throw writeError(err);
        }
      }),
    );
  }

  /** Copy a stream into `target`, calling `onBytes(total)` per chunk (it may throw to stop). */
  async receive(
    body: Readable,
    target: string,
    flags: 'w' | 'a',
    onBytes: (total: number) => Promise<void>,
    start = 0,
  ): Promise<number> {
    let total = start;
    // A deep buffer lets the stream hand the disk several network chunks per writev(2).
    const out = createWriteStream(target, { flags, mode: 0o600, highWaterMark: 4 << 20 });
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          total += chunk.length;
          await onBytes(total);
          yield chunk;
        }
      },
      out,
    );
    return total;
  }

  /**
   * Move a finished temp file into its folder, owned by the container user. The temp file is
   * on the volume's own filesystem; a folder on another one (a mount, or a btrfs subvolume that
   * code in a container made inside the volume) fails the rename with EXDEV. That is refused,
   * not copied: a copy there could be seen half-written, and the owner's quota (a qgroup of
   * the owner's subvolume, a project) does not count bytes on another filesystem.
   */
  async place(temp: string, folder: FileHandle, name: string): Promise<void> {
    await fsp.chmod(temp, FILE_MODE);
    await giveToContainerUser(temp);
    await this.rename(temp, inDir(folder, name)).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') throw otherFilesystem();
      throw err;
    });
  }

  async mkdir(volume: ResolvedVolume, rawPath: string, parents: boolean): Promise<Entry> {
    const segments = pathSegments(rawPath);
    if (segments.length === 0) throw new Invalid('volume_itself', 'The volume itself exists');
    return withVolume(volume, async (root) => {
      let current = root;
      try {
        for (let i = 0; i < segments.length; i++) {
          const name = segments[i]!;
          const last = i === segments.length - 1;
          const existing = await lstatIn(current, name);
          if (!existing) {
            if (!last && !parents)
              throw new NotFound(
                'no_such_path',
                `"${segments.slice(0, i + 1).join('/')}" does not exist; send parents=true to make it`,
              );
            await fsp.mkdir(inDir(current, name), { mode: FOLDER_MODE }).catch((err) => {
              if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(err);
            });
            await giveToContainerUser(inDir(current, name));
          } else if (last) {
            throw new Conflict('exists', `"${segments.join('/')}" exists`);
          }
          const next = await openDirAt(current, [name]);
          if (current !== root) await current.close();
          current = next;
        }
        const stat = await current.stat();
        return { name: segments.at(-1)!, type: 'folder', size: 0, mtime: stat.mtime.toISOString() };
      } finally {
        if (current !== root) await current.close();
      }
    });
  }

  /**
   * Move or rename within a volume or to another the caller may write. Same filesystem: one
   * rename. Across filesystems (another root on another disk) only files, copied then removed.
   */
  async move(
    from: ResolvedVolume,
    fromPath: string,
    to: ResolvedVolume,
    toPath: string,
    overwrite: boolean,
  ): Promise<Entry> {
    const source = split(fromPath);
    const target = split(toPath);
    return withVolume(from, (fromRoot) =>
      withVolume(to, (toRoot) =>
        withDir(fromRoot, source.dir, (fromDir) =>
          withDir(toRoot, target.dir, async (toDir) => {
            const stat = await lstatIn(fromDir, source.name);
            if (!stat) throw new NotFound('no_such_path', `Nothing at "${source.shown}"`);
            const there = await lstatIn(toDir, target.name);
            if (there && !overwrite)
              throw new Conflict(
                'exists',
                `"${target.shown}" exists; send overwrite=true to replace it`,
              );
            if (there && (!there.isFile() || !stat.isFile()))
              throw new Conflict('exists', `"${target.shown}" exists; only a file replaces a file`);
            if (stat.isDirectory() && from.id === to.id) {
              const a = `${source.shown}/`;
              if (`${target.shown}/`.startsWith(a))
                throw new Invalid('into_itself', 'A folder cannot move inside itself');
            }
            const bytes = stat.isDirectory()
              ? await withDir(fromDir, [source.name], treeBytes)
              : stat.isFile()
                ? stat.size
                : 0;
            // Bytes change hands only between owners or roots; a replaced file's are freed.
            const crossOwner = from.ownerId !== to.ownerId || from.root !== to.root;
            const net = (crossOwner ? bytes : 0) - (there?.size ?? 0);
            const reserved = Math.max(net, 0);
            await this.quotas.reserve(to.ownerId!, to.rootConfig!, reserved);
            const giveBack = () => this.quotas.release(to.ownerId!, to.rootConfig!, reserved);
            try {
              await this.rename(inDir(fromDir, source.name), inDir(toDir, target.name));
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'EXDEV' || !stat.isFile()) {
                await giveBack();
                if ((err as NodeJS.ErrnoException).code === 'EXDEV')
                  throw new Conflict(
                    'cross_device',
                    'Folders move between volumes on the same disk only; move its files one by one',
                  );
                throw writeError(err);
              }
              await this.copyAcross(fromDir, source, to, toDir, target.name).catch(
                async (copyErr) => {
                  await giveBack();
                  throw writeError(copyErr);
                },
              );
              await fsp.unlink(inDir(fromDir, source.name));
            }
            if (net < 0) await this.quotas.adjust(to.ownerId!, to.rootConfig!, net);
            if (crossOwner) await this.quotas.release(from.ownerId!, from.rootConfig!, bytes);
            const moved = (await lstatIn(toDir, target.name))!;
            return {
              name: target.name,
              type: typeOf(moved),
              size: moved.isFile() ? moved.size : 0,
              mtime: moved.mtime.toISOString(),
            };
          }),
        ),
      ),
    );
  }

  private async copyAcross(
    fromDir: FileHandle,
    source: { name: string; shown: string },
    to: ResolvedVolume,
    toDir: FileHandle,
    name: string,
  ) {
    const file = await openFileIn(fromDir, source.name, source.shown);
    const temp = path.join(
      await stagingArea(to.rootConfig!, Number(to.ownerId)),
      `move-${randomUUID()}`,
    );
    try {
      await pipeline(
        file.createReadStream({ autoClose: false }),
        createWriteStream(temp, { mode: 0o600 }),
      );
      await this.place(temp, toDir, name);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    } finally {
      await file.close();
    }
  }

  /**
   * Delete a file or a folder with everything in it. A folder is first renamed out of the
   * volume into the root's quarantine area (one step, so nothing in a container can swap a
   * link into it while it is removed), then removed there.
   */
  async remove(
    volume: ResolvedVolume,
    rawPath: string,
    rootConfig: RootVolumeConfig,
  ): Promise<void> {
    const { dir, name, shown } = split(rawPath);
    await withVolume(volume, (root) =>
      withDir(root, dir, async (folder) => {
        const stat = await lstatIn(folder, name);
        if (!stat) throw new NotFound('no_such_path', `Nothing at "${shown}"`);
        if (stat.isDirectory()) {
          const bytes = await withDir(folder, [name], treeBytes);
          const holding = path.join(
            await stagingArea(rootConfig, Number(volume.ownerId)),
            `delete-${randomUUID()}`,
          );
          await fsp.rename(inDir(folder, name), holding);
          await fsp.rm(holding, { recursive: true, force: true });
          await this.quotas.release(volume.ownerId!, rootConfig, bytes);
        } else {
          await fsp.unlink(inDir(folder, name));
          if (stat.isFile()) await this.quotas.release(volume.ownerId!, rootConfig, stat.size);
        }
      }),
    );
  }
}
