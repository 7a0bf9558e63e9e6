/**
 * State of the "Share this server…" dialog: who the server is shared with (users, or groups by
 * name), with or without start/stop, and its share codes; what every share dialog does is
 * share-picker/model.ts. And the list of servers shared with me. Unit-tested against a fake
 * client.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { hubFailureOf, type IHubFailure } from '../api.js';
import { type ShareCandidate, SharingModel, shareeKey } from '../share-picker/model.js';
import type {
  IGroupsClient,
  IServerShare,
  IServerShareCode,
  IServerShareCodeCreated,
  ISharesClient,
  IUserClient,
  ServerSharee,
} from '../tokens.js';

/** The grantee of an existing share. */
export function shareeOfShare(share: IServerShare): ServerSharee {
  return share.user ? { user: share.user.name } : { group: share.group?.name ?? '' };
}

/** The key a share is known by in lists (`user:bob`, `group:observers`). */
export const serverShareeKey: (s: ServerSharee) => string = shareeKey;

/** Does the share let its holder start and stop the server (JupyterHub's `servers` scope)? */
export const canManage = (share: { scopes: readonly string[] }): boolean =>
  share.scopes.some((scope) => scope === 'servers' || scope.startsWith('servers!'));

/** The label of a server: `alice/` is alice's default server, `alice/gpu` a named one. */
export const serverLabel = (owner: string, server: string): string => `${owner}/${server}`;

/** Expiries offered for share codes, in seconds. */
export const CODE_EXPIRIES = [3600, 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600];

export class ServerShareModel extends SharingModel<
  IServerShare,
  IServerShareCode,
  IServerShareCodeCreated,
  ServerSharee
> {
  constructor(
    private readonly client: ISharesClient,
    users: IUserClient,
    groups: IGroupsClient,
    /** The server's owner (me, in my own server) and its name ("" the default server). */
    readonly owner: string,
    readonly server: string,
  ) {
    super(users, groups, owner, 'server');
  }

  protected listShares(): Promise<IServerShare[]> {
    return this.client.listServerShares(this.owner, this.server);
  }
  protected listCodes(): Promise<IServerShareCode[]> {
    return this.client.listServerShareCodes(this.owner, this.server);
  }
  shareeOf(share: IServerShare): ServerSharee {
    return shareeOfShare(share);
  }
  /** Groups by name; a typed "name (group)" names a group too. */
  protected shareeOfCandidate(candidate: ShareCandidate): ServerSharee {
    if (candidate.kind === 'group') return { group: candidate.name };
    const group = /^(.+) \(group\)$/.exec(candidate.name);
    return group ? { group: group[1]! } : { user: candidate.name };
  }

  /** Share with a user or a group; `manage` lets them start and stop it too. */
  async share(sharee: ServerSharee, manage: boolean): Promise<void> {
    const clean = this.checked(sharee);
    await this.act(() => this.client.shareServer(this.owner, this.server, clean, manage));
  }

  async revoke(sharee: ServerSharee): Promise<void> {
    await this.act(() => this.client.unshareServer(this.owner, this.server, sharee));
  }

  createCode(seconds: number, manage: boolean): Promise<IServerShareCodeCreated> {
    return this.made(() =>
      this.client.createServerShareCode(this.owner, this.server, seconds, manage),
    );
  }

  revokeCode(id: number): Promise<void> {
    return this.codeRevoked(id, () =>
      this.client.revokeServerShareCode(this.owner, this.server, id),
    );
  }
}

/** The servers shared with me, for the "Shared with me" panel. */
export class SharedWithMeModel {
  constructor(
    private readonly client: ISharesClient,
    readonly me: string,
  ) {}

  private _items: IServerShare[] = [];
  private _error: IHubFailure | null = null;
  private readonly _changed = new Signal<this, void>(this);

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get items(): readonly IServerShare[] {
    return this._items;
  }
  get error(): IHubFailure | null {
    return this._error;
  }

  async refresh(): Promise<void> {
    try {
      this._items = await this.client.sharedWithMe(this.me);
      this._error = null;
    } catch (e) {
      this._error = hubFailureOf(e);
    } finally {
      this._changed.emit();
    }
  }
}
