/** Browser sessions: a random cookie value whose sha256 is stored. */
import type { Queryable } from '../db/pool.ts';
import { hashSecret, newSecret } from './secrets.ts';

export const SESSION_COOKIE = 'orrery-session';

export async function createSession(
  db: Queryable,
  userId: number,
  seconds: number,
  address?: string,
): Promise<string> {
  const secret = newSecret();
  await db.query(
    `INSERT INTO sessions (user_id, token_hash, expires_at, address)
     VALUES ($1, $2, now() + make_interval(secs => $3), $4)`,
    [userId, hashSecret(secret), seconds, address ?? null],
  );
  return secret;
}

/** The user id of a live session, or undefined. */
export async function sessionUser(db: Queryable, secret: string): Promise<number | undefined> {
  const { rows } = await db.query({
    name: 'session-user',
    text: 'SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > now()',
    values: [hashSecret(secret)],
  });
  return rows[0]?.user_id;
}

export async function deleteSession(db: Queryable, secret: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE token_hash = $1', [hashSecret(secret)]);
}

export async function deleteUserSessions(db: Queryable, userId: number): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
}

export async function purgeExpiredSessions(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM sessions WHERE expires_at <= now()');
  return rowCount ?? 0;
}
