/**
 * MyDB's rules: every user's personal space (MyDB and MyScratch), made on first use, removed with
 * the account; quick queries in a context (with sessions, `into` and history); batch queries; the
 * quota; sharing. PostgreSQL's grants follow RACM and the quota through grants.ts, synced after
 * every change and every query.
 */
import type { Request, Response } from 'express';
import type { AccountRemoval } from '../accounts/store.ts';
import { findUserByName, lockUser } from '../accounts/store.ts';
import { recordActivity } from '../activity/store.ts';
import { ActivityWriter } from '../activity/writer.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { Forbidden, Invalid, NotFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import { BatchQueries, type OwnSpace } from './batch/queries.ts';
import { type BatchLimits, BatchRunner } from './batch/runner.ts';
import { DatabaseContexts, MYDB_CONTEXT } from './contexts.ts';
import { type SpaceState, syncGrants } from './grants.ts';
import { deleteHistory, type HistoryFilter, QueryHistory } from './history.ts';
import { roleNameFor, rolePassword, schemaNameFor, scratchSchemaFor } from './names.ts';
import {
  changedNothing,
  QuickQueries,
  type QuickQueryAnswer,
  type QuickQueryLimits,
  type QuickQueryRequest,
} from './query.ts';
import type { RoleLogin } from './queryRun.ts';
import {
  type IntoAnswer,
  type QuickQueryModeFields as Modes,
  QuickQueryModes,
} from './quickModes.ts';
import { asQuotaRefusal, isOverQuota, setQuota } from './quota.ts';
import type { StreamFormat } from './resultStream.ts';
import { RoleConnectionPool, type RolePoolLimits } from './rolePool.ts';
import type { ScienceDatabase } from './science.ts';
import { ScratchSweeper } from './scratch.ts';
import { QuerySessions, type SessionLimits } from './sessions.ts';
import { MydbSharing, type ShareRequest, type ShareView } from './sharing.ts';
import { dropSpace, provisionSpace, type RoleLimits, usedBytes } from './spaces.ts';
import { deleteSpace, findSpace, findUserSpace, insertSpace, type SpaceRecord } from './store.ts';
import { type ExportFormat, type ImportAnswer, type ImportFormat, MydbTables } from './tables.ts';

export interface MydbOptions {
  /** This deployment's identity: roles are server-wide, their names carry it. */
  deploymentIdentity: string;
  /** The hub's secret key, from which each role's password is derived. */
  key: string;
  quotaBytes: number;
  limits: RoleLimits;
  /** The science database's URL; quick queries log in to it as the user's role. */
  scienceUrl: string;
  quick: QuickQueryLimits;
  rolePool: RolePoolLimits;
  /** MyScratch tables older than this are dropped. */
  scratchMaxAgeHours: number;
  batch: BatchLimits;
  sessions: SessionLimits;
  log: Logger;
}

export interface MydbSpace {
  schema: string;
  role: string;
  quota_bytes: number;
  used_bytes: number;
  over_quota: boolean;
  scratch_schema: string;
  created_at: string;
}

/** A user's space as their quick queries log in to it. */
interface KnownSpace {
  name: string;
  role: string;
  schema: string;
  /** The science database's URL with the role and its derived password. */
  url: string;
}

export class MydbService {
  /** The contexts (MyDB and catalogs) users may query, and the schema browser. */
  readonly contexts: DatabaseContexts;
  readonly sharing: MydbSharing;
  readonly scratch: ScratchSweeper;
  private readonly quick: QuickQueries;
  /** Quick queries' activity records, written off the answer's path. */
  private readonly activity: ActivityWriter;
  /** Connections kept logged in as users' roles, for quick queries. */
  readonly rolePool: RoleConnectionPool;
  /** Quick queries with their history, sessions and `into`. */
  private readonly modes: QuickQueryModes;
  /** Every query's record, quick and batch. */
  readonly history: QueryHistory;
  readonly sessions: QuerySessions;
  readonly batch: BatchQueries;
  /** Tables as files: export, import, drop. */
  private readonly tables: MydbTables;
  /**
   * Each user's space as their queries log in to it, once looked up: a space is made once and
   * removed only with its account, whose id is never reused, so later queries of the same
   * caller skip the hub database's round trip.
   */
  private readonly knownSpaces = new Map<number, KnownSpace>();

