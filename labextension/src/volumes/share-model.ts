/**
 * State of the Share dialog for one volume: its shares and live invite codes, sharing with
 * users or groups, revoking, making and revoking invite codes, and completion of who to share
 * with (users the hub lets me see, my groups). Unit-tested against the in-memory hub.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError } from '../api.js';
import type {
  IFilesClient,
  IGroupsClient,
  IUserClient,
  IVolumeLink,
  IVolumeLinkCreated,
  IVolumeRef,
  IVolumeShare,
  ShareAccess,
  Sharee,
} from '../tokens.js';
import { type IVolumesError, toVolumesError } from './model.js';

/** One completion for the "share with" field. */
export type ShareCandidate =
  | { kind: 'user'; name: string; label: string }
  | { kind: 'group'; id: number; name: string; label: string };

/** The grantee of an existing share. */
export function shareeOf(share: IVolumeShare): Sharee {
  return share.user !== null ? { user: share.user } : { group: share.group!.id };
}

/** The key a share or a candidate is known by in lists (`user:bob`, `group:7`). */
export function shareeKey(s: Sharee): string {
  return 'user' in s ? `user:${s.user}` : `group:${s.group}`;
}

export class ShareModel {
  constructor(
    private readonly client: IFilesClient,
    private readonly users: IUserClient,
    private readonly groups: IGroupsClient,
    readonly volume: IVolumeRef,
    /** My name: I am never offered as a grantee. */
    private readonly me: string,
  ) {}

  private _shares: IVolumeShare[] = [];
  private _links: IVolumeLink[] = [];
  private _lastCode: IVolumeLinkCreated | null = null;
  private _error: IVolumesError | null = null;
  private _changed = new Signal<this, void>(this);

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get shares(): readonly IVolumeShare[] {
    return this._shares;
  }
  get links(): readonly IVolumeLink[] {
    return this._links;
  }
  /** The invite code made last: the hub shows a code once, so it is kept to copy. */
  get lastCode(): IVolumeLinkCreated | null {
    return this._lastCode;
  }
  get error(): IVolumesError | null {
    return this._error;
  }

  /** Reload the shares and the live codes. A failure is kept in `error` and rethrown. */
  async refresh(): Promise<void> {
    try {
      const [shares, links] = await Promise.all([
        this.client.listShares(this.volume),
        this.client.listLinks(this.volume),
      ]);
      this._shares = shares;
      this._links = links;
      this._error = null;
    } catch (e) {
      this._error = toVolumesError(e);
      throw e;
    } finally {
      this._changed.emit();
    }
  }

  /** Run an action, then reload; a failed action is also kept in `error` for the dialog. */
  private async act<T>(action: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await action();
    } catch (e) {
      this._error = toVolumesError(e);
      this._changed.emit();
      throw e;
    }
    await this.refresh();
    return result;
  }

  /**
   * Users whose names start with `prefix` and my groups whose names contain it, without me
   * and without who already has a share. Users come from the hub's user list (what the
   * server's token may see); groups from my own groups.
   */
  async candidates(prefix: string, limit = 10): Promise<ShareCandidate[]> {
    const text = prefix.trim();
    const shared = new Set(this._shares.map((s) => shareeKey(shareeOf(s))));
    const [users, groups] = await Promise.all([
      text ? this.users.searchUsers(text, limit + 1) : Promise.resolve([]),
      this.groups.listGroups(),
    ]);
    const userItems: ShareCandidate[] = users
      .filter((u) => u.name !== this.me && !shared.has(`user:${u.name}`))
      .map((u) => ({ kind: 'user', name: u.name, label: u.name }));
    const lower = text.toLowerCase();
    const groupItems: ShareCandidate[] = groups
      .filter((g) => g.name.toLowerCase().includes(lower))
      .filter((g) => !shared.has(`group:${Number(g.id)}`))
      .map((g) => ({ kind: 'group', id: Number(g.id), name: g.name, label: `${g.name} (group)` }));
    return [...userItems, ...groupItems].slice(0, limit);
  }

  /** Share with a user or a group; sharing again changes the access. */
  async share(sharee: Sharee, access: ShareAccess): Promise<void> {
    const clean: Sharee = 'user' in sharee ? { user: sharee.user.trim() } : sharee;
    if ('user' in clean && !clean.user) {
      throw new HubError(400, 'invalid_input', 'Please give a user or a group to share with.');
    }
    if ('user' in clean && clean.user === this.me) {
      throw new HubError(400, 'invalid_input', 'The volume is yours already.');
    }
    await this.act(() => this.client.share(this.volume, clean, access));
  }

  async revoke(sharee: Sharee): Promise<void> {
    await this.act(() => this.client.unshare(this.volume, sharee));
  }

  /** Make an invite code valid for `hours` (1 h to 90 days). */
  async createCode(hours: number): Promise<IVolumeLinkCreated> {
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 90) {
      throw new HubError(400, 'invalid_input', 'An invite code lasts 1 hour to 90 days.');
    }
    const made = await this.act(() => this.client.createLink(this.volume, hours));
    this._lastCode = made;
    this._changed.emit();
    return made;
  }

  async revokeCode(id: number): Promise<void> {
    await this.act(() => this.client.revokeLink(this.volume, id));
    if (this._lastCode?.id === id) {
      this._lastCode = null;
      this._changed.emit();
    }
  }
}
