/**
 * MyDB's rules. This slice: every user's personal space, made on first use, and its removal
 * with the account. Queries, quotas enforced and sharing come next (docs/mydb.md).
 */
import type { Request, Response } from 'express';
import type { AccountRemoval } from '../accounts/store.ts';
import { findUserByName, lockUser } from '../accounts/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { Forbidden, NotFound } from '../errors.ts';
import { DatabaseContexts } from './contexts.ts';
import { roleNameFor, rolePassword, schemaNameFor } from './names.ts';
import {
  QuickQueries,
  type QuickQueryAnswer,
  type QuickQueryLimits,
  type QuickQueryRequest,
} from './query.ts';
import type { RoleLogin } from './queryRun.ts';
import type { StreamFormat } from './resultStream.ts';
import type { ScienceDatabase } from './science.ts';
import { dropSpace, provisionSpace, type RoleLimits, usedBytes } from './spaces.ts';
import { deleteSpace, findSpace, insertSpace, type SpaceRecord } from './store.ts';
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
  /** Tables as files: export, import, drop. */
  private readonly tables: MydbTables;

  constructor(
    private readonly db: Db,
    readonly science: ScienceDatabase,
    private readonly options: MydbOptions,
  ) {
    this.contexts = new DatabaseContexts(db, science);
    this.quick = new QuickQueries(db, science.pool, options.quick);
    this.tables = new MydbTables(science.pool);
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
    request: QuickQueryRequest,
  ): Promise<QuickQueryAnswer> {
    return this.quick.run(actor, await this.loginOf(actor, username), request);
  }

  /** A quick query streamed into `res` as Arrow or CSV (the `Accept` header chose). */
  async quickQueryStream(
    actor: Actor,
    username: string,
    request: QuickQueryRequest,
    format: StreamFormat,
    res: Response,
  ): Promise<void> {
    const login = await this.loginOf(actor, username);
    await this.quick.stream(actor, login, request, format, res);
  }

  /** Stream one of the user's tables into `res` as a file. */
  async exportTable(
    actor: Actor,
    username: string,
    table: string,
    format: ExportFormat,
    res: Response,
  ): Promise<void> {
    const login = await this.loginOf(actor, username);
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
    const login = await this.loginOf(actor, username);
    const space = await this.spaceOf(actor, username);
    return this.tables.limited(login, () =>
      this.tables.import(login, space.schema, table, format, req, {
        maxBytes: Math.max(0, space.quota_bytes - space.used_bytes),
        quotaBytes: space.quota_bytes,
      }),
    );
  }

  /** Drop one of the user's tables. */
  async dropTable(actor: Actor, username: string, table: string): Promise<void> {
    const login = await this.loginOf(actor, username);
    await this.tables.drop(login, login.searchPath[0]!, table);
  }

  /** How the user's own role logs in (their space made now if need be); yourself only. */
  async loginOf(actor: Actor, username: string): Promise<RoleLogin> {
    const user = await findUserByName(this.db, username);
    if (!user) throw new NotFound('user', `No user named "${username}"`);
    if (user.id !== actor.userId)
      throw new Forbidden('own_mydb_queries', 'You can only run queries in your own MyDB');
    // The hub's record is enough (no size to measure); the space is made if there is none.
    const found = await findSpace(this.db, user.id);
    const space = found
      ? { role: found.roleName, schema: found.schemaName }
      : await this.spaceOf(actor, username);
    const url = new URL(this.options.scienceUrl);
    url.username = encodeURIComponent(space.role);
    url.password = encodeURIComponent(this.passwordOf(user.id));
    return { role: space.role, url: url.toString(), searchPath: [space.schema] };
  }

  /** The password the user's role logs in with (derived, never stored). */
  passwordOf(userId: number): string {
    return rolePassword(this.options.key, userId);
  }

  /** Account remover: the schema with all its tables, then the role, then the hub's record. */
  async removeAccount(removal: AccountRemoval): Promise<void> {
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
