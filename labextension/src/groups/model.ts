/**
 * State of the Groups panel and the actions on it. Talks to the hub only through
 * `IGroupsClient` and `IUserClient`, so unit tests run it against an in-memory hub. Actions reject with
 * `HubError`; the commands show those in dialogs. Refresh failures are kept in
 * `error` and shown in the panel.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError, hubFailureOf, type IHubFailure } from '../api.js';
import type {
  GroupRole,
  HubId,
  IDomain,
  IGroupDetail,
  IGroupMember,
  IGroupSummary,
  IGroupsClient,
  IHubUser,
  IInvitation,
  InvitableRole,
  IUserClient,
} from '../tokens.js';

const sameId = (a: HubId | null | undefined, b: HubId | null | undefined): boolean =>
  a !== null && a !== undefined && b !== null && b !== undefined && String(a) === String(b);

const MANAGERS: readonly GroupRole[] = ['OWNER', 'ADMIN'];

/** Hub names are non-empty, trimmed; anything else the hub validates itself. */
function requireText(value: string | undefined, what: string): string {
  const v = (value ?? '').trim();
  if (!v) {
    throw new HubError(400, 'invalid_input', `Please give ${what}.`);
  }
  return v;
}

export class GroupsModel {
  constructor(
    private readonly client: IGroupsClient,
    private readonly users: IUserClient,
  ) {}

  private _user: IHubUser | null = null;
  private _groups: IGroupSummary[] = [];
  private _invitations: IInvitation[] = [];
  private _domains: IDomain[] = [];
  private _selectedId: HubId | null = null;
  private _selected: IGroupDetail | null = null;
  private _loading = false;
  private _loaded = false;
  private _error: IHubFailure | null = null;
  private _refreshSeq = 0;
  private _changed = new Signal<this, void>(this);

  /** Emitted after any change of state. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get user(): IHubUser | null {
    return this._user;
  }
  get groups(): readonly IGroupSummary[] {
    return this._groups;
  }
  get invitations(): readonly IInvitation[] {
    return this._invitations;
  }
  get domains(): readonly IDomain[] {
    return this._domains;
  }
  get selectedId(): HubId | null {
    return this._selectedId;
  }
  /** Details of the selected group, once loaded. */
  get selected(): IGroupDetail | null {
    return this._selected;
  }
  get loading(): boolean {
    return this._loading;
  }
  /** True once a refresh has succeeded. */
  get loaded(): boolean {
    return this._loaded;
  }
  /** The last refresh failure, cleared by the next successful refresh. */
  get error(): IHubFailure | null {
    return this._error;
  }

  group(id: HubId): IGroupSummary | undefined {
    return this._groups.find((g) => sameId(g.id, id));
  }

  /** Can I invite, promote and remove in this group? */
  canManage(group: { role: GroupRole | null } | undefined | null): boolean {
    return !!group?.role && MANAGERS.includes(group.role);
  }

  /** Can I change this member's role (never the owner's, never my own)? */
  canChangeRole(group: IGroupDetail, member: IGroupMember): boolean {
    return this.canManage(group) && member.role !== 'OWNER' && member.name !== this._user?.name;
  }

  /** Can I remove this member? Owners remove anyone but themselves; admins remove members. */
  canRemove(group: IGroupDetail, member: IGroupMember): boolean {
    if (member.name === this._user?.name || member.role === 'OWNER') {
      return false;
    }
    return group.role === 'OWNER' || (group.role === 'ADMIN' && member.role === 'MEMBER');
  }

  /** Every member but an owner can leave (a platform admin may see a group without a role). */
  canLeave(group: { role: GroupRole | null } | undefined | null): boolean {
    return !!group?.role && group.role !== 'OWNER';
  }

