/**
 * The batch runner: one per hub process, started and stopped with the mydb module. Every tick it
 * fails the queries of hubs that stopped, beats its own queries' hearts (noticing any cancelled
 * elsewhere), and starts queued queries while the caps allow (store.ts picks fairly). A query
 * runs on a connection that logged in as its user's role, as one `CREATE TABLE … AS` in one
 * transaction (resultTable.ts), watched from outside for its time limit. The science
 * transaction commits only after the hub's database has recorded `finished`, under that row's
 * lock, so a cancel cannot slip in between and a cancelled query never leaves its table behind.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../../db/pool.ts';
import { inTransaction } from '../../db/pool.ts';
import { DomainError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { clip } from '../../log.ts';
import type { RoleLogin } from '../queryRun.ts';
import { transition } from '../queryStatus.ts';
import { createTableAs } from '../resultTable.ts';
import {
  connectAsRole,
  type RoleConnection,
  signalBackendsNamed,
  type Watchdog,
  watch,
} from '../roleConnection.ts';
import { type BatchRecord, beat, claimNext, staleRunning } from './store.ts';

export interface BatchLimits {
  timeoutSeconds: number;
  perUser: number;
  total: number;
  queuedPerUser: number;
  pollSeconds: number;
  staleSeconds: number;
}

/** Where a query's user logs in, and the schema their result table goes to. */
export interface BatchLogins {
  loginFor(userId: number, context: string): Promise<{ login: RoleLogin; schema: string }>;
  /** The user's role, if they still have a space (to find a stopped hub's backends). */
  roleOf(userId: number): Promise<string | undefined>;
  /** After a query ended either way (it may have written): the quota and grants re-checked. */
  afterQuery?(userId: number): Promise<void>;
}

/** What a stopped hub's running queries are marked with (they are not run again: see docs/mydb.md). */
export const HUB_STOPPED = 'The hub stopped while it ran; submit it again';

/** The application_name a batch query's backend carries, so any hub can find it. */
export const backendName = (id: number) => `orrery-mydb-batch:${id}`;

/** Errors kept in the record at most this long. */
const ERROR_CHARS = 2000;

interface Running {
  watchdog?: Watchdog;
  /** Cancelled (here or elsewhere) before its watchdog existed. */
  stopped: boolean;
}

export class BatchRunner {
  /** This hub process, as recorded in the rows it runs. */
  readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly running = new Map<number, Running>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly scienceAdmin: Db,
    private readonly logins: BatchLogins,
    private readonly limits: BatchLimits,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), Math.max(1, this.limits.pollSeconds) * 1000);
    this.kick();
  }

  /** Stop taking work and stop what runs here; their rows are failed by whichever hub looks next. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.ticking;
    for (const run of this.running.values()) this.stop(run);
    const deadline = Date.now() + 6000;
    while (this.running.size && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Look for work now (a query was submitted, or one ended). */
  kick(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((err) => this.log.warn({ err: String(err) }, 'the batch runner’s tick failed'))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stop query `id` if it runs in this process (its status was already changed). */
  stopLocal(id: number): void {
    const run = this.running.get(id);
    if (run) this.stop(run);
  }

  private stop(run: Running): void {
    run.stopped = true;
    run.watchdog?.fire();
  }

  private async tick(): Promise<void> {
    // Our own heartbeats first, so a slow tick never makes our queries look stale to us.
    const alive = await beat(this.db, this.id, [...this.running.keys()]);
    for (const [id, run] of this.running) if (!alive.has(id)) this.stop(run);
    await this.failStale();
    while (!this.closed) {
      const next = await claimNext(this.db, this.id, this.limits);
      if (!next) break;
      const run: Running = { stopped: false };
      this.running.set(next.id, run);
      void this.execute(next, run)
        .catch((err) => this.log.warn({ id: next.id, err: String(err) }, 'batch query failed'))
        .finally(() => {
          this.running.delete(next.id);
          this.kick();
        });
    }
  }

  /** Queries of hubs that stopped beating: failed, and their backends (if any) ended. */
  private async failStale(): Promise<void> {
    for (const stale of await staleRunning(this.db, this.limits.staleSeconds)) {
      const failed = await transition(
        this.db,
        stale.id,
        'failed',
        { error: HUB_STOPPED },
        { runner: stale.runner, staleSeconds: this.limits.staleSeconds },
      );
      if (!failed) continue;
      this.log.warn(
        { id: stale.id, runner: stale.runner },
        'a batch query’s hub stopped; failed it',
      );
      const role = await this.logins.roleOf(stale.userId);
      // Its backend may still run (PostgreSQL notices a vanished client only when it writes):
      // ended, it rolls back and leaves no table.
      if (role)
        await signalBackendsNamed(
          this.scienceAdmin,
          backendName(stale.id),
          role,
          'pg_terminate_backend',
        );
    }
  }

  private async execute(query: BatchRecord, run: Running): Promise<void> {
    const limitSeconds = Math.min(
      query.timeoutSeconds ?? this.limits.timeoutSeconds,
      this.limits.timeoutSeconds,
    );
    let connection: RoleConnection | undefined;
    try {
      const { login, schema } = await this.logins.loginFor(query.userId, query.context);
      connection = await connectAsRole(login, backendName(query.id));
      // PostgreSQL 14+: the backend checks its client is still there, so a hub that died does
      // not leave its query running until a peer hub notices.
      await connection.client
        .query("SELECT set_config('client_connection_check_interval', '5s', false)")
        .catch(() => undefined);
      const watchdog = watch(this.scienceAdmin, connection, limitSeconds * 1000);
      run.watchdog = watchdog;
      if (run.stopped) watchdog.fire();
      try {
        const rowCount = await createTableAs(connection.client, schema, query.table, query.sql);
        await this.finish(query, connection, rowCount);
      } catch (err) {
        if (watchdog.fired && !run.stopped)
          throw new TimeLimit(
            `The query reached the time limit of ${limitSeconds} s and was stopped`,
          );
        throw err;
      } finally {
        watchdog.disarm();
      }
    } catch (err) {
      // A cancelled query is already `cancelled`: this CAS then changes nothing.
      const db = err as { message?: string; position?: string; detail?: string; hint?: string };
      const extra =
        err instanceof DomainError ? '' : [db.detail, db.hint].filter(Boolean).join(' ');
      const message = this.closed
        ? HUB_STOPPED
        : `${db.message ?? String(err)}${extra ? ` (${extra})` : ''}`;
      await transition(
        this.db,
        query.id,
        'failed',
        {
          error: clip(message, ERROR_CHARS),
          errorPosition: db.position ? Number(db.position) : null,
        },
        { runner: this.id },
      );
    } finally {
      if (connection) void connection.client.end().catch(() => undefined);
      await this.logins.afterQuery?.(query.userId).catch(() => undefined);
    }
  }

  /** Record `finished` and commit the table under the row's lock; a cancel meanwhile rolls it back. */
  private async finish(query: BatchRecord, connection: RoleConnection, rowCount: number) {
    const committed = await inTransaction(this.db, async (client) => {
      const finished = await transition(
        client,
        query.id,
        'finished',
        { rowCount },
        { runner: this.id },
      );
      if (!finished) return false;
      await connection.client.query('COMMIT');
      return true;
    });
    if (!committed) await connection.client.query('ROLLBACK').catch(() => undefined);
  }
}

class TimeLimit extends Error {}
