/**
 * Volumes and who may use them: user volumes (create, rename, describe, delete, share),
 * data volumes (admins register a host folder, read-only), share links, and the view: every
 * volume a user may read, which files-mounts applies inside containers. Each change is one
 * transaction with its activity record; listeners hear whose view changed after it commits.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import { lockUser } from '../accounts/store.ts';
import { recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, LimitReached, NotFound } from '../errors.ts';
import { findGroup, roleIn } from '../groups/store.ts';
import { actionsOf, grant, registerResource, resourceType } from '../racm/store.ts';
import { DATA_OWNER, DATA_ROOT, type RootVolumeConfig } from './config.ts';
import { makeVolumeFolder, ownerQuarantineArea, quarantine, volumeFolder } from './disk.ts';
import type { FolderLimits } from './limits.ts';
import { checkVolumeName } from './names.ts';
import {
  allDataVolumes,
  deleteShareLink,
  findDataVolume,
  findVolume,
  findVolumeById,
  insertDataVolume,
  insertShareLink,
  insertVolume,
  type ReadableVolume,
  readableVolumes,
  revokeAction,
  revokeAll,
  shareLinkByHash,
  shareLinksOf,
  sharesOf,
  updateVolume,
  usersReaching,
  usersUnderGroup,
  volumesOwnedBy,
} from './store.ts';
import type { VolumeView } from './view.ts';

/** A volume made for every user on first use, per root name. */
export const DEFAULT_VOLUMES: Record<string, string> = {
  Storage: 'persistent',
  Temporary: 'scratch',
};
/** The longest a share link may live. */
export const MAX_LINK_HOURS = 24 * 90;

export type ShareAccess = 'read' | 'read_write';

/** A volume the caller reached, with what they may do and where its files are. */
export interface ResolvedVolume {
  kind: 'user' | 'data';
  id: string;
  root: string;
  owner: string;
  ownerId: number | null;
  name: string;
  description: string;
  resourceId: number;
  hostPath: string;
  /** The root volume's config; null for data volumes. */
  rootConfig: RootVolumeConfig | null;
  actions: string[];
}

const volumeNotFound = () => new NotFound('volume', 'Volume not found');

export class Volumes {
  private readonly listeners = new Set<(userIds: number[]) => void>();
  private readonly roots: Map<string, RootVolumeConfig>;
  /** User volumes one user may own (all roots together). */
  maxVolumesPerUser: number;

  constructor(
    private readonly db: Db,
    rootVolumes: RootVolumeConfig[],
    private readonly clock: () => Date = () => new Date(),
    maxVolumesPerUser = 100,
    private readonly limits?: FolderLimits,
  ) {
    this.roots = new Map(rootVolumes.map((root) => [root.name, root]));
    this.maxVolumesPerUser = maxVolumesPerUser;
  }

  get rootVolumes(): RootVolumeConfig[] {
    return [...this.roots.values()];
  }

  root(name: string): RootVolumeConfig {
    const root = this.roots.get(name);
    if (!root) throw new NotFound('root_volume', `No root volume "${name}"`);
    return root;
  }

  /** Listen for view changes: called with the ids of users whose view changed, after commit. */
  onViewChanged(listener: (userIds: number[]) => void): void {
    this.listeners.add(listener);
  }

  viewChanged(userIds: number[]): void {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return;
    for (const listener of this.listeners) listener(unique);
  }

  /** Every volume the user may read, with read_only from RACM; their default volumes made first. */
  async viewOf(userId: number): Promise<VolumeView[]> {
    await this.ensureDefaults(userId);
    const volumes = await readableVolumes(this.db, userId);
    return volumes.map((v) => ({
      root: v.root,
      owner: v.owner,
      volume: v.name,
      host_path: this.hostPathOf(v),
      read_only: !v.writable,
    }));
  }

  /** The readable volumes with what the caller may do, for the API's volume list. */
  async readable(userId: number): Promise<(ReadableVolume & { hostPath: string })[]> {
    await this.ensureDefaults(userId);
    return (await readableVolumes(this.db, userId)).map((v) => ({
      ...v,
      hostPath: this.hostPathOf(v),
    }));
  }

