/**
 * A quick query's modes beside the plain one: its record in the history, a session's kept
 * connection (sessions.ts), and `into`, the result saved as a table (into.ts).
 */

import type { Response } from 'express';
import type { Actor } from '../auth/actor.ts';
import type { Db } from '../db/pool.ts';
import { DomainError, TimedOut } from '../errors.ts';
import type { QueryHistory } from './history.ts';
import { intoExecutor } from './into.ts';
import type { QuickQueries, QuickQueryAnswer, QuickQueryRequest } from './query.ts';
import type { RoleLogin } from './queryRun.ts';
import type { StreamFormat } from './resultStream.ts';
import { tableExists, tableNameOf, tableTakenError } from './resultTable.ts';
import type { QuerySessions } from './sessions.ts';

/** A quick query's optional modes (docs/mydb.md, "Sessions" and "Batch queries"). */
export interface QuickQueryModeFields {
  session?: string;
  into?: string;
  context?: string;
}

export interface IntoAnswer {
  table: string;
  row_count: number;
  elapsed_ms: number;
}

export class QuickQueryModes {
  constructor(
    private readonly quick: QuickQueries,
    private readonly history: QueryHistory,
    private readonly sessions: QuerySessions,
    private readonly scienceAdmin: Db,
  ) {}

  /**
   * A quick query with its history record, on a session's connection when it names one, saved
   * as a table when it says `into`. The record is written beside the query (history.ts); its
   * failures never change the answer.
   */
  async run(
    actor: Actor,
    schema: string,
    login: RoleLogin,
    request: QuickQueryRequest & QuickQueryModeFields,
  ): Promise<QuickQueryAnswer | IntoAnswer> {
    const table = request.into === undefined ? null : tableNameOf(request.into);
    if (table && (await tableExists(this.scienceAdmin, schema, table)))
      throw tableTakenError(table);
    const recordId = this.history.started({
      userId: actor.userId,
      sql: request.sql,
      context: request.context ?? 'mydb',
      session: request.session ?? null,
      table,
    });
    return this.runRecorded(recordId, actor, login, request, table ? { schema, table } : null);
  }

  /** `run` once its record is written; `into` the MyDB table to make, if any. */
  private async runRecorded(
    recordId: Promise<number | undefined>,
    actor: Actor,
    login: RoleLogin,
    request: QuickQueryRequest & QuickQueryModeFields,
    into: { schema: string; table: string } | null,
  ): Promise<QuickQueryAnswer | IntoAnswer> {
    const session = request.session;
    const table = into?.table ?? null;
    let written = 0;
    const sessionOf = session
      ? { sessions: this.sessions, userId: actor.userId, name: session }
      : undefined;
    const execute = into
      ? intoExecutor(
          {
            schema: into.schema,
            table: into.table,
            written: (rows) => {
              written = rows;
            },
          },
          sessionOf,
        )
      : session
        ? this.sessions.executor(actor.userId, session)
        : undefined;
    try {
      const answer = await this.quick.run(actor, login, request, execute);
      const rowCount = table ? written : answer.row_count;
      void this.history.ended(recordId, 'finished', { rowCount });
      return table ? { table, row_count: written, elapsed_ms: answer.elapsed_ms } : answer;
    } catch (err) {
      void this.history.ended(recordId, err instanceof TimedOut ? 'timed_out' : 'failed', {
        ...errorOf(err),
      });
      throw err;
    }
  }

  /**
   * A quick query streamed as Arrow or CSV (no session, no `into`), with its history record.
   * With `orJson`, a script or command (which cannot stream: refused before it ran) runs as a
   * JSON quick query under the same record, and its answer is returned.
   */
  async stream(
    actor: Actor,
    login: RoleLogin,
    request: QuickQueryRequest,
    format: StreamFormat,
    res: Response,
    options: { orJson: boolean },
  ): Promise<QuickQueryAnswer | undefined> {
    const recordId = this.history.started({
      userId: actor.userId,
      sql: request.sql,
      context: request.context ?? 'mydb',
      session: null,
      table: null,
    });
    try {
      const end = await this.quick.stream(actor, login, request, format, res);
      void this.history.ended(recordId, end.status, { rowCount: end.rowCount, error: end.error });
      return undefined;
    } catch (err) {
      if (options.orJson && !res.headersSent && (err as DomainError).reason === 'one_query') {
        return (await this.runRecorded(recordId, actor, login, request, null)) as QuickQueryAnswer;
      }
      void this.history.ended(recordId, err instanceof TimedOut ? 'timed_out' : 'failed', {
        ...errorOf(err),
      });
      throw err;
    }
  }
}

/** A failed query's record: the message (a SQL error's own, with its position), never ours. */
function errorOf(err: unknown): { error: string; errorPosition?: number } {
  const db = err as { code?: string; position?: string; details?: { position?: unknown } };
  if (!(err instanceof DomainError) && !db.code) return { error: 'internal error' };
  const position =
    typeof db.details?.position === 'number'
      ? db.details.position
      : db.position
        ? Number(db.position)
        : undefined;
  return { error: (err as Error).message, ...(position ? { errorPosition: position } : {}) };
}
