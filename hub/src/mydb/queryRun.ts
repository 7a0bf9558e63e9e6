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
import { runCapped } from './cappedQuery.ts';
import { quickQueryTypes } from './queryValues.ts';
import { asSubquery, positionedInUserSql, SUBQUERY_PREFIX } from './resultStream.ts';
import { type RoleLease, startupOptions } from './rolePool.ts';

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
  /** True when the query provably wrote nothing (no transaction id): no grant sync needed. */
  wroteNothing?: boolean;
}

/** Where a quick query's connection comes from and goes back to (rolePool.ts). */
export interface Lender {
  acquire(): Promise<RoleLease>;
  release(lease: RoleLease): void;
}

/**
 * Run `run.sql` as the role whose connection `lender` lends. A SQL error rejects with
 * PostgreSQL's error (a `pg.DatabaseError`); the time limit with TimedOut; a refused login with
 * Unavailable.
 */
export function runAsRole(admin: Db, lender: Lender, run: QuickRun): Promise<QuickOutcome> {
  return withRoleSession(admin, lender, run.timeoutMs, async (client) => {
    // One query is asked for one row past the cap, so the server stops there. The extended
    // protocol refuses several statements, and a command is no subquery: PostgreSQL rejects
    // both while parsing, before anything runs, and the SQL then runs as the script it is (its
    // last result read to the end and capped as it arrives).
    // The query and the check whether it was given a transaction id (a query that was not
    // changed no table, grant or size, and needs no grant sync afterwards) run in one implicit
    // transaction, in one round trip (cappedQuery.ts).
    try {
      return await runCapped(
        client,
        `SELECT * FROM ${asSubquery(run.sql)} LIMIT ${run.maxRows + 1}`,
        run.maxRows,
      );
    } catch (err) {
      if (!NOT_ONE_QUERY.has((err as { code?: string }).code ?? ''))
        throw positionedInUserSql(err, SUBQUERY_PREFIX);
    }
    // Nothing ran: the Sync after the refused Parse ended the implicit transaction.
    return collect(client, run);
  });
}

/**
 * What PostgreSQL says, while parsing, of SQL that is not one query a subquery can hold:
 * syntax (a script, a command, `SELECT … INTO`), and a data-modifying `WITH` not at the top.
 */
const NOT_ONE_QUERY = new Set(['42601', '0A000']);

/** A connection logged in as the user's role, and how to stop what it runs. */
export interface RoleSession {
  client: pg.Client;
  /** Cancel the running statement from the administrative connection (the client left, say). */
  cancel(): Promise<void>;
}

/**
 * Log in as the user's role, with the search path, UTC and the ISO date style set (tables.ts:
 * exports and imports, each on a connection of its own).
 */
export async function connectAsRole(admin: Db, login: RoleLogin): Promise<RoleSession> {
  const client = new pg.Client({
    connectionString: login.url,
    application_name: 'orrery-mydb-quick',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    options: startupOptions(login.searchPath),
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
  const pid = (client as unknown as { processID: number }).processID;
  const signal = backendSignal(admin, pid, login.role);
  return { client, cancel: () => signal('pg_cancel_backend') };
}

/** Signals the backend `pid`, and only while it is still the user's role's. */
function backendSignal(admin: Db, pid: number, role: string) {
  // Only a backend of the user's role: a pid freed just now and reused is someone else's.
  return async (fn: 'pg_cancel_backend' | 'pg_terminate_backend') => {
    await admin
      .query(`SELECT ${fn}(pid) FROM pg_stat_activity WHERE pid = $1 AND usename = $2`, [pid, role])
      .catch(() => undefined);
  };
}

/**
 * Run `work` on a lent connection of the user's role under the time limit (cancel, terminate,
 * drop the socket). The connection goes back afterwards; spoiled (closed, not reused) if `work`
 * failed, the limit passed, or it was cancelled: a signal still on its way must not reach the
 * next query.
 */
export async function withRoleSession<T>(
  admin: Db,
  lender: Lender,
  timeoutMs: number,
  work: (client: pg.Client, session: RoleSession) => Promise<T>,
): Promise<T> {
  const lease = await lender.acquire();
  const { client } = lease;
  const signal = backendSignal(admin, lease.pid, lease.role);
  const session: RoleSession = {
    client,
    cancel: () => {
      lease.spoil();
      return signal('pg_cancel_backend');
    },
  };
  const timers: NodeJS.Timeout[] = [];
  let timedOut = false;
  try {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        lease.spoil();
        void signal('pg_cancel_backend');
        timers.push(
          setTimeout(() => {
            void signal('pg_terminate_backend');
            timers.push(setTimeout(() => dropSocket(client), ESCALATION_MS));
          }, ESCALATION_MS),
        );
      }, timeoutMs),
    );
    try {
      return await work(client, session);
    } catch (err) {
      lease.spoil();
      if (timedOut)
        throw new TimedOut(
          'query_time_limit',
          `The query reached the time limit of ${timeoutMs / 1000} s and was stopped; ` +
            'make it cheaper or submit it as a batch job',
        );
      throw err;
    }
  } finally {
    // A query that ended on its own just as the limit passed is not signalled any further.
    for (const timer of timers) clearTimeout(timer);
    // A kept connection is reset (a transaction left open rolled back) before its next query.
    lender.release(lease);
  }
}

/** The last statement's result, keeping at most `maxRows` rows of it (sessions.ts runs it too). */
export function collect(
  client: pg.Client,
  run: QuickRun & { extended?: boolean },
): Promise<QuickOutcome> {
  const config: pg.QueryArrayConfig = {
    text: run.sql,
    rowMode: 'array',
    types: quickQueryTypes,
    ...(run.extended ? { queryMode: 'extended' } : {}),
  } as pg.QueryArrayConfig;
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
