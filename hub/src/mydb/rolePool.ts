/**
 * Quick queries' kept connections: a few connections per user that already logged in as that
 * user's own role, so a quick query skips the login (SCRAM, a new backend), which costs more
 * than a small query itself. Never a privileged connection with `SET ROLE`.
 *
 * What makes a kept connection as good as a new one:
 * - It is keyed by user, role, login URL (the derived password) and search path: a connection
 *   never serves another user, another role or another context. The search path, `TimeZone` and
 *   `DateStyle` are startup options, so they are the session's defaults, which a reset restores.
 * - Between two queries it is reset off the answer's path: the transaction a script left open is
 *   rolled back, then `DISCARD ALL` (settings, temporary tables, prepared statements, cursors,
 *   `LISTEN`, advisory locks, cached plans and sequence values). Only then is it handed out again.
 * - A query that failed, was cancelled or timed out gives its connection back as spoiled: it is
 *   closed, never reset and reused (a backend in an unknown state is not worth the risk).
 * - Idle connections close after `idleMs`; at most `perUser` of a user and `total` in all are
 *   kept (a query finding none logs in anew, and its connection is closed afterwards if the pool
 *   is full). A user's kept connections close with the account and after any change of
 *   privileges (the hub's access changes), so a revoked login does not live on in the pool.
 *
 * A user's role can still change what it sets for its own future sessions (`ALTER ROLE … SET`),
 * as it could before: that is a login's business, not a leak between queries.
 */
import pg from 'pg';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RoleLogin } from './queryRun.ts';

const CONNECT_TIMEOUT_MS = 10_000;

export interface RolePoolLimits {
  /** Idle connections kept per user. */
  perUser: number;
  /** Idle connections kept in all. */
  total: number;
  /** An idle connection closes after this long unused, ms. */
  idleMs: number;
}

/** A connection lent out for one query. */
export interface RoleLease {
  client: pg.Client;
  /** The backend's process id, as the server gave it at login. */
  pid: number;
  role: string;
  /** Mark it unfit to reuse (the query failed, was cancelled, or ran out of time). */
  spoil(): void;
  readonly spoiled: boolean;
}

interface Kept {
  key: string;
  userId: number;
  client: pg.Client;
  pid: number;
  role: string;
  /** The account generation it was made in: a newer one (closeUser) closes it on return. */
  generation: number;
  /** The pool's epoch it was made in: a newer one (closeAll) closes it on return. */
  epoch: number;
  idle?: NodeJS.Timeout;
}

export class RoleConnectionPool {
  /** Idle connections by key, the most recently returned last. */
  private readonly idle = new Map<string, Kept[]>();
  private readonly idleOfUser = new Map<number, number>();
  private idleCount = 0;
  /** Bumped by closeUser: connections lent before it are closed on return. */
  private readonly generations = new Map<number, number>();
  /** Resets under way (closing waits for them). */
  private readonly resetting = new Set<Promise<void>>();
  private closed = false;
  /** Bumped by closeAll: connections made before it are closed on return. */
  private epoch = 0;
  private readonly lent = new WeakMap<RoleLease, Kept>();

  constructor(
    private readonly limits: RolePoolLimits,
    private readonly log: Logger,
  ) {}

  /** How many idle connections are kept (for tests and metrics). */
  get size(): number {
    return this.idleCount;
  }

  /** A connection of `login`'s role for user `userId`: a kept one, else a new login. */
  async acquire(userId: number, login: RoleLogin, applicationName: string): Promise<RoleLease> {
    const key = keyOf(userId, login);
    const kept = this.takeIdle(key) ?? (await this.connect(userId, key, login, applicationName));
    let spoiled = false;
    const lease: RoleLease = {
      client: kept.client,
      pid: kept.pid,
      role: kept.role,
      spoil() {
        spoiled = true;
      },
      get spoiled() {
        return spoiled;
      },
    };
    this.lent.set(lease, kept);
    return lease;
  }

  /** The query is over: the connection is reset and kept, or closed if spoiled or not wanted. */
  release(lease: RoleLease): void {
    const kept = this.lent.get(lease);
    if (!kept) return;
    this.lent.delete(lease);
    this.giveBack(kept, lease.spoiled);
  }

  /** Close the user's kept connections now, and those lent out when they come back. */
  closeUser(userId: number): void {
    this.generations.set(userId, (this.generations.get(userId) ?? 0) + 1);
    for (const [key, list] of this.idle)
      if (list[0]?.userId === userId) for (const kept of [...list]) this.evict(key, kept);
  }

  /**
   * Close every kept connection now, and each lent one when it comes back (privileges changed:
   * what a login was granted may be gone).
   */
  closeAll(): void {
    this.epoch++;
    for (const [key, list] of this.idle) for (const kept of [...list]) this.evict(key, kept);
  }

