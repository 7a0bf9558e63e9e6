/**
 * Quotas as the hub enforces them: a running total per (owner, root) that the hub's own writes
 * move and a periodic rescan corrects (code in containers writes without asking). A write
 * through the hub reserves its bytes first, in one conditional UPDATE, so two uploads cannot
 * both pass the last free gigabyte; an aborted write gives its reservation back.
 */
import type { Db, Queryable } from '../db/pool.ts';
import type { RootVolumeConfig } from './config.ts';
import { quotaExceeded } from './errors.ts';
import { addUsage, usageOf } from './store.ts';

/** Usage at or above this share of the quota is answered with `warning: true`. */
export const WARN_AT = 0.9;

export interface Usage {
  root: string;
  used_bytes: number;
  quota_bytes: number | null;
  percent: number | null;
  warning: boolean;
}

export function describeUsage(root: string, used: number, quota: number | null): Usage {
  const percent = quota ? Math.round((used / quota) * 1000) / 10 : null;
  return {
    root,
    used_bytes: used,
    quota_bytes: quota,
    percent,
    warning: quota !== null && used >= quota * WARN_AT,
  };
}

export class Quotas {
  constructor(private readonly db: Db) {}

  async usage(userId: number, root: RootVolumeConfig, db: Queryable = this.db): Promise<Usage> {
    const row = await usageOf(db, userId, root.name);
    return describeUsage(root.name, row.usedBytes, row.quotaBytes ?? root.quota_bytes ?? null);
  }

  /** Reserve `bytes` for the owner in the root, or refuse with quota_exceeded (413). */
  async reserve(ownerId: number, root: RootVolumeConfig, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    const ok = await addUsage(this.db, ownerId, root.name, bytes, root.quota_bytes ?? null);
    if (!ok) {
      const usage = await this.usage(ownerId, root);
      throw quotaExceeded(
        `This write needs ${bytes} bytes; ${usage.used_bytes} of the ${usage.quota_bytes} byte quota of ${root.name} are used`,
      );
    }
  }

  /** Move the total by `delta` bytes either way, with no quota check (settling a finished write). */
  async adjust(ownerId: number, root: RootVolumeConfig, delta: number): Promise<void> {
    if (delta !== 0) await addUsage(this.db, ownerId, root.name, delta, null);
  }

  /** Give back bytes (an aborted write, a deleted file); never below zero. */
  async release(ownerId: number, root: RootVolumeConfig, bytes: number): Promise<void> {
    if (bytes > 0) await addUsage(this.db, ownerId, root.name, -bytes, null);
  }
}
