/**
 * MyDB's rules. This slice: every user's personal space, made on first use, and its removal
 * with the account. Queries, quotas enforced and sharing come next (docs/mydb.md).
 */
import type { AccountRemoval } from '../accounts/store.ts';
import { findUserByName, lockUser } from '../accounts/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { Forbidden, NotFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import { BatchQueries, type OwnSpace } from './batch/queries.ts';
import { type BatchLimits, BatchRunner } from './batch/runner.ts';
import { DatabaseContexts } from './contexts.ts';
import { deleteHistory, type HistoryFilter, QueryHistory } from './history.ts';
import { roleNameFor, rolePassword, schemaNameFor } from './names.ts';
import {
  QuickQueries,
  type QuickQueryAnswer,
  type QuickQueryLimits,
  type QuickQueryRequest,
} from './query.ts';
import { searchPathOf } from './queryContext.ts';
import type { RoleLogin } from './queryRun.ts';
import {
  type IntoAnswer,
  type QuickQueryModeFields as Modes,
  QuickQueryModes,
} from './quickModes.ts';
import type { ScienceDatabase } from './science.ts';
import { QuerySessions, type SessionLimits } from './sessions.ts';
import { dropSpace, provisionSpace, type RoleLimits, usedBytes } from './spaces.ts';
import { deleteSpace, findSpace, insertSpace, type SpaceRecord } from './store.ts';

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
  batch: BatchLimits;
  sessions: SessionLimits;
  log: Logger;
}

export interface MydbSpace {
  schema: string;
  role: string;
  quota_bytes: number;
  used_bytes: number;
  created_at: string;
}

export class MydbService {
  /** The contexts (MyDB and catalogs) users may query, and the schema browser. */
  readonly contexts: DatabaseContexts;
  private readonly quick: QuickQueries;
  /** Quick queries with their history, sessions and `into`. */
  private readonly modes: QuickQueryModes;
  /** Every query's record, quick and batch. */
  readonly history: QueryHistory;
  readonly sessions: QuerySessions;
  readonly batch: BatchQueries;

  constructor(
    private readonly db: Db,
    readonly science: ScienceDatabase,
    private readonly options: MydbOptions,
  ) {
    this.contexts = new DatabaseContexts(db, science);
    this.quick = new QuickQueries(db, science.pool, options.quick);
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
          const searchPath = await searchPathOf(db, userId, context, space.schemaName);
          return {
            login: this.loginOf(userId, space.roleName, searchPath),
            schema: space.schemaName,
          };
        },
        roleOf: async (userId) => (await findSpace(db, userId))?.roleName,
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

  /** Stop the runner (its queries are failed as the hub's) and close every session. */
  async close(): Promise<void> {
    await this.batch.runner.close();
    this.sessions.closeAll();
  }

  /** The user's space, made now if they have none. */
  async spaceOf(actor: Actor, username: string): Promise<MydbSpace> {
    const user = await findUserByName(this.db, username);
    if (!user) throw new NotFound('user', `No user named "${username}"`);
    if (user.id !== actor.userId && !actor.admin)
      throw new Forbidden('own_mydb', 'You can only see your own MyDB');
    const space =
      (await findSpace(this.db, user.id)) ??
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
    return this.describe(space);
  }

  /** Run a quick query in the user's own space (made now if need be), as the user's own role. */
  async quickQuery(
    actor: Actor,
    username: string,
    request: QuickQueryRequest & Modes,
  ): Promise<QuickQueryAnswer | IntoAnswer> {
    const user = await findUserByName(this.db, username);
    if (!user) throw new NotFound('user', `No user named "${username}"`);
    if (user.id !== actor.userId)
      throw new Forbidden('own_mydb_queries', 'You can only run queries in your own MyDB');
    const space = await this.spaceOf(actor, username);
    const login = this.loginOf(user.id, space.role, [space.schema]);
    return this.modes.run(actor, space.schema, login, request);
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
        await searchPathOf(this.db, userId, context, space.schema);
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

  /** The password the user's role logs in with (derived, never stored). */
  passwordOf(userId: number): string {
    return rolePassword(this.options.key, userId);
  }

  /** Account remover: the schema with all its tables, then the role, then the hub's record. */
  async removeAccount(removal: AccountRemoval): Promise<void> {
    this.sessions.closeAllOf(removal.userId);
    await deleteHistory(this.db, removal.userId);
    const space = await findSpace(this.db, removal.userId);
    if (!space) return;
    await dropSpace(this.science, { role: space.roleName, schema: space.schemaName });
    await deleteSpace(this.db, removal.userId);
  }

  private async describe(space: SpaceRecord): Promise<MydbSpace> {
    return {
      schema: space.schemaName,
      role: space.roleName,
      quota_bytes: space.quotaBytes,
      used_bytes: await usedBytes(this.science, space.schemaName),
      created_at: space.createdAt.toISOString(),
    };
  }
}
