/**
 * Quick (synchronous) queries in a user's MyDB: the per-user cap of running queries, the limits
 * of one query, the answer's shape, and its record in the activity log (written off the answer's
 * path, activity/writer.ts). Running the SQL itself is queryRun.ts, on connections kept logged
 * in as the user's role (rolePool.ts).
 */

import type { Response } from 'express';
import type { ActivityPayload } from '../activity/store.ts';
import type { ActivityWriter } from '../activity/writer.ts';
import type { Actor } from '../auth/actor.ts';
import type { Db } from '../db/pool.ts';
import { DomainError, Invalid, LimitReached, TimedOut } from '../errors.ts';
import { clip } from '../log.ts';
import {
  type Lender,
  type QuickRun,
  type RoleLogin,
  runAsRole,
  withRoleSession,
} from './queryRun.ts';
import { typeNamesOf } from './queryValues.ts';
import { type StreamFormat, streamQuery } from './resultStream.ts';
import type { RoleConnectionPool } from './rolePool.ts';
import type { Execute } from './sessions.ts';

export interface QuickQueryLimits {
  timeoutSeconds: number;
  maxRows: number;
  perUser: number;
}

export interface QuickQueryRequest {
  sql: string;
  /** The context whose schema comes first in the search_path (default `mydb`). */
  context?: string;
  /** At most the hub's cap; default the cap. */
  max_rows?: number;
  /** At most the hub's limit; default the limit. */
  timeout_seconds?: number;
}

export interface QuickQueryAnswer {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  command: string | null;
  elapsed_ms: number;
}

/** How a streamed query ended once its answer had begun (for the query history). */
export interface StreamEnd {
  status: 'finished' | 'failed' | 'timed_out' | 'cancelled';
  rowCount?: number;
  error?: string;
}

/** Answers whose query provably wrote nothing (no transaction id): no grant sync after them. */
const wroteNothing = new WeakSet<QuickQueryAnswer>();

/** Did the query behind `answer` provably write nothing (so grants and quota need no sync)? */
export function changedNothing(answer: object): boolean {
  return wroteNothing.has(answer as QuickQueryAnswer);
}

/** What a request above the per-user cap is told to wait: a quick query rarely takes longer. */
const RETRY_AFTER_SECONDS = 5;

/** The SQL kept in the activity log, at most this many characters. */
const LOGGED_SQL_CHARS = 1000;

export class QuickQueries {
  /** Running quick queries per user id, in this hub process. */
  private readonly running = new Map<number, number>();

  constructor(
    /** The activity log, written off the answer's path. */
    private readonly activity: ActivityWriter,
    /** The science database's administrative pool: type names, and cancelling a query past its limit. */
    private readonly scienceAdmin: Db,
    private readonly limits: QuickQueryLimits,
    /** Connections kept logged in as users' roles (rolePool.ts). */
    private readonly pool: RoleConnectionPool,
  ) {}

  /** Lends user `userId`'s kept connections of `login`'s role. */
  private lender(userId: number, login: RoleLogin): Lender {
    return {
      acquire: () => this.pool.acquire(userId, login, 'orrery-mydb-quick'),
      release: (lease) => this.pool.release(lease),
    };
  }

  /** `execute` runs the SQL: on a kept connection by default, or a session's (sessions.ts). */
  async run(
    actor: Actor,
    login: RoleLogin,
    request: QuickQueryRequest,
    execute?: Execute,
  ): Promise<QuickQueryAnswer> {
    const run =
      execute ??
      ((admin: Db, _login: RoleLogin, quick: QuickRun) =>
        runAsRole(admin, this.lender(actor.userId, login), quick));
    return this.admitted(actor, request, async (started) => {
      const outcome = await run(this.scienceAdmin, login, {
        sql: request.sql,
        maxRows: this.maxRowsOf(request),
        timeoutMs: this.timeoutMsOf(request),
      });
      const names = await typeNamesOf(
        this.scienceAdmin,
        outcome.columns.map((column) => column.typeOid),
      );
      const answer: QuickQueryAnswer = {
        columns: outcome.columns.map((column) => ({
          name: column.name,
          type: names.get(column.typeOid) ?? 'unknown',
        })),
        rows: outcome.rows,
        row_count: outcome.rows.length,
        truncated: outcome.truncated,
        command: outcome.command,
        elapsed_ms: Math.round(performance.now() - started),
      };
      if (outcome.wroteNothing) wroteNothing.add(answer);
      return {
        value: answer,
        logged: { status: 'ok', row_count: answer.row_count, truncated: answer.truncated },
      };
    });
  }

