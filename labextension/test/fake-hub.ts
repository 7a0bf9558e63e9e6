/**
 * An in-memory hub behind the hub client interfaces (`IUserClient`, `IGroupsClient`,
 * `IServersClient`): the boundary the panels' models talk through. Its answers have the
 * shapes of the generated hub API types, so a change of the hub's contract breaks it. One `FakeHub` holds the state; `clientFor(name)` acts as that user.
 * Errors mirror the hub's contract (`{error, message}` with 4xx statuses).
 */
import { HubError } from '../src/api.js';
import type {
  GroupRole,
  HubId,
  IComputeInfo,
  IDomain,
  IGroupDetail,
  IGroupSummary,
  IGroupsClient,
  IHubUser,
  IInvitation,
  InvitableRole,
  IServerInfo,
  IServersClient,
  IUserClient,
  IUserName,
} from '../src/tokens.js';

const CREATED = '2026-01-01T00:00:00.000Z';

interface Group {
  id: number;
  name: string;
  description: string;
  members: Map<string, GroupRole>;
}

interface Invitation {
  id: number;
  groupId: number;
  username: string;
  role: InvitableRole;
  invitedBy: string;
  status: 'pending' | 'accepted' | 'declined';
}

export class FakeHub {
  users = new Set<string>();
  groups = new Map<number, Group>();
  invitations: Invitation[] = [];
  domains: { id: number; name: string; description: string; members: Set<string> }[] = [];
  /** Idle-stop times of running servers, by `user/server`. */
  cullAt = new Map<string, string | null>();
  /** Every call, as `user method args`, for assertions on what the model asked. */
  calls: string[] = [];
  private nextId = 1;

  addUser(...names: string[]): this {
    for (const n of names) {
      this.users.add(n);
    }
    return this;
  }

  addDomain(name: string, description = ''): number {
    const id = this.nextId++;
    this.domains.push({ id, name, description, members: new Set() });
    return id;
  }

  id(): number {
    return this.nextId++;
  }

  clientFor(name: string): FakeClient {
    return new FakeClient(this, name);
  }
}

const notFound = (message: string) => new HubError(404, 'not_found', message);
const forbidden = (message: string) => new HubError(403, 'forbidden', message);

export class FakeClient implements IUserClient, IGroupsClient, IServersClient {
  /** When set, the next call rejects with it (then it is cleared). */
  failNext: HubError | null = null;

  constructor(
    private readonly hub: FakeHub,
    readonly name: string,
  ) {}

  private async enter(method: string, ...args: unknown[]): Promise<void> {
    this.hub.calls.push([this.name, method, ...args.map(String)].join(' '));
    await Promise.resolve();
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
  }

  private group(id: HubId): Group {
    const g = this.hub.groups.get(Number(id));
    if (!g?.members.has(this.name)) {
      throw notFound(`No group ${id}`);
    }
    return g;
  }

  private manage(id: HubId): Group {
    const g = this.group(id);
    const role = g.members.get(this.name);
    if (role !== 'OWNER' && role !== 'ADMIN') {
      throw forbidden('Only owners and admins can do that');
    }
    return g;
  }

  private summary(g: Group): IGroupSummary {
    return {
      id: g.id,
      name: g.name,
      description: g.description,
      kind: 'group',
      createdAt: CREATED,
      role: g.members.get(this.name)!,
      memberCount: g.members.size,
    };
  }

  async currentUser(): Promise<IHubUser> {
    await this.enter('currentUser');
    return {
      kind: 'user',
      name: this.name,
      safe_name: this.name,
      admin: false,
      approved: true,
      email: null,
      created: CREATED,
      last_login: null,
      scopes: ['groups', 'read:users'],
      token_server: null,
    };
  }

  async searchUsers(prefix: string, limit = 10): Promise<IUserName[]> {
    await this.enter('searchUsers', prefix);
    return [...this.hub.users]
      .filter((u) => u.startsWith(prefix))
      .sort()
      .slice(0, limit)
      .map((name) => ({ name }));
  }

  async listGroups(): Promise<IGroupSummary[]> {
    await this.enter('listGroups');
    return [...this.hub.groups.values()]
      .filter((g) => g.members.has(this.name))
      .map((g) => this.summary(g));
  }

  async getGroup(id: HubId): Promise<IGroupDetail> {
    await this.enter('getGroup', id);
    const g = this.group(id);
    return {
      ...this.summary(g),
      members: [...g.members].map(([name, role]) => ({ name, role, joinedAt: CREATED })),
      subgroups: [],
      invitations: this.hub.invitations
        .filter((i) => i.groupId === g.id)
        .map((i) => ({
          id: i.id,
          username: i.username,
          role: i.role,
          status: i.status,
          createdAt: CREATED,
        })),
    };
  }

  async createGroup(name: string, description: string): Promise<IGroupSummary> {
    await this.enter('createGroup', name);
    if ([...this.hub.groups.values()].some((g) => g.name === name)) {
      throw new HubError(409, 'conflict', `A group named "${name}" exists`);
    }
    const g: Group = { id: this.hub.id(), name, description, members: new Map() };
    g.members.set(this.name, 'OWNER');
    this.hub.groups.set(g.id, g);
    return this.summary(g);
  }

