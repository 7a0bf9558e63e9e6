/**
 * The files routes of the in-memory hub (`FakeHub.files`): volumes per root, default volumes
 * made on first listing, shares with users and groups (groups from the FakeHub), invite codes
 * and usage with the 90% warning. Answers have the generated hub API shapes; refusals mirror
 * the hub's (404 for a volume you may not read, 403 for one you may not grant, 409 for a
 * default volume's rename or deletion).
 */
import { HubError } from '../src/api.js';
import type {
  IFilesClient,
  IRedeemed,
  IRootUsage,
  IUserUsage,
  IVolume,
  IVolumeLink,
  IVolumeLinkCreated,
  IVolumeList,
  IVolumeRef,
  IVolumeShare,
  ShareAccess,
  Sharee,
} from '../src/tokens.js';
import type { FakeHub } from './fake-hub.js';

const CREATED = '2026-01-01T00:00:00.000Z';
const DEFAULTS: Record<string, string> = { Storage: 'persistent', Temporary: 'scratch' };

interface FakeVolume extends IVolumeRef {
  kind: 'user' | 'data';
  description: string;
  /** `user:<name>` or `group:<id>` → access. */
  shares: Map<string, ShareAccess>;
  links: { id: number; code: string; createdBy: string; expiresAt: string }[];
}

export class FakeFiles {
  volumes: FakeVolume[] = [];
  /** Root volumes and their per-user quota (null: none). */
  roots: { name: string; quota: number | null }[] = [
    { name: 'Storage', quota: 10 * 1024 ** 3 },
    { name: 'Temporary', quota: null },
  ];
  /** Used bytes by `user/root`. */
  used = new Map<string, number>();
  private nextLink = 1;

  constructor(readonly hub: FakeHub) {}

  clientFor(name: string): FakeFilesClient {
    return new FakeFilesClient(this, name);
  }

  setUsed(user: string, root: string, bytes: number): void {
    this.used.set(`${user}/${root}`, bytes);
  }

  addDataVolume(name: string, description = ''): FakeVolume {
    const v: FakeVolume = {
      root: 'Data',
      owner: 'data',
      volume: name,
      kind: 'data',
      description,
      shares: new Map(),
      links: [],
    };
    this.volumes.push(v);
    return v;
  }

  usageOf(user: string, root: string): IRootUsage {
    const quota = this.roots.find((r) => r.name === root)?.quota ?? null;
    const used = this.used.get(`${user}/${root}`) ?? 0;
    return {
      root,
      used_bytes: used,
      quota_bytes: quota,
      percent: quota ? Math.round((used / quota) * 1000) / 10 : null,
      warning: quota !== null && used >= quota * 0.9,
    };
  }

  newLinkId(): number {
    return this.nextLink++;
  }
}