  /**
   * Run one query and stream its rows into `res` as Arrow or CSV (resultStream.ts). The answer
   * is written here; a failure after its first byte cuts it short (the client sees an incomplete
   * stream) and resolves with how it ended, for the history; before it, it rejects as `run` does.
   */
  async stream(
    actor: Actor,
    login: RoleLogin,
    request: QuickQueryRequest,
    format: StreamFormat,
    res: Response,
  ): Promise<StreamEnd> {
    try {
      return await this.admitted(actor, request, async (started) => {
        const outcome = await withRoleSession(
          this.scienceAdmin,
          this.lender(actor.userId, login),
          this.timeoutMsOf(request),
          (client, session) =>
            streamQuery(client, this.scienceAdmin, session.cancel, res, {
              sql: request.sql,
              maxRows: this.maxRowsOf(request),
              format,
              started,
            }),
        );
        return {
          value: outcome.disconnected
            ? { status: 'cancelled' as const, error: 'the client left before the end' }
            : { status: 'finished' as const, rowCount: outcome.rowCount },
          logged: {
            status: outcome.disconnected ? 'disconnected' : 'ok',
            format,
            row_count: outcome.rowCount,
            truncated: outcome.truncated,
          },
        };
      });
    } catch (err) {
      if (!res.headersSent) throw err;
      // Too late for an error answer: the client sees the stream end without its last bytes.
      res.destroy();
      return {
        status: err instanceof TimedOut ? 'timed_out' : 'failed',
        error: err instanceof DomainError ? err.message : String((err as Error).message ?? err),
      };
    }
  }

  private maxRowsOf(request: QuickQueryRequest): number {
    return Math.min(request.max_rows ?? this.limits.maxRows, this.limits.maxRows);
  }

  private timeoutMsOf(request: QuickQueryRequest): number {
    return (
      Math.min(request.timeout_seconds ?? this.limits.timeoutSeconds, this.limits.timeoutSeconds) *
      1000
    );
  }

  /** `work` under the per-user cap of running queries, recorded in the activity log either way. */
  private async admitted<T>(
    actor: Actor,
    request: QuickQueryRequest,
    work: (started: number) => Promise<{ value: T; logged: ActivityPayload }>,
  ): Promise<T> {
    const started = performance.now();
    const record = (payload: ActivityPayload) =>
      this.activity.record({
        type: 'mydb.query',
        userId: actor.userId,
        address: actor.address,
        payload: {
          sql: clip(request.sql, LOGGED_SQL_CHARS),
          elapsed_ms: Math.round(performance.now() - started),
          ...payload,
        },
      });
    const held = this.running.get(actor.userId) ?? 0;
    if (held >= this.limits.perUser) {
      record({ status: 'refused', error: 'quick_queries_running' });
      throw new LimitReached(
        'quick_queries_running',
        `You already have ${held} quick ${held === 1 ? 'query' : 'queries'} running (the limit is ${this.limits.perUser}); wait for one to finish`,
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    // Counted before the first await: two requests at once cannot both pass the cap.
    this.running.set(actor.userId, held + 1);
    try {
      const { value, logged } = await work(started);
      record(logged);
      return value;
    } catch (err) {
      const refusal = asRefusal(err);
      record({
        status: refusal?.reason === 'query_time_limit' ? 'timed_out' : 'error',
        error: clip(refusal?.message ?? String(err), LOGGED_SQL_CHARS),
      });
      throw refusal ?? err;
    } finally {
      const left = (this.running.get(actor.userId) ?? 1) - 1;
      if (left > 0) this.running.set(actor.userId, left);
      else this.running.delete(actor.userId);
    }
  }
}

/** PostgreSQL's refusal of the user's SQL is the user's to read (400); anything else is ours (undefined). */
function asRefusal(err: unknown): DomainError | undefined {
  if (err instanceof DomainError) return err;
  const db = err as {
    code?: string;
    message?: string;
    detail?: string;
    hint?: string;
    position?: string;
  };
  if (typeof db.code === 'string' && /^[0-9A-Z]{5}$/.test(db.code)) {
    const extra = [db.detail, db.hint].filter(Boolean).join(' ');
    // `position` (1-based, in characters of the user's SQL) lets an editor point at the error.
    const position = db.position ? Number(db.position) : undefined;
    return new Invalid(
      'sql_error',
      `${db.message}${extra ? ` (${extra})` : ''} [SQLSTATE ${db.code}]`,
      { details: { sqlstate: db.code, ...(position ? { position } : {}) } },
    );
  }
  return undefined;
}
