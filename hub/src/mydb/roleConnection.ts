/**
 * Connections that logged in as a user's own role, kept or watched by the hub: the batch runner's,
 * sessions' and `into`'s (quick queries have theirs in queryRun.ts). Never a privileged connection
 * with `SET ROLE`, which the user could `RESET`.
 *
 * The watchdog enforces a time limit from outside the session, as quick queries do: the user may
 * `SET statement_timeout = 0`. Past the limit the hub cancels the backend from its administrative
 * connection (or terminates it at once, for a session that must not outlive its overrun),
 * terminates it 2 s later if it still runs, and 2 s after that drops the socket.
 */
import pg from 'pg';
import type { Db } from '../db/pool.ts';
import { Unavailable } from '../errors.ts';
import type { RoleLogin } from './queryRun.ts';

const ESCALATION_MS = 2000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface RoleConnection {
  client: pg.Client;
  /** The backend's process id, as the server gave it at login. */
  pid: number;
  role: string;
}

/**
 * Log in as the role of `login`, with its search path, UTC and ISO dates. `applicationName`
 * shows in pg_stat_activity, where a hub finds a stopped hub's batch backends by it.
 */
export async function connectAsRole(
  login: RoleLogin,
  applicationName: string,
): Promise<RoleConnection> {
  const client = new pg.Client({
    connectionString: login.url,
    application_name: applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
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
  try {
    await client.query(
      `SELECT set_config('search_path', $1, false), set_config('TimeZone', 'UTC', false),
              set_config('DateStyle', 'ISO, YMD', false)`,
      [login.searchPath.map((schema) => pg.escapeIdentifier(schema)).join(', ')],
    );
  } catch (err) {
    void client.end().catch(() => undefined);
    throw err;
  }
  // pg sets it from the server's BackendKeyData; its typings omit it.
  const pid = (client as unknown as { processID: number }).processID;
  return { client, pid, role: login.role };
}

export type Signal = 'pg_cancel_backend' | 'pg_terminate_backend';

/** Signal the backend `pid` only if it is still the role's: a pid freed and reused is someone else's. */
export function signalBackend(admin: Db, pid: number, role: string, fn: Signal): Promise<unknown> {
  return admin
    .query(`SELECT ${fn}(pid) FROM pg_stat_activity WHERE pid = $1 AND usename = $2`, [pid, role])
    .catch(() => undefined);
}

export interface Watchdog {
  /** Did the limit pass (or `stop` get called) while the query ran? */
  readonly fired: boolean;
  /** Stop the query now, escalating as at the limit. */
  fire(): void;
  /** The query ended: signal nothing more. */
  disarm(): void;
}

/**
 * Watch `connection` for `timeoutMs`. `firstSignal` is what the limit sends first: a cancel (the
 * session survives) or a terminate (a session that overran is closed with its query).
 */
export function watch(
  admin: Db,
  connection: RoleConnection,
  timeoutMs: number,
  firstSignal: Signal = 'pg_cancel_backend',
): Watchdog {
  const timers: NodeJS.Timeout[] = [];
  let fired = false;
  let disarmed = false;
  const signal = (fn: Signal) => void signalBackend(admin, connection.pid, connection.role, fn);
  const fire = () => {
    if (fired || disarmed) return;
    fired = true;
    signal(firstSignal);
    timers.push(
      setTimeout(() => {
        signal('pg_terminate_backend');
        timers.push(setTimeout(() => dropSocket(connection.client), ESCALATION_MS));
      }, ESCALATION_MS),
    );
  };
  timers.push(setTimeout(fire, timeoutMs));
  return {
    get fired() {
      return fired;
    },
    fire,
    disarm() {
      disarmed = true;
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

/** The last resort when even terminating the backend did not end the query: close the socket. */
export function dropSocket(client: pg.Client): void {
  (
    client as unknown as { connection: { stream: { destroy(): void } } }
  ).connection.stream.destroy();
}

/** Signal the role's backends carrying `applicationName` (a batch query's, run by any hub). */
export function signalBackendsNamed(
  admin: Db,
  applicationName: string,
  role: string,
  fn: Signal,
): Promise<unknown> {
  return admin
    .query(`SELECT ${fn}(pid) FROM pg_stat_activity WHERE application_name = $1 AND usename = $2`, [
      applicationName,
      role,
    ])
    .catch(() => undefined);
}
