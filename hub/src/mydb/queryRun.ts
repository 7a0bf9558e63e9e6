/**
 * One quick query on a connection that logged in as the user's own role: never a privileged
 * connection with `SET ROLE`, which the user could `RESET`. The script goes as one simple-protocol
 * query, so several statements run as PostgreSQL runs them and the last one's result is answered.
 *
 * Rows stream in and at most `maxRows` of them are kept (the rest are read and dropped, so the
 * hub never holds more than the cap; the server's work is bounded by the time limit).
 *
 * The time limit is enforced from outside the session, since the user may `SET statement_timeout
 * = 0`: past it the hub cancels the backend from its administrative connection, terminates it 2 s
 * later if it still runs, and 2 s after that drops the socket, so no request outlives the limit
 * by more than about 4 s.
 */
import pg from 'pg';
import type { Db } from '../db/pool.ts';
import { TimedOut, Unavailable } from '../errors.ts';
import { quickQueryTypes } from './queryValues.ts';

/** Seconds between the cancel and the terminate, and between the terminate and dropping the socket. */
const ESCALATION_MS = 2000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface RoleLogin {
  /** The user's role, the only one whose backend the watchdog signals. */
  role: string;
  /** The science database's URL with the user's role and derived password. */
  url: string;
  /** The schemas the query sees unqualified, first the user's MyDB. */
  searchPath: readonly string[];
}

export interface QuickRun {
  sql: string;
  maxRows: number;
  timeoutMs: number;
}

export interface QuickOutcome {
  columns: { name: string; typeOid: number }[];
  rows: unknown[][];
  truncated: boolean;
  /** The last statement's command tag (`SELECT`, `INSERT`, …); null for an empty script. */
  command: string | null;
}

/**
 * Run `run.sql` as the role of `login`. A SQL error rejects with PostgreSQL's error (a
 * `pg.DatabaseError`); the time limit with TimedOut; a refused login with Unavailable.
 */
export async function runAsRole(admin: Db, login: RoleLogin, run: QuickRun): Promise<QuickOutcome> {
  const client = new pg.Client({
    connectionString: login.url,
    application_name: 'orrery-mydb-quick',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // A backend terminated by the watchdog ends the connection; the query's own error says so.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new Unavailable(
      'mydb_login',
      `Could not log in to the science database as your role: ${(err as Error).message}`,
    );
  }
  const timers: NodeJS.Timeout[] = [];
  try {
    await client.query(
      `SELECT set_config('search_path', $1, false), set_config('TimeZone', 'UTC', false),
              set_config('DateStyle', 'ISO, YMD', false)`,
      [login.searchPath.map((schema) => pg.escapeIdentifier(schema)).join(', ')],
    );
    // pg sets it from the server's BackendKeyData; its typings omit it.
    const pid = (client as unknown as { processID: number }).processID;
    let timedOut = false;
    // Only a backend of the user's role: a pid freed just now and reused is someone else's.
    const signal = (fn: 'pg_cancel_backend' | 'pg_terminate_backend') =>
      admin
        .query(`SELECT ${fn}(pid) FROM pg_stat_activity WHERE pid = $1 AND usename = $2`, [
          pid,
          login.role,
        ])
        .catch(() => undefined);
    timers.push(
      setTimeout(() => {
        timedOut = true;
        void signal('pg_cancel_backend');
        timers.push(
          setTimeout(() => {
            void signal('pg_terminate_backend');
            timers.push(setTimeout(() => dropSocket(client), ESCALATION_MS));
          }, ESCALATION_MS),
        );
      }, run.timeoutMs),
    );
    try {
      return await collect(client, run);
    } catch (err) {
      if (timedOut)
        throw new TimedOut(
          'query_time_limit',
          `The query reached the time limit of ${run.timeoutMs / 1000} s and was stopped; ` +
            'make it cheaper or submit it as a batch job',
        );
      throw err;
    } finally {
      // A query that ended on its own just as the limit passed is not signalled any further.
      for (const timer of timers) clearTimeout(timer);
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    // Ending the session also rolls back a transaction the script left open.
    void client.end().catch(() => undefined);
  }
}

/** The last statement's result, keeping at most `maxRows` rows of it (sessions.ts runs it too). */
export function collect(client: pg.Client, run: QuickRun): Promise<QuickOutcome> {
  const config: pg.QueryArrayConfig = { text: run.sql, rowMode: 'array', types: quickQueryTypes };
  const query = new pg.Query(config as pg.QueryConfig);
  let current: unknown;
  let rows: unknown[][] = [];
  let truncated = false;
  // A 'row' listener (and no callback) makes pg hand over rows one by one instead of keeping them.
  query.on('row', (row: unknown[], result: unknown) => {
    if (result !== current) {
      // A later statement's rows: only the last result set is answered.
      current = result;
      rows = [];
      truncated = false;
    }
    if (rows.length < run.maxRows) rows.push(row);
    else truncated = true;
  });
  return new Promise((resolve, reject) => {
    query.on('error', reject);
    query.on('end', (results: pg.QueryResult | pg.QueryResult[]) => {
      const last = Array.isArray(results) ? results[results.length - 1] : results;
      const mine = last !== undefined && last === current;
      resolve({
        columns: (last?.fields ?? []).map((field) => ({
          name: field.name,
          typeOid: field.dataTypeID,
        })),
        rows: mine ? rows : [],
        truncated: mine && truncated,
        command: last?.command || null,
      });
    });
    client.query(query as unknown as pg.Submittable);
  });
}

/** The last resort when even terminating the backend did not end the query: close the socket. */
function dropSocket(client: pg.Client): void {
  (
    client as unknown as { connection: { stream: { destroy(): void } } }
  ).connection.stream.destroy();
}