  /** Load who I am, my groups, my invitations and the domains; reload the selected group. */
  async refresh(): Promise<void> {
    const seq = ++this._refreshSeq;
    this._loading = true;
    this._changed.emit();
    try {
      const [user, groups, invitations, domains] = await Promise.all([
        this.users.currentUser(),
        this.client.listGroups(),
        this.client.listInvitations(),
        this.client.listDomains(),
      ]);
      if (seq !== this._refreshSeq) {
        return;
      }
      this._user = user;
      this._groups = [...groups].sort((a, b) => a.name.localeCompare(b.name));
      this._invitations = invitations;
      this._domains = [...domains].sort((a, b) => a.name.localeCompare(b.name));
      this._error = null;
      this._loaded = true;
      if (this._selectedId !== null && !this.group(this._selectedId)) {
        this._selectedId = null;
        this._selected = null;
      }
      if (this._selectedId !== null) {
        this._selected = await this.client.getGroup(this._selectedId);
      }
    } catch (e) {
      if (seq === this._refreshSeq) {
        this._error = hubFailureOf(e);
      }
      throw e;
    } finally {
      if (seq === this._refreshSeq) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** Show one group's details (or none). Selecting the selected group again closes it. */
  async select(id: HubId | null): Promise<void> {
    if (id === null || sameId(id, this._selectedId)) {
      this._selectedId = null;
      this._selected = null;
      this._changed.emit();
      return;
    }
    this._selectedId = id;
    this._selected = null;
    this._changed.emit();
    const detail = await this.client.getGroup(id);
    if (sameId(this._selectedId, id)) {
      this._selected = detail;
      this._changed.emit();
    }
  }

  private async reloadSelected(): Promise<void> {
    if (this._selectedId !== null) {
      this._selected = await this.client.getGroup(this._selectedId);
      this._changed.emit();
    }
  }

  async createGroup(name: string, description = ''): Promise<IGroupSummary> {
    const created = await this.client.createGroup(
      requireText(name, 'a group name'),
      description.trim(),
    );
    await this.refresh();
    this._selectedId = null;
    await this.select(created.id);
    return created;
  }

  async updateGroup(id: HubId, patch: { name?: string; description?: string }): Promise<void> {
    const clean: { name?: string; description?: string } = {};
    if (patch.name !== undefined) {
      clean.name = requireText(patch.name, 'a group name');
    }
    if (patch.description !== undefined) {
      clean.description = patch.description.trim();
    }
    await this.client.updateGroup(id, clean);
    await this.refresh();
  }

  async deleteGroup(id: HubId): Promise<void> {
    await this.client.deleteGroup(id);
    if (sameId(id, this._selectedId)) {
      this._selectedId = null;
      this._selected = null;
    }
    await this.refresh();
  }

  async invite(groupId: HubId, username: string, role: InvitableRole = 'MEMBER'): Promise<void> {
    await this.client.invite(groupId, requireText(username, 'a user name'), role);
    if (sameId(groupId, this._selectedId)) {
      await this.reloadSelected();
    }
  }

  async acceptInvitation(id: HubId): Promise<void> {
    await this.client.acceptInvitation(id);
    await this.refresh();
  }

  async declineInvitation(id: HubId): Promise<void> {
    await this.client.declineInvitation(id);
    await this.refresh();
  }

  async setRole(groupId: HubId, username: string, role: InvitableRole): Promise<void> {
    await this.client.setMemberRole(groupId, requireText(username, 'a user name'), role);
    await this.refresh();
  }

  async removeMember(groupId: HubId, username: string): Promise<void> {
    await this.client.removeMember(groupId, requireText(username, 'a user name'));
    await this.refresh();
  }

  /** Leave a group: remove myself. */
  async leave(groupId: HubId): Promise<void> {
    const me = this._user ?? (await this.users.currentUser());
    await this.client.removeMember(groupId, me.name);
    if (sameId(groupId, this._selectedId)) {
      this._selectedId = null;
      this._selected = null;
    }
    await this.refresh();
  }

  async joinDomain(id: HubId): Promise<void> {
    await this.client.joinDomain(id);
    await this.refresh();
  }

  async leaveDomain(id: HubId): Promise<void> {
    await this.client.leaveDomain(id);
    await this.refresh();
  }

  /**
   * User names to offer when inviting into `groupId`: those starting with `prefix`,
   * minus me and the group's current members.
   */
  async completeUsernames(prefix: string, groupId?: HubId): Promise<string[]> {
    const p = prefix.trim();
    if (!p) {
      return [];
    }
    const users = await this.users.searchUsers(p, 10);
    const exclude = new Set<string>();
    if (this._user) {
      exclude.add(this._user.name);
    }
    if (groupId !== undefined && this._selected && sameId(this._selected.id, groupId)) {
      for (const m of this._selected.members) {
        exclude.add(m.name);
      }
    }
    return users.map((u) => u.name).filter((n) => !exclude.has(n));
  }
}
