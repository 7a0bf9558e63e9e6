/**
 * An in-memory hub behind the hub client interfaces (`IUserClient`, `IGroupsClient`,
 * `IServersClient`): the boundary the panels' models talk through. Its answers have the
 * shapes of the generated hub API types, so a change of the hub's contract breaks it. One `FakeHub` holds the state; `clientFor(name)` acts as that user.
 * Errors mirror the hub's contract (`{error, message}` with 4xx statuses).
 */
import { HubError, HubQueryError } from '../src/api.js';
import type {
  ExportFormat,
  GroupRole,
  HubId,
  IBatchQuery,
  IComputeInfo,
  IDomain,
  IGroupDetail,
  IGroupSummary,
  IGroupsClient,
  IHistoryEntry,
  IHubUser,
  IImportResult,
  IInvitation,
  IMyDBClient,
  IMyDBContext,
  IMyDBTable,
  ImportFormat,
  InvitableRole,
  IQuickQueryAnswer,
  IQuickQueryRequest,
  ISavedResult,
  IServerInfo,
  IServersClient,
  IUserClient,
  IUserName,
} from '../src/tokens.js';
import { FakeFiles } from './fake-files.js';

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
  /** MyDB: contexts, tables, canned query answers, batch jobs, history. */
  mydb = new FakeMyDB();
  /** Files: volumes, shares, invite codes, usage (`files.clientFor(name)` acts as a user). */
  files: FakeFiles = new FakeFiles(this);
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