  async updateGroup(id: HubId, patch: { name?: string; description?: string }): Promise<void> {
    await this.enter('updateGroup', id);
    Object.assign(this.manage(id), patch);
  }

  async deleteGroup(id: HubId): Promise<void> {
    await this.enter('deleteGroup', id);
    const g = this.group(id);
    if (g.members.get(this.name) !== 'OWNER') {
      throw forbidden('Only the owner can delete a group');
    }
    this.hub.groups.delete(g.id);
  }

  async invite(groupId: HubId, username: string, role: InvitableRole): Promise<void> {
    await this.enter('invite', groupId, username, role);
    const g = this.manage(groupId);
    if (!this.hub.users.has(username)) {
      throw notFound(`No user named "${username}"`);
    }
    this.hub.invitations.push({
      id: this.hub.id(),
      groupId: g.id,
      username,
      role,
      invitedBy: this.name,
      status: 'pending',
    });
  }

  async listInvitations(): Promise<IInvitation[]> {
    await this.enter('listInvitations');
    return this.hub.invitations
      .filter((i) => i.username === this.name && i.status === 'pending')
      .map((i) => {
        const g = this.hub.groups.get(i.groupId)!;
        return {
          id: i.id,
          group: { id: g.id, name: g.name, description: g.description },
          role: i.role,
          invitedBy: i.invitedBy,
          createdAt: CREATED,
        };
      });
  }

  private mine(id: HubId): Invitation {
    const inv = this.hub.invitations.find(
      (i) => i.id === Number(id) && i.username === this.name && i.status === 'pending',
    );
    if (!inv) {
      throw notFound(`No invitation ${id}`);
    }
    return inv;
  }

  async acceptInvitation(id: HubId): Promise<void> {
    await this.enter('acceptInvitation', id);
    const inv = this.mine(id);
    inv.status = 'accepted';
    this.hub.groups.get(inv.groupId)!.members.set(this.name, inv.role);
  }

  async declineInvitation(id: HubId): Promise<void> {
    await this.enter('declineInvitation', id);
    this.mine(id).status = 'declined';
  }

  async setMemberRole(groupId: HubId, username: string, role: InvitableRole): Promise<void> {
    await this.enter('setMemberRole', groupId, username, role);
    const g = this.manage(groupId);
    if (!g.members.has(username)) {
      throw notFound(`${username} is not a member`);
    }
    g.members.set(username, role);
  }

  async removeMember(groupId: HubId, username: string): Promise<void> {
    await this.enter('removeMember', groupId, username);
    const g = username === this.name ? this.group(groupId) : this.manage(groupId);
    if (g.members.get(username) === 'OWNER') {
      throw new HubError(409, 'conflict', 'The owner cannot leave or be removed');
    }
    g.members.delete(username);
  }

  async listDomains(): Promise<IDomain[]> {
    await this.enter('listDomains');
    return this.hub.domains.map((d) => ({
      id: d.id,
      name: d.name,
      description: d.description,
      joined: d.members.has(this.name),
    }));
  }

  private domain(id: HubId) {
    const d = this.hub.domains.find((x) => x.id === Number(id));
    if (!d) {
      throw notFound(`No domain ${id}`);
    }
    return d;
  }

  async joinDomain(id: HubId): Promise<void> {
    await this.enter('joinDomain', id);
    this.domain(id).members.add(this.name);
  }

  async leaveDomain(id: HubId): Promise<void> {
    await this.enter('leaveDomain', id);
    this.domain(id).members.delete(this.name);
  }

  async computeInfo(): Promise<IComputeInfo> {
    await this.enter('computeInfo');
    return {
      domains: [{ name: 'local', backend: 'local' }],
      images: ['orrery/lab:latest'],
      max_servers: 2,
      idle_cull_seconds: 3 * 24 * 3600,
      cull_warning_seconds: 3600,
      limits: { memory_bytes: 2 ** 31, cpus: 1, pids: 512 },
    };
  }

  async serverInfo(user: string, server: string): Promise<IServerInfo> {
    await this.enter('serverInfo', user, server);
    const cullAt = this.hub.cullAt.get(`${user}/${server}`);
    if (cullAt === undefined) {
      throw notFound(`No server named "${server}" is running`);
    }
    return {
      name: server,
      ready: true,
      pending: null,
      stopped: false,
      url: `/user/${user}/${server}/`,
      progress_url: `/hub/api/users/${user}/servers/${server}/progress`,
      started: CREATED,
      last_activity: new Date().toISOString(),
      user_options: {},
      image: 'orrery/lab:latest',
      domain: 'local',
      status: 'running',
      ready_at: CREATED,
      cull_at: cullAt,
    };
  }

  async keepServerAlive(user: string, server: string): Promise<IServerInfo> {
    await this.enter('keepServerAlive', user, server);
    this.hub.cullAt.set(
      `${user}/${server}`,
      new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString(),
    );
    return this.serverInfo(user, server);
  }
}
