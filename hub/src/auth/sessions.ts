/** Browser sessions: a random cookie value whose sha256 is stored. */
import { userColumnsOf } from '../accounts/store.ts';
import type { Queryable } from '../db/pool.ts';
import type { UserRecord } from './principal.ts';
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

/** The account of a live session, in one named statement (every page and API request asks). */
export async function sessionOwner(db: Queryable, secret: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query({
    name: 'session-owner',
    text: `SELECT ${userColumnsOf('u')}
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > now()`,
    values: [hashSecret(secret)],
  });
  return rows[0];
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