const same = (v: IVolumeRef, ref: IVolumeRef): boolean =>
  v.root === ref.root && v.owner === ref.owner && v.volume === ref.volume;

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export class FakeFilesClient implements IFilesClient {
  /** When set, the next call rejects with it (then it is cleared). */
  failNext: HubError | null = null;

  constructor(
    private readonly files: FakeFiles,
    readonly name: string,
  ) {}

  private async enter(method: string, ...args: unknown[]): Promise<void> {
    this.files.hub.calls.push([this.name, method, ...args.map(String)].join(' '));
    await Promise.resolve();
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
  }

  /** `read`, `read_write` or null for me on `v`; the owner has everything. */
  private access(v: FakeVolume): 'owner' | ShareAccess | null {
    if (v.kind === 'user' && v.owner === this.name) {
      return 'owner';
    }
    let best: ShareAccess | null = v.shares.get(`user:${this.name}`) ?? null;
    for (const [key, access] of v.shares) {
      const group = key.startsWith('group:')
        ? this.files.hub.groups.get(Number(key.slice(6)))
        : null;
      if (group?.members.has(this.name) && best !== 'read_write') {
        best = access;
      }
    }
    return best;
  }

  private volume(ref: IVolumeRef): FakeVolume {
    const v = this.files.volumes.find((x) => same(x, ref));
    if (!v || this.access(v) === null) {
      throw new HubError(404, 'not_found', `No volume ${ref.root}/${ref.owner}/${ref.volume}`);
    }
    return v;
  }

  private granted(ref: IVolumeRef): FakeVolume {
    const v = this.volume(ref);
    if (this.access(v) !== 'owner') {
      throw new HubError(403, 'forbidden', 'You may not share this volume');
    }
    return v;
  }

  private ensureDefaults(): void {
    for (const root of this.files.roots) {
      const name = DEFAULTS[root.name];
      const ref = { root: root.name, owner: this.name, volume: name ?? '' };
      if (name && !this.files.volumes.some((v) => same(v, ref))) {
        this.files.volumes.push({
          ...ref,
          kind: 'user',
          description: '',
          shares: new Map(),
          links: [],
        });
      }
    }
  }

  private out(v: FakeVolume): IVolume {
    return {
      root: v.root,
      owner: v.owner,
      volume: v.volume,
      description: v.description,
      created_at: CREATED,
    };
  }

  async listVolumes(): Promise<IVolumeList> {
    await this.enter('listVolumes');
    this.ensureDefaults();
    const volumes = this.files.volumes
      .map((v) => ({ v, access: this.access(v) }))
      .filter(({ access }) => access !== null)
      .map(({ v, access }) => ({
        root: v.root,
        owner: v.owner,
        volume: v.volume,
        kind: v.kind,
        description: v.description,
        read_only: access === 'read' || v.kind === 'data',
        may_share: access === 'owner',
        mine: access === 'owner',
      }));
    return { volumes, usage: this.files.roots.map((r) => this.files.usageOf(this.name, r.name)) };
  }

  async createVolume(root: string, name: string, description = ''): Promise<IVolume> {
    await this.enter('createVolume', root, name);
    if (!this.files.roots.some((r) => r.name === root)) {
      throw new HubError(404, 'not_found', `No root volume ${root}`);
    }
    if (!NAME.test(name)) {
      throw new HubError(400, 'invalid_input', 'Bad volume name');
    }
    const ref = { root, owner: this.name, volume: name };
    if (this.files.volumes.some((v) => same(v, ref))) {
      throw new HubError(409, 'conflict', `You have a volume ${name} in ${root} already`);
    }
    const v: FakeVolume = { ...ref, kind: 'user', description, shares: new Map(), links: [] };
    this.files.volumes.push(v);
    return this.out(v);
  }

  async updateVolume(
    ref: IVolumeRef,
    patch: { name?: string; description?: string },
  ): Promise<IVolume> {
    await this.enter('updateVolume', ref.volume, JSON.stringify(patch));
    const v = this.granted(ref);
    if (patch.name !== undefined && patch.name !== v.volume) {
      if (DEFAULTS[v.root] === v.volume) {
        throw new HubError(409, 'default_volume', 'A default volume cannot be renamed');
      }
      if (this.files.volumes.some((x) => same(x, { ...ref, volume: patch.name! }))) {
        throw new HubError(409, 'conflict', `You have a volume ${patch.name} already`);
      }
      v.volume = patch.name;
    }
    if (patch.description !== undefined) {
      v.description = patch.description;
    }
    return this.out(v);
  }

  async deleteVolume(ref: IVolumeRef): Promise<void> {
    await this.enter('deleteVolume', ref.volume);
    const v = this.granted(ref);
    if (DEFAULTS[v.root] === v.volume) {
      throw new HubError(409, 'default_volume', 'A default volume cannot be deleted');
    }
    this.files.volumes = this.files.volumes.filter((x) => x !== v);
  }

  async listShares(ref: IVolumeRef): Promise<IVolumeShare[]> {
    await this.enter('listShares', ref.volume);
    const v = this.granted(ref);
    return [...v.shares].map(([key, access]) => {
      if (key.startsWith('user:')) {
        return { user: key.slice(5), group: null, access, may_grant: false };
      }
      const id = Number(key.slice(6));
      const name = this.files.hub.groups.get(id)?.name ?? String(id);
      return { user: null, group: { id, name }, access, may_grant: false };
    });
  }

  async share(ref: IVolumeRef, sharee: Sharee, access: ShareAccess): Promise<void> {
    await this.enter('share', ref.volume, JSON.stringify(sharee), access);
    const v = this.granted(ref);
    if ('user' in sharee && !this.files.hub.users.has(sharee.user)) {
      throw new HubError(404, 'not_found', `No user ${sharee.user}`);
    }
    if ('group' in sharee && !this.files.hub.groups.get(sharee.group)?.members.has(this.name)) {
      throw new HubError(404, 'not_found', `No group ${sharee.group}`);
    }
    v.shares.set('user' in sharee ? `user:${sharee.user}` : `group:${sharee.group}`, access);
  }

  async unshare(ref: IVolumeRef, sharee: Sharee): Promise<void> {
    await this.enter('unshare', ref.volume, JSON.stringify(sharee));
    const v = this.granted(ref);
    v.shares.delete('user' in sharee ? `user:${sharee.user}` : `group:${sharee.group}`);
  }

  async listLinks(ref: IVolumeRef): Promise<IVolumeLink[]> {
    await this.enter('listLinks', ref.volume);
    return this.granted(ref).links.map((l) => ({
      id: l.id,
      created_by: l.createdBy,
      expires_at: l.expiresAt,
      created_at: CREATED,
    }));
  }

  async createLink(ref: IVolumeRef, expiresInHours: number): Promise<IVolumeLinkCreated> {
    await this.enter('createLink', ref.volume, expiresInHours);
    const v = this.granted(ref);
    const id = this.files.newLinkId();
    const expiresAt = new Date(Date.parse(CREATED) + expiresInHours * 3600_000).toISOString();
    const link = { id, code: `code-${id}`, createdBy: this.name, expiresAt };
    v.links.push(link);
    return { id, code: link.code, expires_at: expiresAt, created_at: CREATED };
  }

  async revokeLink(ref: IVolumeRef, id: number): Promise<void> {
    await this.enter('revokeLink', ref.volume, id);
    const v = this.granted(ref);
    if (!v.links.some((l) => l.id === id)) {
      throw new HubError(404, 'not_found', `No invite code ${id}`);
    }
    v.links = v.links.filter((l) => l.id !== id);
  }

  async redeem(code: string): Promise<IRedeemed> {
    await this.enter('redeem', code);
    const v = this.files.volumes.find((x) => x.links.some((l) => l.code === code));
    if (!v) {
      throw new HubError(404, 'not_found', 'No such invite code');
    }
    if (this.access(v) === null) {
      v.shares.set(`user:${this.name}`, 'read');
    }
    return {
      root: v.root,
      owner: v.owner,
      volume: v.volume,
      read_only: this.access(v) !== 'owner',
    };
  }

  async usage(user: string): Promise<IUserUsage> {
    await this.enter('usage', user);
    if (user !== this.name) {
      throw new HubError(403, 'forbidden', 'Only your own usage');
    }
    return {
      user,
      roots: this.files.roots.map((r) => ({
        ...this.files.usageOf(user, r.name),
        scanned_at: null,
      })),
    };
  }
}
