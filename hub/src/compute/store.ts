/** SQL for the servers table. */
import type { Queryable } from '../db/pool.ts';

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
}

const COLUMNS = `s.id, s.user_id AS "userId", u.name AS owner, u.safe_name AS "ownerSafeName", s.name, s.image,
  s.domain, s.status, s.state, s.url, s.started_at AS "startedAt", s.ready_at AS "readyAt",
  s.last_activity_at AS "lastActivityAt"`;
const FROM = 'servers s JOIN users u ON u.id = s.user_id';

/** Claim the name for a new server; undefined when the user already has one by that name. */
export async function insertStarting(
  db: Queryable,
  spec: { userId: number; name: string; image: string; domain: string },
): Promise<number | undefined> {
  const { rows } = await db.query(
    `INSERT INTO servers (user_id, name, image, domain, status) VALUES ($1, $2, $3, $4, 'starting')
     ON CONFLICT (user_id, name) DO NOTHING RETURNING id`,
    [spec.userId, spec.name, spec.image, spec.domain],
  );
  return rows[0]?.id;
}

export async function markRunning(
  db: Queryable,
  id: number,
  url: string,
  state: unknown,
): Promise<void> {
  await db.query(
    `UPDATE servers SET status = 'running', url = $2, state = $3, ready_at = now(), last_activity_at = now() WHERE id = $1`,
    [id, url, JSON.stringify(state)],
  );
}

/** Record the backend state as soon as it exists, so a crash mid-spawn can still clean up. */
export async function saveState(db: Queryable, id: number, state: unknown): Promise<void> {
  await db.query('UPDATE servers SET state = $2 WHERE id = $1', [id, JSON.stringify(state)]);
}

/** Mark a server as stopping; returns it if this call won (a second stop finds nothing to do). */
export async function claimForStop(db: Queryable, id: number): Promise<ServerRecord | undefined> {
  const { rows } = await db.query(
    `UPDATE servers s SET status = 'stopping' FROM users u
     WHERE s.id = $1 AND u.id = s.user_id AND s.status <> 'stopping' RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0];
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

export async function countServers(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM servers WHERE user_id = $1', [
    userId,
  ]);
  return rows[0].n;
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