  private hostPathOf(v: {
    kind: string;
    root: string;
    ownerId: number | null;
    id: string;
  }): string {
    if (v.kind === 'data') return this.dataPaths.get(v.id) ?? '';
    return volumeFolder(this.root(v.root), v.ownerId!, v.id);
  }

  /** Data volumes' host paths by id, loaded on demand (admins register them rarely). */
  private dataPaths = new Map<string, string>();

  /** The registered data volumes' host folders (the mounter mounts from these and the roots). */
  dataHostPaths(): string[] {
    return [...this.dataPaths.values()];
  }

  async loadDataPaths(): Promise<void> {
    this.dataPaths = new Map((await allDataVolumes(this.db)).map((d) => [d.id, d.hostPath]));
  }

  /** Make the user's default volumes (persistent, scratch) the first time they are wanted. */
  async ensureDefaults(userId: number): Promise<void> {
    for (const [rootName, name] of Object.entries(DEFAULT_VOLUMES)) {
      const root = this.roots.get(rootName);
      if (!root) continue;
      const { rows } = await this.db.query(
        'SELECT 1 FROM file_volumes WHERE root = $1 AND owner_id = $2 AND name = $3',
        [root.name, userId, name],
      );
      if (rows.length) continue;
      await this.createFor(userId, root, name, '', null).catch((err) => {
        // Two first uses at once (a spawn and the view it changes): the other made it, seen
        // by the check under the user's lock or by the unique index.
        const made = err instanceof Conflict && err.reason === 'volume_exists';
        if (!made && (err as { code?: string }).code !== '23505') throw err;
      });
    }
  }

  /** Create a user volume; its folder is made first, so a row never points at nothing. */
  async create(actor: Actor, rootName: string, name: string, description = '') {
    const root = this.root(rootName);
    checkVolumeName(name);
    await this.ensureDefaults(actor.userId);
    return this.createFor(actor.userId, root, name, description, actor.address);
  }

  private async createFor(
    userId: number,
    root: RootVolumeConfig,
    name: string,
    description: string,
    address: string | null,
  ) {
    const id = randomUUID();
    // The owner's folder first: where the filesystem has quotas it is made limited.
    await this.limits?.ownerFolder(root, userId);
    await makeVolumeFolder(root, userId, id);
    try {
      await inTransaction(this.db, async (client) => {
        // Count, then insert: one creation at a time per user.
        await lockUser(client, userId);
        const { rows } = await client.query(
          'SELECT count(*)::int AS n FROM file_volumes WHERE owner_id = $1',
          [userId],
        );
        if (rows[0].n >= this.maxVolumesPerUser)
          throw new LimitReached(
            'volume_cap',
            `You own ${this.maxVolumesPerUser} volumes, the most allowed; delete one first`,
          );
        if (await findVolumeOwned(client, root.name, userId, name))
          throw new Conflict(
            'volume_exists',
            `You already have a volume "${name}" in ${root.name}`,
          );
        const type = (await resourceType(client, 'UserVolume'))!;
        const resourceId = await registerResource(client, {
          typeId: type.id,
          name: `volume/${id}`,
          description: `${root.name}/${name}`,
          ownerId: userId,
        });
        await insertVolume(client, {
          id,
          root: root.name,
          ownerId: userId,
          name,
          description,
          resourceId,
        });
        await recordActivity(client, {
          type: 'files.volume_create',
          userId,
          address,
          payload: { root: root.name, volume: name, volume_id: id },
        });
      });
    } catch (err) {
      await fsp.rm(volumeFolder(root, userId, id), { recursive: true, force: true });
      throw err;
    }
    this.viewChanged([userId]);
    const created = (await findVolumeById(this.db, id))!;
    return created;
  }

