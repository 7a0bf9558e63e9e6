/**
 * The files service: what the routes, serverVolumes.ts (viewOf, onViewChanged) and account
 * removal call. It resolves a path's volume with RACM first (volumes.ts), then does the work on
 * disk (fileOps.ts, uploads.ts); quotas are measured by the hub (quota.ts, sweeper.ts).
 */
import type { Readable } from 'node:stream';
import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import type { AccountRemoval } from '../accounts/store.ts';
import { recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import type { Db } from '../db/pool.ts';
import { Forbidden, Invalid } from '../errors.ts';
import type { FilesConfig } from './config.ts';
import { ownerFolder, prepareRoot, quarantine, quarantineArea } from './disk.ts';
import { FileOps } from './fileOps.ts';
import { FolderLimits } from './limits.ts';
import { describeUsage, Quotas } from './quota.ts';
import { findVolumeById, setQuota, staleUploads, usageOf } from './store.ts';
import { Sweeper } from './sweeper.ts';
import { Uploads } from './uploads.ts';
import type { VolumeView } from './view.ts';
import { Volumes } from './volumes.ts';

/** An upload session untouched this long is abandoned: its bytes and reservation go. */
export const UPLOAD_IDLE_MS = 24 * 3_600_000;

/** A volume named by its path parts. */
export interface VolumeRef {
  root: string;
  owner: string;
  volume: string;
}

export class FilesService {
  readonly volumes: Volumes;
  readonly quotas: Quotas;
  readonly ops: FileOps;
  readonly uploads: Uploads;
  readonly sweeper: Sweeper;
  /** The quota inside containers, where the filesystem enforces it (limits.ts). */
  readonly limits: FolderLimits;

  constructor(
    private readonly db: Db,
    private readonly config: FilesConfig,
    private readonly clock: () => Date = () => new Date(),
    warn?: (message: string, detail: object) => void,
  ) {
    this.limits = new FolderLimits(db, warn);
    this.volumes = new Volumes(
      db,
      config.rootVolumes,
      clock,
      config.maxVolumesPerUser,
      this.limits,
    );
    this.quotas = new Quotas(db);
    this.ops = new FileOps(this.quotas);
    this.uploads = new Uploads(db, this.quotas, this.ops);
    this.sweeper = new Sweeper(db, config.rootVolumes, config.quarantineDays, clock);
  }

  async prepare(): Promise<void> {
    for (const root of this.config.rootVolumes) await prepareRoot(root);
    await this.limits.prepare(this.config.rootVolumes);
    await this.volumes.loadDataPaths();
  }

  /** Every volume the user may read (the contract with files-mounts). */
  viewOf(userId: number): Promise<VolumeView[]> {
    return this.volumes.viewOf(userId);
  }

  /** Called with the ids of users whose view changed, after the change is committed. */
  onViewChanged(listener: (userIds: number[]) => void): void {
    this.volumes.onViewChanged(listener);
  }

  read(actor: Actor, ref: VolumeRef) {
    return this.volumes.resolve(actor.userId, ref.root, ref.owner, ref.volume, 'read');
  }

  write(actor: Actor, ref: VolumeRef) {
    return this.volumes.resolve(actor.userId, ref.root, ref.owner, ref.volume, 'write');
  }

  async list(actor: Actor, ref: VolumeRef, path: string) {
    return this.ops.list(await this.read(actor, ref), path);
  }

  async upload(
    actor: Actor,
    ref: VolumeRef,
    path: string,
    body: Readable,
    length: number | null,
    overwrite: boolean,
  ) {
    const volume = await this.write(actor, ref);
    const entry = await this.ops.upload(volume, path, body, length, overwrite);
    return { ...entry, usage: await this.quotas.usage(volume.ownerId!, volume.rootConfig!) };
  }

  async mkdir(actor: Actor, ref: VolumeRef, path: string, parents: boolean) {
    return this.ops.mkdir(await this.write(actor, ref), path, parents);
  }

  async move(
    actor: Actor,
    ref: VolumeRef,
    from: string,
    to: {
      root?: string | undefined;
      owner?: string | undefined;
      volume?: string | undefined;
      path: string;
    },
    overwrite: boolean,
  ) {
    const source = await this.write(actor, ref);
    const target = await this.write(actor, {
      root: to.root ?? ref.root,
      owner: to.owner ?? ref.owner,
      volume: to.volume ?? ref.volume,
    });
    return this.ops.move(source, from, target, to.path, overwrite);
  }

  async remove(actor: Actor, ref: VolumeRef, path: string) {
    const volume = await this.write(actor, ref);
    await this.ops.remove(volume, path, volume.rootConfig!);
  }

  /** A user's usage per root with a quota or usage (their own, or any for an admin). */
  async usageOf(actor: Actor, name: string) {
    const user = await userNamed(this.db, normaliseUsername(name));
    if (user.id !== actor.userId && !actor.admin)
      throw new Forbidden('self_only', 'You can only see your own usage');
    const roots = [];
    for (const root of this.config.rootVolumes) {
      const row = await usageOf(this.db, user.id, root.name);
      roots.push({
        ...describeUsage(root.name, row.usedBytes, row.quotaBytes ?? root.quota_bytes ?? null),
        scanned_at: row.scannedAt,
      });
    }
    return { user: user.name, roots };
  }

  /** An admin raises (or lowers, or resets with null) a user's quota in a root. */
  async setQuota(actor: Actor, name: string, rootName: string, quota: number | null) {
    if (!actor.admin) throw new Forbidden('admin_only', 'Only platform admins change quotas');
    const root = this.volumes.root(rootName);
    if (quota !== null && quota <= 0)
      throw new Invalid('quota', 'A quota is a positive number of bytes');
    const user = await userNamed(this.db, normaliseUsername(name));
    await setQuota(this.db, user.id, root.name, quota);
    await this.limits.apply(root, user.id);
    await recordActivity(this.db, {
      type: 'files.quota',
      userId: user.id,
      actorId: actor.userId,
      address: actor.address,
      payload: { root: root.name, quota_bytes: quota },
    });
    return this.usageOf(actor, name);
  }

  /** The periodic work: purge, rescan, quarantine, and upload sessions untouched for a day. */
  async sweep() {
    // Sessions first: the rescan after them measures what is really there.
    const dayAgo = new Date(this.clock().getTime() - UPLOAD_IDLE_MS);
    let uploadsExpired = 0;
    for (const stale of await staleUploads(this.db, dayAgo)) {
      const volume = await findVolumeById(this.db, stale.volumeId);
      if (!volume) continue;
      const rootConfig = this.volumes.root(volume.root);
      await this.uploads.discard(stale, { rootConfig, ownerId: Number(volume.ownerId) });
      uploadsExpired++;
    }
    return { ...(await this.sweeper.sweep()), uploadsExpired };
  }

  /**
   * A deleted account's files: each root's owner folder (every volume in it) moves to the
   * root's quarantine, deleted after the quarantine days. Its rows went with the user's row.
   */
  async removeAccount(removal: AccountRemoval): Promise<void> {
    for (const root of this.config.rootVolumes)
      await quarantine(
        quarantineArea(root),
        ownerFolder(root, removal.userId),
        `user-${removal.userId}`,
        this.clock(),
      );
  }
}