  constructor(
    private readonly db: Db,
    readonly science: ScienceDatabase,
    private readonly options: MydbOptions,
  ) {
    this.contexts = new DatabaseContexts(db, science);
    this.activity = new ActivityWriter(db, options.log);
    this.rolePool = new RoleConnectionPool(options.rolePool, options.log);
    this.quick = new QuickQueries(this.activity, science.pool, options.quick, this.rolePool);
    this.sharing = new MydbSharing(db, science);
    this.scratch = new ScratchSweeper(
      db,
      science,
      options.scratchMaxAgeHours * 3600 * 1000,
      options.log,
    );
    this.tables = new MydbTables(science.pool);
    this.history = new QueryHistory(db, options.log);
    this.sessions = new QuerySessions(science.pool, options.sessions, options.log);
    this.modes = new QuickQueryModes(this.quick, this.history, this.sessions, science.pool);
    const runner = new BatchRunner(
      db,
      science.pool,
      {
        loginFor: async (userId, context) => {
          const space = await findSpace(db, userId);
          if (!space) throw new NotFound('mydb', 'The account’s MyDB is gone');
          const searchPath = await this.searchPathOf(userId, context, space.schemaName);
          return {
            login: this.loginOf(userId, space.roleName, searchPath),
            schema: space.schemaName,
          };
        },
        roleOf: async (userId) => (await findSpace(db, userId))?.roleName,
        afterQuery: async (userId) => {
          await this.afterQuery(userId);
        },
      },
      options.batch,
      options.log,
    );
    this.batch = new BatchQueries(db, science.pool, runner, options.batch);
  }

  /** The hub listens: the batch runner starts taking work. */
  start(): void {
    this.batch.runner.start();
  }

  /**
   * Stop the runner (its queries are failed as the hub's), close every session and kept
   * connection, and write the activity and history records still on their way.
   */
  async close(): Promise<void> {
    await this.batch.runner.close();
    this.sessions.closeAll();
    await this.rolePool.close();
    await this.history.settled();
    await this.activity.close();
  }

  /** Every quick query's activity and history record so far is written (tests, shutdown). */
  async recordsWritten(): Promise<void> {
    await this.history.settled();
    await this.activity.flush();
  }

  /**
   * RACM's privileges or memberships changed: kept connections are closed (a login the change
   * took away must not live on in the pool), then every grant is synced.
   */
  async accessChanged(): Promise<void> {
    this.rolePool.closeAll();
    await this.syncGrants();
  }

  /**
   * Make PostgreSQL match RACM and the quotas: every managed schema (after a change of
   * privileges or memberships, at start, periodically), or only some users' spaces (after their
   * queries). Returns those spaces as measured.
   */
  async syncGrants(onlyUserIds?: number[]): Promise<SpaceState[]> {
    const report = await syncGrants(this.db, this.science, onlyUserIds ? { onlyUserIds } : {});
    return report.spaces;
  }

  /**
   * At start: spaces made by an earlier version (schema owned by the user's role, no MyScratch,
   * not in the login group) are finished as today's are; then every grant is synced.
   */
  async reconcile(): Promise<void> {
    const { rows } = await this.db.query(
      'SELECT user_id AS "userId", role_name AS role, schema_name AS schema FROM mydb_spaces',
    );
    if (rows.length) {
      const current = await this.science.pool.query(
        `SELECT n.nspname AS schema FROM pg_namespace n
          WHERE n.nspname = ANY($1) AND pg_get_userbyid(n.nspowner) = current_user`,
        [rows.flatMap((row) => [row.schema, scratchSchemaFor(row.schema)])],
      );
      const done = new Set(current.rows.map((row) => row.schema));
      for (const row of rows)
        if (!done.has(row.schema) || !done.has(scratchSchemaFor(row.schema)))
          await provisionSpace(this.science, {
            role: row.role,
            schema: row.schema,
            password: rolePassword(this.options.key, Number(row.userId)),
            limits: this.options.limits,
          });
    }
    await this.syncGrants();
  }

  /** One round of the periodic work: grants and quotas re-checked, MyScratch swept. */
  async sweep(now = new Date()): Promise<void> {
    await this.syncGrants();
    await this.scratch.sweep({ now });
  }

