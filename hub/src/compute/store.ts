/** SQL for the servers table. */
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';

export type ServerStatus = 'starting' | 'running' | 'stopping';

export interface ServerRecord {
  id: number;
  userId: number;
  owner: string;
  ownerSafeName: string;
  name: string;
  image: string;
  domain: string;
  status: ServerStatus;
  state: unknown;
  url: string | null;
  startedAt: Date;
  readyAt: Date | null;
  lastActivityAt: Date;
  /** What the start request asked for (JupyterHub's user_options). */
  userOptions: Record<string, unknown>;
}

const COLUMNS = `s.id, s.user_id AS "userId", u.name AS owner, u.safe_name AS "ownerSafeName", s.name, s.image,
  s.domain, s.status, s.state, s.url, s.started_at AS "startedAt", s.ready_at AS "readyAt",
  s.last_activity_at AS "lastActivityAt", s.user_options AS "userOptions"`;
const FROM = 'servers s JOIN users u ON u.id = s.user_id';

/** Why a server could not be claimed. */
export type ClaimRefusal = 'no-user' | 'limit' | 'taken';

/**
 * Claim the name for a new server, within the user's limit, atomically: the user's row is
 * locked (FOR UPDATE) while counting, so parallel starts of one user queue here and the
 * count each sees includes the others' rows. The same lock orders a start against the
 * account's deletion: a start that waited for it finds no user.
 */
export async function claimServer(
  db: Db,
  spec: {
    userId: number;
    name: string;
    image: string;
    domain: string;
    maxServers: number;
    userOptions: Record<string, unknown>;
  },
): Promise<{ record: ServerRecord } | { refused: ClaimRefusal }> {
  return inTransaction(db, async (client) => {
    const user = await client.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [spec.userId]);
    if (user.rowCount === 0) return { refused: 'no-user' as const };
    const { rows } = await client.query(
      'SELECT count(*)::int AS n, bool_or(name = $2) AS taken FROM servers WHERE user_id = $1',
      [spec.userId, spec.name],
    );
    if (rows[0].taken) return { refused: 'taken' as const };
    if (rows[0].n >= spec.maxServers) return { refused: 'limit' as const };
    const inserted = await client.query(
      `INSERT INTO servers (user_id, name, image, domain, status, user_options)
       VALUES ($1, $2, $3, $4, 'starting', $5) RETURNING id`,
      [spec.userId, spec.name, spec.image, spec.domain, JSON.stringify(spec.userOptions)],
    );
    const record = await client.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE s.id = $1`, [
      inserted.rows[0].id,
    ]);
    return { record: record.rows[0] as ServerRecord };
  });
}

/**
 * The only ways a server's status changes; a row is deleted once its server is gone.
 * starting → running (ready) · starting → stopping (given up, or stopped while starting)
 * running → stopping (stop, cull, died) · stopping → running (the stop failed: it still runs)
 */
const EDGES: Record<ServerStatus, ServerStatus[]> = {
  starting: ['running', 'stopping'],
  running: ['stopping'],
  stopping: ['running'],
};

/**
 * Move server `id` from `from` to `to` if it is still in `from`; returns the row as it is now,
 * or undefined when another actor moved or deleted it first (the caller then leaves it alone).
 * The compare-and-set is one UPDATE, so two actors never both win.
 */
export async function transition(
  db: Queryable,
  id: number,
  from: ServerStatus,
  to: ServerStatus,
  ready?: { url: string; state: unknown },
): Promise<ServerRecord | undefined> {
  if (!EDGES[from].includes(to)) throw new Error(`no server transition ${from} → ${to}`);
  const { rows } = await db.query(
    `UPDATE servers s SET status = $3,
       url = COALESCE($4, s.url), state = COALESCE($5::jsonb, s.state),
       ready_at = CASE WHEN $4::text IS NULL THEN s.ready_at ELSE now() END,
       last_activity_at = CASE WHEN $4::text IS NULL THEN s.last_activity_at ELSE now() END
     FROM users u WHERE s.id = $1 AND s.status = $2 AND u.id = s.user_id RETURNING ${COLUMNS}`,
    [id, from, to, ready?.url ?? null, ready ? JSON.stringify(ready.state) : null],
  );
  return rows[0];
}

/**
 * Record the backend state as soon as it exists, so a crash mid-spawn can still clean up.
 * False when the row is no longer starting (stopped, or its account deleted, meanwhile).
 */
export async function saveState(db: Queryable, id: number, state: unknown): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE servers SET state = $2 WHERE id = $1 AND status = 'starting'`,
    [id, JSON.stringify(state)],
  );
  return (rowCount ?? 0) > 0;
}

export async function deleteServer(db: Queryable, id: number): Promise<void> {
  await db.query('DELETE FROM servers WHERE id = $1', [id]);
}

export async function findServer(
  db: Queryable,
  userId: number,
  name: string,
): Promise<ServerRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE s.user_id = $1 AND s.name = $2`,
    [userId, name],
  );
  return rows[0];
}

export async function findServerById(db: Queryable, id: number): Promise<ServerRecord | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE s.id = $1`, [id]);
  return rows[0];
}

export async function serversOf(db: Queryable, userId: number): Promise<ServerRecord[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE s.user_id = $1 ORDER BY s.name`,
    [userId],
  );
  return rows;
}

export async function allServers(db: Queryable): Promise<ServerRecord[]> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM ${FROM} ORDER BY s.id`);
  return rows;
}

/** The server of `owner` (account name) called `name`, read afresh. */
export async function findServerOfOwner(
  db: Queryable,
  owner: string,
  name: string,
): Promise<ServerRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE u.name = $1 AND s.name = $2`,
    [owner, name],
  );
  return rows[0];
}

/** Bump activity for many servers at once (the proxy batches its observations). */
export async function touchServers(db: Queryable, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query('UPDATE servers SET last_activity_at = now() WHERE id = ANY($1::bigint[])', [ids]);
}

export async function setActivity(db: Queryable, id: number, at: Date): Promise<void> {
  await db.query(
    'UPDATE servers SET last_activity_at = greatest(last_activity_at, $2) WHERE id = $1',
    [id, at],
  );
}

/** Running servers idle since before `before`. */
export async function idleServers(db: Queryable, before: Date): Promise<ServerRecord[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE s.status = 'running' AND s.last_activity_at < $1 ORDER BY s.id`,
    [before],
  );
  return rows;
}
