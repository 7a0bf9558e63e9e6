/**
 * A quick query's modes beside the plain one: its record in the history, a session's kept
 * connection (sessions.ts), and `into`, the result saved as a table (into.ts).
 */
import type { Actor } from '../auth/actor.ts';
import type { Db } from '../db/pool.ts';
import { DomainError, TimedOut } from '../errors.ts';
import type { QueryHistory } from './history.ts';
import { intoExecutor } from './into.ts';
import type { QuickQueries, QuickQueryAnswer, QuickQueryRequest } from './query.ts';
import type { RoleLogin } from './queryRun.ts';
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
   * as a table when it says `into`. The record's failures never change the answer.
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
    const session = request.session;
    const recordId = await this.history.started({
      userId: actor.userId,
      sql: request.sql,
      context: request.context ?? 'mydb',
      session: session ?? null,
      table,
    });
    let written = 0;
    const sessionOf = session
      ? { sessions: this.sessions, userId: actor.userId, name: session }
      : undefined;
    const execute = table
      ? intoExecutor(
          {
            schema,
            table,
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
      await this.history.ended(recordId, 'finished', { rowCount });
      return table ? { table, row_count: written, elapsed_ms: answer.elapsed_ms } : answer;
    } catch (err) {
      await this.history.ended(recordId, err instanceof TimedOut ? 'timed_out' : 'failed', {
        error:
          err instanceof DomainError || (err as { code?: string }).code
            ? (err as Error).message
            : 'internal error',
      });
      throw err;
    }
  }
}
