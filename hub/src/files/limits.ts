/**
 * The Storage quota inside containers, where the filesystem can enforce it (mounts/quota.ts):
 * the quota is per owner per root, so its unit on disk is the owner's folder `<root>/<owner>`.
 * A new owner folder is made a limited btrfs subvolume (or given its ext4/XFS project quota)
 * before anything is put in it, and an admin's quota change moves the limit. A write in a
 * container beyond it fails there with EDQUOT; the hub's measured quota (quota.ts) stays in
 * force through the API either way. An owner folder made before its root had quotas, holding
 * files, is left as it is (measured only; docs/files.md says how to convert one).
 */
import type { Db } from '../db/pool.ts';
import type { RootVolumeConfig } from './config.ts';
import { makeOwnerFolder, ownerFolder } from './disk.ts';
import { noQuotas, type QuotaEnforcer, quotaEnforcerFor } from './mounts/quota.ts';
import { usageOf } from './store.ts';

export class FolderLimits {
  private readonly enforcers = new Map<string, QuotaEnforcer>();
  /** Owner folders being made, one at a time each (two first uses at once must not race). */
  private readonly making = new Map<string, Promise<string>>();

  constructor(
    private readonly db: Db,
    private readonly warn: (message: string, detail: object) => void = () => undefined,
  ) {}

  /** Look at each root's filesystem once (after its folder exists). */
  async prepare(roots: RootVolumeConfig[]): Promise<void> {
    for (const root of roots)
      this.enforcers.set(root.name, await quotaEnforcerFor(root.path).catch(() => noQuotas));
  }

  /** How the root's quota is enforced in containers: a mechanism, or 'none' (measured only). */
  mechanism(root: RootVolumeConfig): QuotaEnforcer['mechanism'] {
    return this.enforcerOf(root).mechanism;
  }

  private enforcerOf(root: RootVolumeConfig): QuotaEnforcer {
    return this.enforcers.get(root.name) ?? noQuotas;
  }

  private async quotaOf(ownerId: number, root: RootVolumeConfig): Promise<number | null> {
    const row = await usageOf(this.db, ownerId, root.name);
    return row.quotaBytes ?? root.quota_bytes ?? null;
  }

  /** For makeOwnerFolder: limit a new, empty owner folder to the owner's quota. */
  private onNewOwnerFolder(root: RootVolumeConfig, ownerId: number) {
    return async (folder: string) => {
      const enforcer = this.enforcerOf(root);
      if (enforcer.supported) await enforcer.setLimit(folder, await this.quotaOf(ownerId, root));
    };
  }

  /**
   * The owner's folder, made (and limited) if missing. Serialised per folder: on btrfs a new
   * folder is replaced by a subvolume, and a second caller must not put a volume in it meanwhile.
   */
  ownerFolder(root: RootVolumeConfig, ownerId: number): Promise<string> {
    const key = `${root.name}/${ownerId}`;
    const previous = this.making.get(key) ?? Promise.resolve('');
    const next = previous
      .catch(() => '')
      .then(() => makeOwnerFolder(root, ownerId, this.onNewOwnerFolder(root, ownerId)));
    this.making.set(key, next);
    next
      .finally(() => {
        if (this.making.get(key) === next) this.making.delete(key);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * After an admin's quota change: the owner's folder limited to the new quota (made if
   * missing). False when the filesystem does not enforce it there (measured only); a folder
   * that cannot take a limit is logged, never an error for the change itself.
   */
  async apply(root: RootVolumeConfig, ownerId: number): Promise<boolean> {
    const enforcer = this.enforcerOf(root);
    if (!enforcer.supported) return false;
    try {
      await this.ownerFolder(root, ownerId);
      return await enforcer.setLimit(ownerFolder(root, ownerId), await this.quotaOf(ownerId, root));
    } catch (err) {
      this.warn('quota not enforced in containers', { root: root.name, ownerId, err: String(err) });
      return false;
    }
  }
}
