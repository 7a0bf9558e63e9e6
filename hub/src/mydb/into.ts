/**
 * The quick query's `into`: the result saved as a new MyDB table instead of answered, by the same
 * one-transaction `CREATE TABLE … AS` as batch queries (resultTable.ts), under the quick query's
 * limits. With a session it runs on the session's connection (its temporary tables are there to
 * read from); without, on a connection of its own.
 */
import type { Db } from '../db/pool.ts';
import { DomainError, TimedOut } from '../errors.ts';
import type { QuickOutcome, QuickRun, RoleLogin } from './queryRun.ts';
import { createTableAs } from './resultTable.ts';
import { connectAsRole, type RoleConnection, type Signal, watch } from './roleConnection.ts';
import { type Execute, isServerError, type QuerySessions, sessionLost } from './sessions.ts';

export interface IntoTarget {
  schema: string;
  table: string;
  /** Told the rows written once the table is committed. */
  written(rowCount: number): void;
}

/** An executor for query.ts that saves the result as `target` and answers no rows. */
export function intoExecutor(
  target: IntoTarget,
  session?: { sessions: QuerySessions; userId: number; name: string },
): Execute {
  if (session)
    return (admin, login, run) =>
      session.sessions.use(session.userId, session.name, login, async (connection) => {
        try {
          return await saveAs(admin, connection, target, run, 'pg_terminate_backend');
        } catch (err) {
          const lost = !(err instanceof DomainError) && !isServerError(err);
          // Overran and terminated, or its connection gone: the session is over, as sessions.ts says.
          if (err instanceof TimedOut || lost)
            session.sessions.close(session.userId, session.name, connection);
          throw lost ? sessionLost(session.name) : err;
        }
      });
  return async (admin: Db, login: RoleLogin, run: QuickRun) => {
    const connection = await connectAsRole(login, 'orrery-mydb-quick');
    try {
      return await saveAs(admin, connection, target, run, 'pg_cancel_backend');
    } finally {
      void connection.client.end().catch(() => undefined);
    }
  };
}

async function saveAs(
  admin: Db,
  connection: RoleConnection,
  target: IntoTarget,
  run: QuickRun,
  firstSignal: Signal,
): Promise<QuickOutcome> {
  const watchdog = watch(admin, connection, run.timeoutMs, firstSignal);
  try {
    const rowCount = await createTableAs(connection.client, target.schema, target.table, run.sql);
    await connection.client.query('COMMIT');
    target.written(rowCount);
    return { columns: [], rows: [], truncated: false, command: 'SELECT' };
  } catch (err) {
    if (watchdog.fired)
      throw new TimedOut(
        'query_time_limit',
        `The query reached the time limit of ${run.timeoutMs / 1000} s and was stopped; no table was made` +
          (firstSignal === 'pg_terminate_backend' ? ' and your session was closed with it' : ''),
      );
    throw err;
  } finally {
    watchdog.disarm();
  }
}