  /** The hub stops: close every kept connection, and each lent one when it comes back. */
  async close(): Promise<void> {
    this.closed = true;
    this.closeAll();
    await Promise.allSettled([...this.resetting]);
    this.closeAll();
  }

  private takeIdle(key: string): Kept | undefined {
    const list = this.idle.get(key);
    const kept = list?.pop();
    if (!kept) return undefined;
    if (!list!.length) this.idle.delete(key);
    this.countIdle(kept.userId, -1);
    clearTimeout(kept.idle);
    kept.idle = undefined;
    return kept;
  }

  private async connect(
    userId: number,
    key: string,
    login: RoleLogin,
    applicationName: string,
  ): Promise<Kept> {
    const client = new pg.Client({
      connectionString: login.url,
      application_name: applicationName,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // The session's defaults, so that DISCARD ALL (RESET ALL) brings them back.
      options: startupOptions(login.searchPath),
    });
    // A backend terminated by a watchdog ends the connection; the query's own error says so.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      throw new Unavailable(
        'mydb_login',
        `Could not log in to the science database as your role: ${(err as Error).message}`,
      );
    }
    // pg sets it from the server's BackendKeyData; its typings omit it.
    const pid = (client as unknown as { processID: number }).processID;
    return {
      key,
      userId,
      client,
      pid,
      role: login.role,
      generation: this.generations.get(userId) ?? 0,
      epoch: this.epoch,
    };
  }

  private giveBack(kept: Kept, spoiled: boolean): void {
    if (spoiled || !this.wanted(kept)) {
      end(kept.client);
      return;
    }
    // After the answer: the query's caller writes it in this same turn of the event loop, and
    // the reset's round trip waits until then (setImmediate runs once those callbacks are done).
    const reset = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.reset(kept))
      .finally(() => this.resetting.delete(reset));
    this.resetting.add(reset);
  }

  /** May `kept` go back to the pool (before and after its reset)? */
  private wanted(kept: Kept): boolean {
    return (
      !this.closed &&
      kept.epoch === this.epoch &&
      kept.generation === (this.generations.get(kept.userId) ?? 0) &&
      (this.idleOfUser.get(kept.userId) ?? 0) < this.limits.perUser &&
      this.idleCount < this.limits.total
    );
  }

  private async reset(kept: Kept): Promise<void> {
    try {
      // A script may leave a transaction open (or failed): DISCARD ALL cannot run inside one.
      if (kept.client.getTransactionStatus() !== 'I') await kept.client.query('ROLLBACK');
      await kept.client.query('DISCARD ALL');
      if (kept.client.getTransactionStatus() !== 'I') throw new Error('still in a transaction');
    } catch (err) {
      this.log.debug({ err: String(err) }, 'a kept MyDB connection could not be reset: closed');
      end(kept.client);
      return;
    }
    if (!this.wanted(kept)) {
      end(kept.client);
      return;
    }
    const list = this.idle.get(kept.key) ?? [];
    this.idle.set(kept.key, list);
    list.push(kept);
    this.countIdle(kept.userId, 1);
    kept.idle = setTimeout(() => this.evict(kept.key, kept), this.limits.idleMs);
    kept.idle.unref();
  }

  private evict(key: string, kept: Kept): void {
    const list = this.idle.get(key);
    const at = list?.indexOf(kept) ?? -1;
    if (at < 0) return;
    list!.splice(at, 1);
    if (!list!.length) this.idle.delete(key);
    this.countIdle(kept.userId, -1);
    clearTimeout(kept.idle);
    end(kept.client);
  }

  private countIdle(userId: number, by: number): void {
    this.idleCount += by;
    const n = (this.idleOfUser.get(userId) ?? 0) + by;
    if (n > 0) this.idleOfUser.set(userId, n);
    else this.idleOfUser.delete(userId);
  }
}

function end(client: pg.Client): void {
  void client.end().catch(() => undefined);
}

/** user, role, URL (with the password) and search path: what a kept connection may serve. */
function keyOf(userId: number, login: RoleLogin): string {
  return JSON.stringify([userId, login.role, login.url, login.searchPath]);
}

/**
 * The startup `options` setting the search path, UTC and ISO dates. In `options`, a space
 * separates arguments and a backslash escapes the next character.
 */
export function startupOptions(searchPath: readonly string[]): string {
  const escaped = (value: string) => value.replace(/[\\ ]/g, (c) => `\\${c}`);
  const path = searchPath.map((schema) => pg.escapeIdentifier(schema)).join(', ');
  return [
    `-c search_path=${escaped(path)}`,
    '-c TimeZone=UTC',
    `-c DateStyle=${escaped('ISO, YMD')}`,
  ].join(' ');
}