  /**
   * Find a volume by its path names and check the caller may `need` it: a volume the caller
   * may not read is "not found" (its existence is not revealed); one they read but may not
   * write is 403.
   */
  async resolve(
    userId: number,
    rootName: string,
    owner: string,
    name: string,
    need: 'read' | 'write' | 'grant',
  ): Promise<ResolvedVolume> {
    let found: Omit<ResolvedVolume, 'actions'> | undefined;
    if (rootName === DATA_ROOT) {
      const data = owner === DATA_OWNER ? await findDataVolume(this.db, name) : undefined;
      if (data) {
        found = {
          kind: 'data',
          id: data.id,
          root: DATA_ROOT,
          owner: DATA_OWNER,
          ownerId: null,
          name: data.name,
          description: data.description,
          resourceId: data.resourceId,
          hostPath: data.hostPath,
          rootConfig: null,
        };
      }
    } else {
      const root = this.root(rootName);
      let volume = await findVolume(this.db, root.name, owner, name);
      // A user's own default volume is made on first use, also through a path.
      if (!volume && DEFAULT_VOLUMES[root.name] === name) {
        const self = await this.db.query('SELECT id, name FROM users WHERE id = $1', [userId]);
        if (self.rows[0]?.name === owner) {
          await this.ensureDefaults(userId);
          volume = await findVolume(this.db, root.name, owner, name);
        }
      }
      if (volume) {
        found = {
          kind: 'user',
          id: volume.id,
          root: root.name,
          owner: volume.owner,
          ownerId: Number(volume.ownerId),
          name: volume.name,
          description: volume.description,
          resourceId: Number(volume.resourceId),
          hostPath: volumeFolder(root, Number(volume.ownerId), volume.id),
          rootConfig: root,
        };
      }
    }
    if (!found) throw volumeNotFound();
    const actions = await actionsOf(this.db, userId, found.resourceId);
    if (!actions.includes('read') && !actions.includes('grant')) throw volumeNotFound();
    if (need === 'write' && !actions.includes('write'))
      throw new Forbidden(
        'read_only',
        `${found.root}/${found.owner}/${found.name} is read-only for you`,
      );
    if (need === 'grant' && !actions.includes('grant'))
      throw new Forbidden(
        'no_grant',
        'Only the owner, or someone they let share it, can change who may use this volume',
      );
    return { ...found, actions };
  }

