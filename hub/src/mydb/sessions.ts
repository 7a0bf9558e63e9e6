/**
 * Quick-query sessions, as CasJobs has them: queries sent with the same `session` id run one
 * after another on one kept connection that logged in as the user's role, so temporary tables,
 * `SET` settings and variables made by one are there for the next. A session closes after
 * `idleSeconds` unused, on `DELETE …/mydb/sessions/{session}`, with the account, or when its
 * query overran the time limit: then its backend is terminated (not just cancelled), since a
 * session whose query could not be stopped cleanly is no session to keep.
 *
 * Sessions live in the hub process that opened them (a deployment running several hub
 * processes must route a user's requests to one of them, docs/mydb.md).
 */
import pg from 'pg';
import type { Db } from '../db/pool.ts';
import { Conflict, LimitReached, TimedOut, Unavailable } from '../errors.ts';
import type { Logger } from '../log.ts';
import { collect, type QuickOutcome, type QuickRun, type RoleLogin } from './queryRun.ts';
import { connectAsRole, dropSocket, type RoleConnection, watch } from './roleConnection.ts';

export interface SessionLimits {
  idleSeconds: number;
  perUser: number;
}

interface Session {
  key: string;
  userId: number;
  name: string;
  connection: RoleConnection;
  /** The search path it was opened (or last set) with; a query with another context sets it again. */
  searchPath: string;
  busy: boolean;
  idle?: NodeJS.Timeout;
}

/** How a query runs: the signature of queryRun.ts's runAsRole, so query.ts runs either. */
export type Execute = (admin: Db, login: RoleLogin, run: QuickRun) => Promise<QuickOutcome>;

export class QuerySessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly admin: Db,
    private readonly limits: SessionLimits,
    private readonly log: Logger,
  ) {}

  /** Run `work` on the user's session `name`, opening it if need be. */
  async use<T>(
    userId: number,
    name: string,
    login: RoleLogin,
    work: (connection: RoleConnection) => Promise<T>,
  ): Promise<T> {
    const session = await this.acquire(userId, name, login);
    try {
      return await work(session.connection);
    } finally {
      session.busy = false;
      if (this.sessions.get(session.key) === session) this.armIdle(session);
    }
  }

  /** An executor for query.ts: the script on the session, its time limit ending the session. */
  executor(userId: number, name: string): Execute {
    return (_admin, login, run) =>
      this.use(userId, name, login, async (connection) => {
        const watchdog = watch(this.admin, connection, run.timeoutMs, 'pg_terminate_backend');
        try {
          return await collect(connection.client, run);
        } catch (err) {
          if (!watchdog.fired && !isServerError(err)) {
            // Not the SQL's fault: the connection itself is gone (terminated from outside).
            this.forget(userId, name, connection);
            throw sessionLost(name);
          }
          if (watchdog.fired) {
            this.forget(userId, name, connection);
            throw new TimedOut(
              'query_time_limit',
              `The query reached the time limit of ${run.timeoutMs / 1000} s and was stopped; ` +
                `your session "${name}" was closed with it (its temporary tables and settings are gone)`,
            );
          }
          throw err;
        } finally {
          watchdog.disarm();
        }
      });
  }

  /** Close the user's session `name` (only if it still is `connection`, when given); false if there was none. */
  close(userId: number, name: string, connection?: RoleConnection): boolean {
    return this.forget(userId, name, connection);
  }

  /** Close every session of the user (their account is going). */
  closeAllOf(userId: number): void {
    for (const session of [...this.sessions.values()])
      if (session.userId === userId) this.forget(userId, session.name);
  }

  closeAll(): void {
    for (const session of [...this.sessions.values()]) this.forget(session.userId, session.name);
  }

  /** Open sessions of the user. */
  countOf(userId: number): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.userId === userId) count++;
    return count;
  }

  private async acquire(userId: number, name: string, login: RoleLogin): Promise<Session> {
    const key = `${userId}/${name}`;
    const searchPath = login.searchPath.join(',');
    const found = this.sessions.get(key);
    if (found) {
      if (found.busy)
        throw new Conflict(
          'session_busy',
          `Your session "${name}" is running a query; send the next when it has answered`,
        );
      found.busy = true;
      clearTimeout(found.idle);
      if (found.searchPath !== searchPath) {
        try {
          await found.connection.client.query("SELECT set_config('search_path', $1, false)", [
            login.searchPath.map((schema) => pg.escapeIdentifier(schema)).join(', '),
          ]);
        } catch {
          this.forget(userId, name, found.connection);
          throw sessionLost(name);
        }
        found.searchPath = searchPath;
      }
      return found;
    }
    const open = this.countOf(userId);
    if (open >= this.limits.perUser)
      throw new LimitReached(
        'mydb_sessions_open',
        `You already have ${open} sessions open (the limit is ${this.limits.perUser}); close one (DELETE …/mydb/sessions/{session}) or let one idle out`,
        { retryAfterSeconds: this.limits.idleSeconds },
      );
    // Reserved before the login's await: two first queries at once cannot both open it.
    const session = { key, userId, name, searchPath, busy: true } as Session;
    this.sessions.set(key, session);
    try {
      session.connection = await connectAsRole(login, 'orrery-mydb-session');
    } catch (err) {
      this.sessions.delete(key);
      throw err;
    }
    // A backend ended from outside (the account's removal, an administrator) ends the session.
    session.connection.client.on('end', () => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
    });
    return session;
  }

  private armIdle(session: Session): void {
    clearTimeout(session.idle);
    session.idle = setTimeout(() => {
      this.log.info(
        { userId: session.userId, session: session.name },
        'closed an idle MyDB session',
      );
      this.forget(session.userId, session.name);
    }, this.limits.idleSeconds * 1000);
    session.idle.unref();
  }

  /** Close the session; with `connection`, only if the session still is that connection. */
  private forget(userId: number, name: string, connection?: RoleConnection): boolean {
    const key = `${userId}/${name}`;
    const session = this.sessions.get(key);
    if (!session || (connection && session.connection !== connection)) {
      if (connection) void connection.client.end().catch(() => undefined);
      return false;
    }
    this.sessions.delete(key);
    clearTimeout(session.idle);
    const client = session.connection?.client;
    if (client) {
      // Ending the session rolls back a transaction it left open and drops its temp tables.
      const ending = client.end().catch(() => undefined);
      // A backend that will not answer the goodbye is not waited for.
      const stuck = setTimeout(() => dropSocket(client), 4000);
      stuck.unref();
      void ending.finally(() => clearTimeout(stuck));
    }
    return true;
  }
}

/** An error PostgreSQL sent (it has a SQLSTATE), as opposed to the connection failing. */
export function isServerError(err: unknown): boolean {
  return typeof (err as { code?: unknown }).code === 'string';
}

export function sessionLost(name: string): Unavailable {
  return new Unavailable(
    'mydb_session_lost',
    `Your session "${name}" ended (its connection was closed); send the query again to open a new one`,
  );
}