  /** The user's space, made now if they have none. */
  async spaceOf(actor: Actor, username: string): Promise<MydbSpace> {
    const user = await findUserByName(this.db, username);
    if (!user) throw new NotFound('user', `No user named "${username}"`);
    if (user.id !== actor.userId && !actor.admin)
      throw new Forbidden('own_mydb', 'You can only see your own MyDB');
    const found = await findSpace(this.db, user.id);
    const space =
      found ??
      (await inTransaction(this.db, async (client) => {
        // The user's row is locked while the space is made: a second first call waits and
        // finds it made, and an account deletion waits (or has already won: no user, no space).
        if (!(await lockUser(client, user.id)))
          throw new NotFound('user', `No user named "${username}"`);
        const made = await findSpace(client, user.id);
        if (made) return made;
        const role = roleNameFor(this.options.deploymentIdentity, user.id);
        const schema = schemaNameFor(user.safeName);
        await provisionSpace(this.science, {
          role,
          schema,
          password: rolePassword(this.options.key, user.id),
          limits: this.options.limits,
        });
        // If this insert fails the role and schema stay, and the next call finishes them.
        return insertSpace(client, {
          userId: user.id,
          roleName: role,
          schemaName: schema,
          quotaBytes: this.options.quotaBytes,
        });
      }));
    // A new role gets what RACM already gives its user: public catalogs, MyDBs shared with them.
    if (!found) await this.syncGrants();
    return this.describe(space);
  }

  /** Set one user's quota (platform admins); grants follow at once, either way. */
  async setQuota(actor: Actor, username: string, quotaBytes: number): Promise<MydbSpace> {
    if (!actor.admin) throw new Forbidden('admin_only', 'Only platform admins change quotas');
    const space = await this.spaceOf(actor, username);
    const user = (await findUserByName(this.db, username))!;
    await inTransaction(this.db, async (client) => {
      await setQuota(client, user.id, quotaBytes);
      await recordActivity(client, {
        type: 'mydb.quota',
        userId: user.id,
        actorId: actor.userId,
        address: actor.address,
        payload: { from: space.quota_bytes, to: quotaBytes },
      });
    });
    await this.syncGrants([user.id]);
    return this.spaceOf(actor, username);
  }

  /** The shares of a user's MyDB (themselves, or a platform admin). */
  async shares(actor: Actor, username: string): Promise<{ shares: ShareView[] }> {
    const owner = await this.owner(actor, username, { admin: true });
    return { shares: await this.sharing.list(owner.id) };
  }

  /** Share your MyDB, or one of its tables, read-only. */
  async share(actor: Actor, username: string, request: ShareRequest): Promise<ShareView> {
    const owner = await this.owner(actor, username, { admin: false });
    const space = await this.spaceOf(actor, username);
    const share = await this.sharing.add(
      actor,
      { id: owner.id, name: owner.name, schema: space.schema },
      request,
    );
    await this.syncGrants([owner.id]);
    return share;
  }

  /** Take a share back: the grantee's next SELECT is refused. */
  async unshare(actor: Actor, username: string, shareId: number): Promise<void> {
    const owner = await this.owner(actor, username, { admin: true });
    await this.sharing.remove(actor, owner.id, shareId);
    await this.syncGrants([owner.id]);
  }

  private async owner(actor: Actor, username: string, allow: { admin: boolean }) {
    const user = await findUserByName(this.db, username);
    if (!user) throw new NotFound('user', `No user named "${username}"`);
    if (user.id !== actor.userId && !(allow.admin && actor.admin))
      throw new Forbidden('own_mydb', 'You can only share your own MyDB');
    return user;
  }

  /** Run a quick query in the user's own space (made now if need be), as the user's own role. */
  async quickQuery(
    actor: Actor,
    username: string,
    request: QuickQueryRequest & Modes,
  ): Promise<QuickQueryAnswer | IntoAnswer> {
    const { userId, schema, login } = await this.queryLogin(
      actor,
      username,
      request.context ?? MYDB_CONTEXT,
    );
    try {
      const answer = await this.modes.run(actor, schema, login, request);
      // A query that wrote nothing changed no table, grant or size: nothing to sync.
      if (!changedNothing(answer)) await this.afterQuery(userId);
      return answer;
    } catch (err) {
      const measured = await this.afterQuery(userId);
      throw (measured && (await asQuotaRefusal(err, measured, this.science.pool))) ?? err;
    }
  }