  /** Rename or describe a volume (its owner). The files stay where they are (folders are ids). */
  async update(
    actor: Actor,
    rootName: string,
    owner: string,
    name: string,
    changes: { name?: string | undefined; description?: string | undefined },
  ) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'read');
    if (volume.kind !== 'user' || volume.ownerId !== actor.userId)
      throw new Forbidden('owner_only', 'Only the volume’s owner can rename or describe it');
    if (changes.name !== undefined) checkVolumeName(changes.name);
    if (changes.name !== undefined && changes.name !== volume.name) refuseDefault(volume);
    const reaching = await inTransaction(this.db, async (client) => {
      if (changes.name !== undefined && changes.name !== volume.name) {
        if (await findVolumeOwned(client, volume.root, actor.userId, changes.name))
          throw new Conflict(
            'volume_exists',
            `You already have a volume "${changes.name}" in ${volume.root}`,
          );
      }
      await updateVolume(client, volume.id, changes);
      await recordActivity(client, {
        type: 'files.volume_update',
        userId: actor.userId,
        address: actor.address,
        payload: { volume_id: volume.id, from: volume.name, ...changes },
      });
      return usersReaching(client, volume.resourceId);
    });
    if (changes.name !== undefined && changes.name !== volume.name) this.viewChanged(reaching);
    return (await findVolumeById(this.db, volume.id))!;
  }

  /**
   * Delete a volume (its owner): the row, its RACM resource and shares go in one transaction,
   * then its folder is moved to the root's quarantine (docs/files.md: deleted after N days).
   */
  async delete(actor: Actor, rootName: string, owner: string, name: string): Promise<void> {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'read');
    if (volume.kind !== 'user' || volume.ownerId !== actor.userId)
      throw new Forbidden('owner_only', 'Only the volume’s owner can delete it');
    refuseDefault(volume);
    const reaching = await inTransaction(this.db, async (client) => {
      const locked = await findVolume(client, volume.root, volume.owner, volume.name, true);
      if (!locked) throw volumeNotFound();
      const users = await usersReaching(client, volume.resourceId);
      await client.query('DELETE FROM racm_resources WHERE id = $1', [volume.resourceId]);
      await recordActivity(client, {
        type: 'files.volume_delete',
        userId: actor.userId,
        address: actor.address,
        payload: { root: volume.root, volume: volume.name, volume_id: volume.id },
      });
      return users;
    });
    await quarantine(
      ownerQuarantineArea(volume.rootConfig!, Number(volume.ownerId)),
      volume.hostPath,
      `volume-${volume.id}`,
      this.clock(),
    );
    this.viewChanged(reaching);
  }

  // Sharing.

  /** Who the volume is shared with (needs grant: the owner's, or one they delegated). */
  async shares(actor: Actor, rootName: string, owner: string, name: string) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'grant');
    const rows = await sharesOf(this.db, volume.resourceId, volume.ownerId);
    return rows.map((row) => ({
      user: row.user,
      group: row.group,
      access: (row.actions.includes('write') ? 'read_write' : 'read') as ShareAccess,
      may_grant: row.actions.includes('grant'),
    }));
  }

  /** Share read-only or read-write with a user or a group; sharing again sets the access. */
  async share(
    actor: Actor,
    rootName: string,
    owner: string,
    name: string,
    to: { user?: string | undefined; group?: number | undefined; access: ShareAccess },
  ) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'grant');
    if (volume.kind === 'data' && to.access !== 'read')
      throw new Invalid('read_only', 'Data volumes are shared read-only');
    const { grantee, label, users } = await this.grantee(actor, to);
    if ('userId' in grantee && grantee.userId === volume.ownerId)
      throw new Invalid('own_volume', 'The owner already has every right on their volume');
    await inTransaction(this.db, async (client) => {
      const typeId = (await resourceType(
        client,
        volume.kind === 'data' ? 'DataVolume' : 'UserVolume',
      ))!.id;
      await grant(client, {
        resourceId: volume.resourceId,
        typeId,
        action: 'read',
        grantedBy: actor.userId,
        ...grantee,
      });
      if (to.access === 'read_write')
        await grant(client, {
          resourceId: volume.resourceId,
          typeId,
          action: 'write',
          grantedBy: actor.userId,
          ...grantee,
        });
      else await revokeAction(client, volume.resourceId, grantee, 'write');
      await recordActivity(client, {
        type: 'files.share',
        userId: actor.userId,
        address: actor.address,
        payload: {
          volume: `${volume.root}/${volume.owner}/${volume.name}`,
          to: label,
          access: to.access,
        },
      });
    });
    this.viewChanged(users);
    return {
      user: to.user !== undefined ? label : null,
      group: 'groupId' in grantee ? { id: grantee.groupId, name: label } : null,
      access: to.access,
    };
  }

  /** Take a share back (everything the user or group held on the volume). */
  async unshare(
    actor: Actor,
    rootName: string,
    owner: string,
    name: string,
    from: { user?: string | undefined; group?: number | undefined },
  ) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'grant');
    const { grantee, label, users } = await this.grantee(actor, from, false);
    if ('userId' in grantee && grantee.userId === volume.ownerId)
      throw new Conflict('owner_rights', 'The owner’s own rights cannot be taken');
    const removed = await inTransaction(this.db, async (client) => {
      const gone = await revokeAll(client, volume.resourceId, grantee);
      if (gone)
        await recordActivity(client, {
          type: 'files.unshare',
          userId: actor.userId,
          address: actor.address,
          payload: { volume: `${volume.root}/${volume.owner}/${volume.name}`, from: label },
        });
      return gone;
    });
    if (!removed) throw new NotFound('share', `The volume is not shared with ${label}`);
    this.viewChanged(users);
  }

  /** A share's grantee: a user by name, or a group the actor may see (Public: admins only). */
  private async grantee(
    actor: Actor,
    to: { user?: string | undefined; group?: number | undefined },
    sharing = true,
  ) {
    if ((to.user === undefined) === (to.group === undefined))
      throw new Invalid('grantee', 'Name exactly one of "user" and "group"');
    if (to.user !== undefined) {
      const user = await userNamed(this.db, normaliseUsername(to.user));
      return {
        grantee: { userId: user.id } as { userId: number } | { groupId: number },
        label: user.name,
        users: [user.id],
      };
    }
    const group = await findGroup(this.db, to.group!);
    const visible =
      group &&
      (group.kind !== 'group' || actor.admin || (await roleIn(this.db, group.id, actor.userId)));
    if (!group || !visible) throw new NotFound('group', 'Group not found');
    if (sharing && group.kind === 'public' && !actor.admin)
      throw new Forbidden('public_group', 'Only platform admins may share with the Public group');
    return {
      grantee: { groupId: group.id } as { userId: number } | { groupId: number },
      label: group.name,
      users: await usersUnderGroup(this.db, group.id),
    };
  }

  // Share links: an invite code giving read access to whoever redeems it, until it expires.

  async createLink(actor: Actor, rootName: string, owner: string, name: string, hours: number) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'grant');
    if (volume.kind !== 'user') throw new Invalid('user_volume_only', 'Links are for user volumes');
    if (!Number.isInteger(hours) || hours < 1 || hours > MAX_LINK_HOURS)
      throw new Invalid('link_hours', `A link lives 1 to ${MAX_LINK_HOURS} hours`);
    const code = `orrv_${randomBytes(24).toString('base64url')}`;
    const expiresAt = new Date(this.clock().getTime() + hours * 3_600_000);
    const link = await inTransaction(this.db, async (client) => {
      const made = await insertShareLink(client, {
        volumeId: volume.id,
        codeHash: hashCode(code),
        createdBy: actor.userId,
        expiresAt,
      });
      await recordActivity(client, {
        type: 'files.link_create',
        userId: actor.userId,
        address: actor.address,
        payload: {
          volume: `${volume.root}/${volume.owner}/${volume.name}`,
          link_id: made.id,
          expires_at: expiresAt,
        },
      });
      return made;
    });
    return { id: link.id, code, expires_at: link.expiresAt, created_at: link.createdAt };
  }

  async links(actor: Actor, rootName: string, owner: string, name: string) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'grant');
    return volume.kind === 'user' ? shareLinksOf(this.db, volume.id) : [];
  }

  async revokeLink(actor: Actor, rootName: string, owner: string, name: string, linkId: number) {
    const volume = await this.resolve(actor.userId, rootName, owner, name, 'grant');
    const removed = await inTransaction(this.db, async (client) => {
      const gone = await deleteShareLink(client, volume.id, linkId);
      if (gone)
        await recordActivity(client, {
          type: 'files.link_revoke',
          userId: actor.userId,
          address: actor.address,
          payload: { volume: `${volume.root}/${volume.owner}/${volume.name}`, link_id: linkId },
        });
      return gone;
    });
    if (!removed) throw new NotFound('link', 'Link not found');
  }

  /**
   * Redeem a link: the redeemer gets a read-only share (listed with the others, revocable like
   * them). Each use is recorded in the activity log of the redeemer and of the link's maker.
   */
  async redeem(actor: Actor, code: string) {
    const link = await shareLinkByHash(this.db, hashCode(code));
    if (!link || link.expiresAt.getTime() <= this.clock().getTime())
      throw new NotFound('link', 'This link does not exist, was revoked or has expired');
    const volume = await findVolumeById(this.db, link.volumeId);
    if (!volume) throw new NotFound('link', 'This link does not exist, was revoked or has expired');
    const label = `${volume.root}/${volume.owner}/${volume.name}`;
    await inTransaction(this.db, async (client) => {
      if (Number(volume.ownerId) !== actor.userId) {
        const typeId = (await resourceType(client, 'UserVolume'))!.id;
        await grant(client, {
          resourceId: Number(volume.resourceId),
          typeId,
          action: 'read',
          userId: actor.userId,
          grantedBy: link.createdBy,
        });
      }
      const payload = { volume: label, link_id: link.id, redeemed_by: actor.userId };
      await recordActivity(client, {
        type: 'files.link_use',
        userId: actor.userId,
        address: actor.address,
        payload,
      });
      if (link.createdBy !== null && link.createdBy !== actor.userId)
        await recordActivity(client, {
          type: 'files.link_use',
          userId: link.createdBy,
          actorId: actor.userId,
          address: actor.address,
          payload,
        });
    });
    this.viewChanged([actor.userId]);
    return { root: volume.root, owner: volume.owner, volume: volume.name, read_only: true };
  }

  // Data volumes.

  /** Register a host folder as a read-only data volume (admins). */
  async registerData(
    actor: Actor,
    spec: { name: string; host_path: string; description?: string | undefined },
  ) {
    if (!actor.admin)
      throw new Forbidden('admin_only', 'Only platform admins register data volumes');
    checkVolumeName(spec.name);
    if (!path.isAbsolute(spec.host_path) || path.normalize(spec.host_path) !== spec.host_path)
      throw new Invalid('host_path', 'host_path must be an absolute, normalised path');
    for (const root of this.roots.values()) {
      const inside = path.relative(root.path, spec.host_path);
      if (!inside.startsWith('..') && !path.isAbsolute(inside))
        throw new Invalid('host_path', 'A data volume cannot be inside a root volume');
    }
    const stat = await fsp.stat(spec.host_path).catch(() => undefined);
    if (!stat?.isDirectory())
      throw new Invalid('host_path', `${spec.host_path} is not a folder on the hub’s host`);
    const record = await inTransaction(this.db, async (client) => {
      if (await findDataVolume(client, spec.name))
        throw new Conflict('volume_exists', `A data volume "${spec.name}" exists`);
      const type = (await resourceType(client, 'DataVolume'))!;
      const resourceId = await registerResource(client, {
        typeId: type.id,
        name: `data/${randomUUID()}`,
        description: spec.name,
        ownerId: actor.userId,
      });
      const made = await insertDataVolume(client, {
        name: spec.name,
        hostPath: spec.host_path,
        description: spec.description ?? '',
        resourceId,
        createdBy: actor.userId,
      });
      await recordActivity(client, {
        type: 'files.data_register',
        userId: actor.userId,
        address: actor.address,
        payload: { name: spec.name, host_path: spec.host_path },
      });
      return made;
    });
    await this.loadDataPaths();
    this.viewChanged([actor.userId]);
    return record;
  }

  /** Unregister a data volume (admins); its files are the operator's and stay where they are. */
  async unregisterData(actor: Actor, name: string): Promise<void> {
    if (!actor.admin)
      throw new Forbidden('admin_only', 'Only platform admins unregister data volumes');
    const data = await findDataVolume(this.db, name);
    if (!data) throw volumeNotFound();
    const reaching = await inTransaction(this.db, async (client) => {
      const users = await usersReaching(client, data.resourceId);
      await client.query('DELETE FROM racm_resources WHERE id = $1', [data.resourceId]);
      await recordActivity(client, {
        type: 'files.data_unregister',
        userId: actor.userId,
        address: actor.address,
        payload: { name },
      });
      return users;
    });
    await this.loadDataPaths();
    this.viewChanged(reaching);
  }

  dataVolumes() {
    return allDataVolumes(this.db);
  }

  ownedBy(userId: number) {
    return volumesOwnedBy(this.db, userId);
  }
}

async function findVolumeOwned(db: Queryable, root: string, ownerId: number, name: string) {
  const { rows } = await db.query(
    'SELECT 1 FROM file_volumes WHERE root = $1 AND owner_id = $2 AND name = $3',
    [root, ownerId, name],
  );
  return rows.length > 0;
}

/** `persistent` is the workspace (/home/jovyan/work) and `scratch` its scratch space: they stay. */
function refuseDefault(volume: { root: string; name: string }): void {
  if (DEFAULT_VOLUMES[volume.root] === volume.name)
    throw new Conflict(
      'default_volume',
      `${volume.root}/${volume.name} is every user’s default volume; it cannot be renamed or deleted`,
    );
}

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');
