/**
 * The files service's periodic work: purge old files from roots with `purge_after_days`
 * (Temporary), measure each owner's usage again (containers write without the hub), delete
 * quarantined folders past their days. The clock is injected, so tests move time.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Db } from '../db/pool.ts';
import type { RootVolumeConfig } from './config.ts';
import { OWNER_AREA, ownerFolder, sweepQuarantine } from './disk.ts';
import { inDir, openDirPath, treeBytes } from './safeFs.ts';
import { ownersIn, setMeasuredUsage } from './store.ts';

const DIR_OPEN_FAILED = undefined;

/**
 * Remove files (and links) last modified before `cutoff` under an open folder, walking by
 * descriptor and never following a link; folders left empty by the purge go too. Returns
 * how many entries were removed.
 */
export async function purgeOlderThan(dir: FileHandle, cutoff: number): Promise<number> {
  let removed = 0;
  const entries = await fsp.readdir(`/proc/self/fd/${dir.fd}`, { withFileTypes: true });
  for (const entry of entries) {
    const target = inDir(dir, entry.name);
    if (entry.isDirectory()) {
      const child = await openDirPath(target).catch(() => DIR_OPEN_FAILED);
      if (!child) continue;
      try {
        removed += await purgeOlderThan(child, cutoff);
      } finally {
        await child.close();
      }
      const stat = await fsp.lstat(target).catch(() => undefined);
      if (stat && stat.mtimeMs < cutoff) {
        // Only an empty folder goes (rmdir refuses otherwise): new files in it are kept.
        await fsp.rmdir(target).then(
          () => removed++,
          () => undefined,
        );
      }
    } else {
      const stat = await fsp.lstat(target).catch(() => undefined);
      if (stat && stat.mtimeMs < cutoff)
        await fsp.unlink(target).then(
          () => removed++,
          () => undefined,
        );
    }
  }
  return removed;
}

export interface SweepResult {
  purged: number;
  measured: number;
  quarantineRemoved: number;
}

export class Sweeper {
  constructor(
    private readonly db: Db,
    private readonly roots: RootVolumeConfig[],
    private readonly quarantineDays: number,
    private readonly clock: () => Date,
  ) {}

  /** Purge every root with purge_after_days; volume folders themselves stay. */
  async purge(): Promise<number> {
    let purged = 0;
    const now = this.clock().getTime();
    for (const root of this.roots) {
      if (!root.purge_after_days) continue;
      const cutoff = now - root.purge_after_days * 86_400_000;
      for (const ownerId of await ownersIn(this.db, root.name)) {
        const { rows } = await this.db.query(
          'SELECT id FROM file_volumes WHERE root = $1 AND owner_id = $2',
          [root.name, ownerId],
        );
        for (const { id } of rows) {
          const folder = await openDirPath(`${ownerFolder(root, ownerId)}/${id}`).catch(
            () => DIR_OPEN_FAILED,
          );
          if (!folder) continue;
          try {
            purged += await purgeOlderThan(folder, cutoff);
          } finally {
            await folder.close();
          }
        }
      }
    }
    return purged;
  }

  /** Measure every owner's folders in every root and store the totals. */
  async rescan(): Promise<number> {
    let measured = 0;
    for (const root of this.roots) {
      for (const ownerId of await ownersIn(this.db, root.name)) {
        const folder = await openDirPath(ownerFolder(root, ownerId)).catch(() => DIR_OPEN_FAILED);
        if (!folder) continue;
        try {
          // The hub's area (staged uploads, deleted volumes) is not the owner's files.
          await setMeasuredUsage(this.db, ownerId, root.name, await treeBytes(folder, OWNER_AREA));
          measured++;
        } finally {
          await folder.close();
        }
      }
    }
    return measured;
  }

  async sweep(): Promise<SweepResult> {
    const purged = await this.purge();
    const measured = await this.rescan();
    let quarantineRemoved = 0;
    for (const root of this.roots)
      quarantineRemoved += await sweepQuarantine(root, this.quarantineDays, this.clock());
    return { purged, measured, quarantineRemoved };
  }
}