  /**
   * A quick query streamed into `res` as Arrow or CSV (the `Accept` header chose). It runs
   * read-only (resultStream.ts), so it cannot have written: no quota to re-check. A script or
   * command, which cannot stream, answers JSON instead when the client accepts it (`orJson`):
   * the answer is then returned, not written.
   */
  async quickQueryStream(
    actor: Actor,
    username: string,
    request: QuickQueryRequest,
    format: StreamFormat,
    res: Response,
    options: { orJson: boolean } = { orJson: false },
  ): Promise<QuickQueryAnswer | undefined> {
    const { into, session } = request as QuickQueryRequest & Modes;
    if (into !== undefined || session !== undefined)
      throw new Invalid(
        'json_only',
        '`into` and `session` answer JSON: ask with Accept: application/json',
      );
    const { login } = await this.queryLogin(actor, username, request.context ?? MYDB_CONTEXT);
    let answer: QuickQueryAnswer | undefined;
    try {
      answer = await this.modes.stream(actor, login, request, format, res, options);
    } catch (err) {
      // A script run as JSON may have been refused by the quota: say so, as quickQuery does.
      if (!options.orJson || res.headersSent) throw err;
      const measured = await this.afterQuery(actor.userId);
      throw (measured && (await asQuotaRefusal(err, measured, this.science.pool))) ?? err;
    }
    // Run as JSON, a script may have written: the quota is measured as after any query.
    if (answer && !changedNothing(answer)) await this.afterQuery(actor.userId);
    return answer;
  }

  /** Stream one of the user's tables into `res` as a file. */
  async exportTable(
    actor: Actor,
    username: string,
    table: string,
    format: ExportFormat,
    res: Response,
  ): Promise<void> {
    const { login } = await this.queryLogin(actor, username, MYDB_CONTEXT);
    await this.tables.limited(login, () =>
      this.tables.export(login, login.searchPath[0]!, table, format, res),
    );
  }

  /** Make a new table from the file in `req`'s body, at most the quota left in bytes. */
  async importTable(
    actor: Actor,
    username: string,
    table: string,
    format: ImportFormat,
    req: Request,
  ): Promise<ImportAnswer> {
    const { login } = await this.queryLogin(actor, username, MYDB_CONTEXT);
    const space = await this.spaceOf(actor, username);
    try {
      return await this.tables.limited(login, () =>
        this.tables.import(login, space.schema, table, format, req, {
          maxBytes: Math.max(0, space.quota_bytes - space.used_bytes),
          quotaBytes: space.quota_bytes,
        }),
      );
    } finally {
      await this.afterQuery(actor.userId);
    }
  }

  /** Drop one of the user's tables (writes come back once the space is under its quota). */
  async dropTable(actor: Actor, username: string, table: string): Promise<void> {
    const { login } = await this.queryLogin(actor, username, MYDB_CONTEXT);
    await this.tables.drop(login, login.searchPath[0]!, table);
    await this.afterQuery(actor.userId);
  }

  /** How the caller's own role logs in for a query in `context` (their space made if need be). */
  private async queryLogin(
    actor: Actor,
    username: string,
    context: string,
  ): Promise<{ userId: number; schema: string; login: RoleLogin }> {
    const known = this.knownSpaces.get(actor.userId);
    const space = known?.name === username ? known : await this.lookUpSpace(actor, username);
    const searchPath = await this.searchPathOf(actor.userId, context, space.schema);
    return {
      userId: actor.userId,
      schema: space.schema,
      login: { role: space.role, url: space.url, searchPath },
    };
  }

  /** The caller's own space, from the hub's database (made now if need be), then known. */
  private async lookUpSpace(actor: Actor, username: string): Promise<KnownSpace> {
    // The user and the hub's record of the space in one look-up (no size to measure).
    const found = await findUserSpace(this.db, username);
    if (!found) throw new NotFound('user', `No user named "${username}"`);
    const userId = found.userId;
    if (userId !== actor.userId)
      throw new Forbidden('own_mydb_queries', 'You can only use your own MyDB queries');
    const { role, schema } =
      found.roleName !== null && found.schemaName !== null
        ? { role: found.roleName, schema: found.schemaName }
        : await this.spaceOf(actor, username);
    const space = { name: username, role, schema, url: this.loginOf(userId, role, []).url };
    this.knownSpaces.set(userId, space);
    return space;
  }