export class FakeClient implements IUserClient, IGroupsClient, IServersClient, IMyDBClient {
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
      created_at: CREATED,
      role: g.members.get(this.name)!,
      member_count: g.members.size,
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
      members: [...g.members].map(([name, role]) => ({ name, role, joined_at: CREATED })),
      subgroups: [],
      invitations: this.hub.invitations
        .filter((i) => i.groupId === g.id)
        .map((i) => ({
          id: i.id,
          username: i.username,
          role: i.role,
          status: i.status,
          created_at: CREATED,
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
          invited_by: i.invitedBy,
          created_at: CREATED,
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

  // -------------------------------------------------------------------------
  // MyDB, as the contract (MYDB-CONTRACT / docs/mydb.md) describes the routes
  // -------------------------------------------------------------------------

  private mydbRoute(route: FakeMyDBRoute, user?: string): FakeMyDB {
    const m = this.hub.mydb;
    if (m.missingRoutes.has(route)) {
      throw new HubQueryError(404, 'not_found', `No API route ${route}`, null);
    }
    if (user !== undefined && user !== this.name) {
      throw new HubError(403, 'forbidden', 'Only for yourself');
    }
    return m;
  }

  async contexts(): Promise<IMyDBContext[]> {
    await this.enter('contexts');
    const m = this.mydbRoute('contexts');
    return m.contexts.map((c) => ({
      ...c,
      schema: c.name === 'mydb' ? `mydb_${this.name}` : c.schema,
    }));
  }

  async tables(context: string): Promise<IMyDBTable[]> {
    await this.enter('tables', context);
    const m = this.mydbRoute('tables');
    if (context === 'mydb') {
      return [...m.mydbTables.values()].map((t) => t.table);
    }
    const tables = m.catalogTables.get(context);
    if (!tables) {
      throw notFound(`No context "${context}"`);
    }
    return tables;
  }

  async query(user: string, request: IQuickQueryRequest): Promise<IQuickQueryAnswer> {
    await this.enter('query', user, request.context ?? 'mydb', request.sql);
    const m = this.mydbRoute('query', user);
    m.requests.push(request);
    try {
      const answer = m.answer(request);
      m.record('quick', request, 'finished', null);
      return answer;
    } catch (e) {
      m.record('quick', request, 'failed', null, e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  async saveInto(
    user: string,
    request: IQuickQueryRequest & { into: string },
  ): Promise<ISavedResult> {
    await this.enter('saveInto', user, request.into);
    const m = this.mydbRoute('into', user);
    if (m.mydbTables.has(request.into)) {
      throw new HubError(409, 'conflict', `Table "${request.into}" exists`);
    }
    const answer = m.answer(request);
    const rowCount = answer.format === 'json' ? answer.body.row_count : 0;
    const columns =
      answer.format === 'json'
        ? answer.body.columns.map((c) => ({ name: c.name, type: c.type }))
        : [];
    m.addMyDBTable(request.into, columns, rowCount);
    m.record('quick', request, 'finished', request.into);
    return { table: request.into, row_count: rowCount, elapsed_ms: 3 };
  }

  async submitBatch(
    user: string,
    request: { sql: string; context?: string; table?: string },
  ): Promise<IBatchQuery> {
    await this.enter('submitBatch', user, request.sql);
    const m = this.mydbRoute('batch', user);
    const id = m.nextId++;
    const job: IBatchQuery = {
      id,
      sql: request.sql,
      context: request.context ?? 'mydb',
      table: request.table ?? `batch_${id}`,
      status: 'queued',
      queue_position: m.batches.filter((b) => b.status === 'queued').length + 1,
      submitted_at: CREATED,
      started_at: null,
      finished_at: null,
      row_count: null,
      error: null,
    };
    m.batches.unshift(job);
    m.record('batch', request, 'queued', job.table);
    return { ...job };
  }

  async listBatch(user: string, limit = 50): Promise<{ queries: IBatchQuery[]; total: number }> {
    await this.enter('listBatch', user);
    const m = this.mydbRoute('batch', user);
    return { queries: m.batches.slice(0, limit).map((b) => ({ ...b })), total: m.batches.length };
  }

  async getBatch(user: string, id: HubId): Promise<IBatchQuery> {
    await this.enter('getBatch', user, id);
    return { ...this.mydbRoute('batch', user).batch(id) };
  }

  async cancelBatch(user: string, id: HubId): Promise<IBatchQuery> {
    await this.enter('cancelBatch', user, id);
    const job = this.mydbRoute('batch', user).batch(id);
    if (job.status !== 'queued' && job.status !== 'running') {
      throw new HubError(409, 'conflict', `Batch query ${id} is ${job.status}`);
    }
    job.status = 'cancelled';
    job.queue_position = null;
    return { ...job };
  }

  async history(
    user: string,
    options: { q?: string; limit?: number; offset?: number } = {},
  ): Promise<{ queries: IHistoryEntry[]; total: number }> {
    await this.enter('history', user, options.q ?? '');
    const m = this.mydbRoute('history', user);
    const all = m.historyEntries.filter((h) => !options.q || h.sql.includes(options.q));
    const offset = options.offset ?? 0;
    return { queries: all.slice(offset, offset + (options.limit ?? 50)), total: all.length };
  }

  async exportTable(user: string, table: string, format: ExportFormat): Promise<Blob> {
    await this.enter('exportTable', user, table, format);
    const t = this.mydbRoute('export', user).mydbTables.get(table);
    if (!t) {
      throw notFound(`No table "${table}"`);
    }
    return new Blob([`${t.table.columns.map((c) => c.name).join(',')}\n`], { type: 'text/csv' });
  }

  async importTable(
    user: string,
    table: string,
    format: ImportFormat,
    file: Blob,
  ): Promise<IImportResult> {
    await this.enter('importTable', user, table, format);
    const m = this.mydbRoute('import', user);
    if (m.mydbTables.has(table)) {
      throw new HubError(409, 'conflict', `Table "${table}" exists`);
    }
    if (format !== 'csv') {
      throw new HubError(400, 'invalid_input', 'The fake hub reads CSV only');
    }
    const [header = '', ...lines] = (await file.text()).trim().split('\n');
    const columns = header.split(',').map((name) => ({ name, type: 'text' }));
    m.addMyDBTable(table, columns, lines.length);
    return { table, row_count: lines.length, columns };
  }

  async dropTable(user: string, table: string): Promise<void> {
    await this.enter('dropTable', user, table);
    const m = this.mydbRoute('drop', user);
    if (!m.mydbTables.delete(table)) {
      throw notFound(`No table "${table}"`);
    }
  }
}

/** Routes of the MyDB contract, by the names `missingRoutes` takes. */
export type FakeMyDBRoute =
  | 'contexts'
  | 'tables'
  | 'query'
  | 'into'
  | 'batch'
  | 'history'
  | 'import'
  | 'export'
  | 'drop';

/** The MyDB side of the fake hub. */
export class FakeMyDB {
  contexts: IMyDBContext[] = [
    {
      name: 'mydb',
      kind: 'mydb',
      schema: 'mydb_user',
      description: 'Your MyDB',
      actions: ['read', 'write'],
    },
    {
      name: 'stars',
      kind: 'catalog',
      schema: 'catalog_stars',
      description: 'Hipparcos and Tycho stars',
      actions: ['read', 'submitQuery'],
    },
  ];
  catalogTables = new Map<string, IMyDBTable[]>([
    [
      'stars',
      [
        {
          name: 'stars',
          kind: 'table',
          description: 'Stars to V = 9',
          row_estimate: 125982,
          columns: [
            { name: 'id', type: 'bigint', unit: null, description: 'Row number' },
            {
              name: 'ra',
              type: 'double precision',
              unit: 'deg',
              description: 'Right ascension (J2000)',
            },
            {
              name: 'dec',
              type: 'double precision',
              unit: 'deg',
              description: 'Declination (J2000)',
            },
            { name: 'vmag', type: 'real', unit: 'mag', description: 'Visual magnitude (V)' },
          ],
        },
      ],
    ],
  ]);
  mydbTables = new Map<string, { table: IMyDBTable }>();
  batches: IBatchQuery[] = [];
  historyEntries: IHistoryEntry[] = [];
  /** Every quick query request, for assertions on what was sent. */
  requests: IQuickQueryRequest[] = [];
  /** Routes this hub does not serve: they answer 404 "No API route". */
  missingRoutes = new Set<FakeMyDBRoute>();
  nextId = 1;
  /** How quick queries are answered; tests replace it. By default `SELECT 1 AS one` in JSON. */
  answer: (request: IQuickQueryRequest) => IQuickQueryAnswer = () => ({
    format: 'json',
    body: {
      columns: [{ name: 'one', type: 'integer' }],
      rows: [[1]],
      row_count: 1,
      truncated: false,
      command: 'SELECT',
      elapsed_ms: 1,
    },
  });

  addMyDBTable(name: string, columns: { name: string; type: string }[], rows: number): void {
    this.mydbTables.set(name, {
      table: {
        name,
        kind: 'table',
        description: null,
        row_estimate: rows,
        columns: columns.map((c) => ({ ...c, unit: null, description: null })),
      },
    });
  }

  batch(id: HubId): IBatchQuery {
    const job = this.batches.find((b) => b.id === Number(id));
    if (!job) {
      throw notFound(`No batch query ${id}`);
    }
    return job;
  }

  /** Move a job on, as the hub's batch runner would. */
  advance(id: HubId, status: IBatchQuery['status'], rowCount: number | null = null): void {
    const job = this.batch(id);
    job.status = status;
    job.queue_position = status === 'queued' ? job.queue_position : null;
    job.row_count = rowCount;
    if (status === 'finished') {
      this.addMyDBTable(job.table, [{ name: 'n', type: 'bigint' }], rowCount ?? 0);
    }
  }

  record(
    kind: 'quick' | 'batch',
    request: { sql: string; context?: string },
    status: IHistoryEntry['status'],
    table: string | null,
    error?: string,
  ): void {
    this.historyEntries.unshift({
      id: this.nextId++,
      kind,
      sql: request.sql,
      context: request.context ?? 'mydb',
      session: null,
      submitted_at: CREATED,
      duration_ms: 2,
      row_count: null,
      status,
      error: error ?? null,
      table,
    });
  }
}
