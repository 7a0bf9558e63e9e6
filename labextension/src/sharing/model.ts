/**
 * State of the "Share this server…" dialog: who the server is shared with, its live share
 * codes, sharing with a user or a group (completed from the hub), taking a share back, making
 * and revoking codes; and the list of servers shared with me. Unit-tested against a fake client.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError } from '../api.js';
import type {
  IGroupsClient,
  IServerShare,
  IServerShareCode,
  IServerShareCodeCreated,
  ISharesClient,
  IUserClient,
  ServerSharee,
} from '../tokens.js';

export interface ISharingError {
  status: number;
  error: string;
  message: string;
}

export function toSharingError(e: unknown): ISharingError {
  if (e instanceof HubError) return { status: e.status, error: e.error, message: e.message };
  return { status: 0, error: 'unexpected', message: e instanceof Error ? e.message : String(e) };
}

/** One completion for the "share with" field. */
export type ServerShareCandidate =
  | { kind: 'user'; name: string; label: string }
  | { kind: 'group'; name: string; label: string };

/** The grantee of an existing share. */
export function shareeOfShare(share: IServerShare): ServerSharee {
  return share.user ? { user: share.user.name } : { group: share.group?.name ?? '' };
}

/** The key a share is known by in lists (`user:bob`, `group:observers`). */
export function serverShareeKey(s: ServerSharee): string {
  return 'user' in s ? `user:${s.user}` : `group:${s.group}`;
}

/** Does the share let its holder start and stop the server (JupyterHub's `servers` scope)? */
export const canManage = (share: { scopes: readonly string[] }): boolean =>
  share.scopes.some((scope) => scope === 'servers' || scope.startsWith('servers!'));

/** The label of a server: `alice/` is alice's default server, `alice/gpu` a named one. */
export const serverLabel = (owner: string, server: string): string => `${owner}/${server}`;

/** Expiries offered for share codes, in seconds. */
export const CODE_EXPIRIES = [3600, 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600];

export class ServerShareModel {
  constructor(
    private readonly client: ISharesClient,
    private readonly users: IUserClient,
    private readonly groups: IGroupsClient,
    /** The server's owner (me, in my own server) and its name ("" the default server). */
    readonly owner: string,
    readonly server: string,
  ) {}

  private _shares: IServerShare[] = [];
  private _codes: IServerShareCode[] = [];
  private _lastCode: IServerShareCodeCreated | null = null;
  private _error: ISharingError | null = null;
  private readonly _changed = new Signal<this, void>(this);

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get shares(): readonly IServerShare[] {
    return this._shares;
  }
  get codes(): readonly IServerShareCode[] {
    return this._codes;
  }
  /** The code made last: the hub shows a code once, so it is kept to copy. */
  get lastCode(): IServerShareCodeCreated | null {
    return this._lastCode;
  }
  get error(): ISharingError | null {
    return this._error;
  }

  /** Reload the shares and the live codes. A failure is kept in `error` and rethrown. */
  async refresh(): Promise<void> {
    try {
      const [shares, codes] = await Promise.all([
        this.client.listServerShares(this.owner, this.server),
        this.client.listServerShareCodes(this.owner, this.server),
      ]);
      this._shares = shares;
      this._codes = codes;
      this._error = null;
    } catch (e) {
      this._error = toSharingError(e);
      throw e;
    } finally {
      this._changed.emit();
    }
  }

  private async act<T>(action: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await action();
    } catch (e) {
      this._error = toSharingError(e);
      this._changed.emit();
      throw e;
    }
    await this.refresh();
    return result;
  }

  /**
   * Users whose names start with `prefix` and my groups whose names contain it, without the
   * owner and without who already has a share.
   */
  async candidates(prefix: string, limit = 10): Promise<ServerShareCandidate[]> {
    const text = prefix.trim();
    const shared = new Set(this._shares.map((s) => serverShareeKey(shareeOfShare(s))));
    const [users, groups] = await Promise.all([
      text ? this.users.searchUsers(text, limit + 1) : Promise.resolve([]),
      this.groups.listGroups(),
    ]);
    const lower = text.toLowerCase();
    const userItems: ServerShareCandidate[] = users
      .filter((u) => u.name !== this.owner && !shared.has(`user:${u.name}`))
      .map((u) => ({ kind: 'user', name: u.name, label: u.name }));
    const groupItems: ServerShareCandidate[] = groups
      .filter((g) => g.name.toLowerCase().includes(lower) && !shared.has(`group:${g.name}`))
      .map((g) => ({ kind: 'group', name: g.name, label: `${g.name} (group)` }));
    return [...userItems, ...groupItems].slice(0, limit);
  }

  /** The sharee a typed text names: a completion's group, else a user name. */
  shareeOfText(text: string, candidates: readonly ServerShareCandidate[]): ServerSharee {
    const clean = text.trim();
    const picked = candidates.find((c) => c.label === clean);
    if (picked?.kind === 'group') return { group: picked.name };
    const group = /^(.+) \(group\)$/.exec(clean);
    return group ? { group: group[1]! } : { user: clean };
  }

  /** Share with a user or a group; `manage` lets them start and stop it too. */
  async share(sharee: ServerSharee, manage: boolean): Promise<void> {
    const name = 'user' in sharee ? sharee.user : sharee.group;
    if (!name.trim()) throw this.refuse('Please give a user or a group to share with.');
    if ('user' in sharee && sharee.user === this.owner)
      throw this.refuse('The server is yours already.');
    await this.act(() => this.client.shareServer(this.owner, this.server, sharee, manage));
  }

  async revoke(sharee: ServerSharee): Promise<void> {
    await this.act(() => this.client.unshareServer(this.owner, this.server, sharee));
  }

  async createCode(seconds: number, manage: boolean): Promise<IServerShareCodeCreated> {
    const made = await this.act(() =>
      this.client.createServerShareCode(this.owner, this.server, seconds, manage),
    );
    this._lastCode = made;
    this._changed.emit();
    return made;
  }

  async revokeCode(id: number): Promise<void> {
    await this.act(() => this.client.revokeServerShareCode(this.owner, this.server, id));
    if (this._lastCode?.id === id) {
      this._lastCode = null;
      this._changed.emit();
    }
  }

  private refuse(message: string): HubError {
    const error = new HubError(400, 'invalid_input', message);
    this._error = toSharingError(error);
    this._changed.emit();
    return error;
  }
}

/** The servers shared with me, for the "Shared with me" panel. */
export class SharedWithMeModel {
  constructor(
    private readonly client: ISharesClient,
    readonly me: string,
  ) {}

  private _items: IServerShare[] = [];
  private _error: ISharingError | null = null;
  private readonly _changed = new Signal<this, void>(this);

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get items(): readonly IServerShare[] {
    return this._items;
  }
  get error(): ISharingError | null {
    return this._error;
  }

  async refresh(): Promise<void> {
    try {
      this._items = await this.client.sharedWithMe(this.me);
      this._error = null;
    } catch (e) {
      this._error = toSharingError(e);
    } finally {
      this._changed.emit();
    }
  }
}