  /** The caller's own space for batch queries (made now if need be). */
  async ownSpace(actor: Actor, username: string): Promise<OwnSpace> {
    const userId = await this.ownUserId(actor, username);
    const space = await this.spaceOf(actor, username);
    return {
      userId,
      address: actor.address,
      schema: space.schema,
      role: space.role,
      checkContext: async (context) => {
        await this.searchPathOf(userId, context, space.schema);
      },
    };
  }

  /** The caller's query history (their own only). */
  async historyOf(actor: Actor, username: string, filter: HistoryFilter) {
    return this.history.list(await this.ownUserId(actor, username), filter);
  }

  /** Close the caller's session `name` (nothing to close is fine). */
  async closeSession(actor: Actor, username: string, name: string): Promise<void> {
    this.sessions.close(await this.ownUserId(actor, username), name);
  }

  /**
   * Which schemas a query in `context` sees unqualified: the context's, then the user's MyDB,
   * then the spatial functions'.
   * A context the user may not query answers 404, as one that does not exist.
   */
  private async searchPathOf(userId: number, context: string, mydbSchema: string) {
    // One's own MyDB needs no look-up: its schema is the space's (one round trip fewer).
    if (context === MYDB_CONTEXT) return [mydbSchema, 'orrery'];
    const actor: Actor = { userId, admin: false, address: null };
    const first = await this.contexts.querySchema(actor, context);
    // Then `orrery`: the spatial functions and q3c's, callable unqualified (docs/mydb.md).
    return first === mydbSchema ? [mydbSchema, 'orrery'] : [first, mydbSchema, 'orrery'];
  }

  /** The id of the user `username`, who must be the caller (admins included: queries are one's own). */
  private async ownUserId(actor: Actor, username: string): Promise<number> {
    const user = await findUserByName(this.db, username);
    if (!user) throw new NotFound('user', `No user named "${username}"`);
    if (user.id !== actor.userId)
      throw new Forbidden('own_mydb_queries', 'You can only use your own MyDB queries');
    return user.id;
  }

  /** How the user's role logs in to the science database, seeing `searchPath`. */
  private loginOf(userId: number, role: string, searchPath: string[]): RoleLogin {
    const url = new URL(this.options.scienceUrl);
    url.username = encodeURIComponent(role);
    url.password = encodeURIComponent(this.passwordOf(userId));
    return { role, url: url.toString(), searchPath };
  }

  /**
   * After any query (any one may have written): measure the space, take or give back write
   * grants by the quota, take back grants the user made, share new tables as RACM says, and
   * note new MyScratch tables. A failure here is logged: the periodic round does it again.
   */
  async afterQuery(userId: number): Promise<SpaceState | undefined> {
    try {
      const [space] = await this.syncGrants([userId]);
      await this.scratch.sweep({ onlyUserIds: [userId] });
      return space;
    } catch (err) {
      this.options.log.warn(
        { userId, err: String(err) },
        'syncing MyDB grants after a query failed',
      );
      return undefined;
    }
  }

  /** The password the user's role logs in with (derived, never stored). */
  passwordOf(userId: number): string {
    return rolePassword(this.options.key, userId);
  }

  /** Account remover: the schema with all its tables, then the role, then the hub's record. */
  async removeAccount(removal: AccountRemoval): Promise<void> {
    this.knownSpaces.delete(removal.userId);
    this.sessions.closeAllOf(removal.userId);
    this.rolePool.closeUser(removal.userId);
    // A record still on its way would land after the delete.
    await this.history.settled();
    await deleteHistory(this.db, removal.userId);
    await this.sharing.removeOwner(removal.userId);
    const space = await findSpace(this.db, removal.userId);
    if (!space) return;
    await dropSpace(this.science, { role: space.roleName, schema: space.schemaName });
    await this.db.query('DELETE FROM mydb_scratch_tables WHERE user_id = $1', [removal.userId]);
    await deleteSpace(this.db, removal.userId);
  }

  private async describe(space: SpaceRecord): Promise<MydbSpace> {
    const used = await usedBytes(this.science, space.schemaName);
    const quota = Number(space.quotaBytes);
    return {
      schema: space.schemaName,
      role: space.roleName,
      quota_bytes: quota,
      used_bytes: used,
      over_quota: isOverQuota({ usedBytes: used, quotaBytes: quota }),
      scratch_schema: scratchSchemaFor(space.schemaName),
      created_at: space.createdAt.toISOString(),
    };
  }
}
