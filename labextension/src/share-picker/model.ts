/**
 * What the two share dialogs (a volume's, a server's) have in common: the shares of one thing
 * and its live codes, reloaded after each action; completion of who to share with (users the
 * hub lets me see, my groups); grantees checked before the hub is asked; the code made last,
 * kept to copy (the hub shows a code once); failures kept to show in the dialog. Each dialog's
 * model says how its hub calls and its grantees look. Unit-tested through both models.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError, hubFailureOf, type IHubFailure } from '../api.js';
import type { IGroupsClient, IUserClient } from '../tokens.js';

/** One completion for the "share with" field. */
export type ShareCandidate =
  | { kind: 'user'; name: string; label: string }
  | { kind: 'group'; id: number; name: string; label: string };

/** A grantee named by a user's name, or a group's (a volume names groups by id, a server by name). */
export type AnySharee = { user: string } | { group: string | number };

/** The key a grantee is known by in lists (`user:bob`, `group:7`, `group:observers`). */
export function shareeKey(s: AnySharee): string {
  return 'user' in s ? `user:${s.user}` : `group:${s.group}`;
}

export abstract class SharingModel<
  TShare,
  TCode extends { id: number },
  TMade extends { id: number },
  TSharee extends AnySharee,
> {
  constructor(
    private readonly users: IUserClient,
    private readonly groups: IGroupsClient,
    /** Whose the thing is: never offered, and refused as a grantee. */
    private readonly ownedBy: string,
    /** The thing, for the refusal "The volume is yours already." */
    private readonly thing: string,
  ) {}

  private _shares: TShare[] = [];
  private _codes: TCode[] = [];
  private _lastCode: TMade | null = null;
  private _error: IHubFailure | null = null;
  private readonly _changed = new Signal<this, void>(this);

  /** The hub's calls for this thing. */
  protected abstract listShares(): Promise<TShare[]>;
  protected abstract listCodes(): Promise<TCode[]>;
  /** Who holds a share. */
  abstract shareeOf(share: TShare): TSharee;
  /** The grantee a completion (or a typed name, as a user) stands for. */
  protected abstract shareeOfCandidate(candidate: ShareCandidate): TSharee;

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get shares(): readonly TShare[] {
    return this._shares;
  }
  get codes(): readonly TCode[] {
    return this._codes;
  }
  /** The code made last: the hub shows a code once, so it is kept to copy. */
  get lastCode(): TMade | null {
    return this._lastCode;
  }
  get error(): IHubFailure | null {
    return this._error;
  }

  /** Reload the shares and the live codes. A failure is kept in `error` and rethrown. */
  async refresh(): Promise<void> {
    try {
      const [shares, codes] = await Promise.all([this.listShares(), this.listCodes()]);
      this._shares = shares;
      this._codes = codes;
      this._error = null;
    } catch (e) {
      this._error = hubFailureOf(e);
      throw e;
    } finally {
      this._changed.emit();
    }
  }

  /** Run an action, then reload; a failed action is also kept in `error` for the dialog. */
  protected async act<T>(action: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await action();
    } catch (e) {
      this._error = hubFailureOf(e);
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
  async candidates(prefix: string, limit = 10): Promise<ShareCandidate[]> {
    const text = prefix.trim();
    const shared = new Set(this._shares.map((s) => shareeKey(this.shareeOf(s))));
    const [users, groups] = await Promise.all([
      text ? this.users.searchUsers(text, limit + 1) : Promise.resolve([]),
      this.groups.listGroups(),
    ]);
    const lower = text.toLowerCase();
    const userItems: ShareCandidate[] = users
      .filter((u) => u.name !== this.ownedBy && !shared.has(`user:${u.name}`))
      .map((u) => ({ kind: 'user', name: u.name, label: u.name }));
    const groupItems: ShareCandidate[] = groups
      .map((g) => ({ kind: 'group' as const, id: Number(g.id), name: g.name }))
      .filter((g) => g.name.toLowerCase().includes(lower))
      .filter((g) => !shared.has(shareeKey(this.shareeOfCandidate({ ...g, label: '' }))))
      .map((g) => ({ ...g, label: `${g.name} (group)` }));
    return [...userItems, ...groupItems].slice(0, limit);
  }

  /** The grantee a typed text names: a completion it matches, else a user of that name. */
  shareeOfText(text: string, candidates: readonly ShareCandidate[]): TSharee {
    const clean = text.trim();
    const picked = candidates.find((c) => c.label === clean);
    return this.shareeOfCandidate(picked ?? { kind: 'user', name: clean, label: clean });
  }

  /** A grantee fit to send: a user's name trimmed, never empty, never the owner. */
  protected checked(sharee: TSharee): TSharee {
    if (!('user' in sharee)) {
      if (typeof sharee.group === 'string' && !sharee.group.trim())
        throw this.refuse('Please give a user or a group to share with.');
      return sharee;
    }
    const user = sharee.user.trim();
    if (!user) throw this.refuse('Please give a user or a group to share with.');
    if (user === this.ownedBy) throw this.refuse(`The ${this.thing} is yours already.`);
    return { ...sharee, user };
  }

  /** Make a code and keep it to copy. */
  protected async made(action: () => Promise<TMade>): Promise<TMade> {
    const made = await this.act(action);
    this._lastCode = made;
    this._changed.emit();
    return made;
  }

  /** Revoke a code; the one kept to copy goes with it. */
  protected async codeRevoked(id: number, action: () => Promise<unknown>): Promise<void> {
    await this.act(action);
    if (this._lastCode?.id === id) {
      this._lastCode = null;
      this._changed.emit();
    }
  }

  /** A refusal before the hub is asked, shown in the dialog like the hub's own. */
  protected refuse(message: string): HubError {
    const error = new HubError(400, 'invalid_input', message);
    this._error = hubFailureOf(error);
    this._changed.emit();
    return error;
  }
}
