/**
 * Storage of the login hand-off to a user's own host: one-use codes and per-host cookies.
 * Both are 256-bit random values stored as their sha256, bound to one host, and tied to the
 * hub session that asked for them (deleting it deletes them).
 */
import type { Queryable } from '../db/pool.ts';
import { hashSecret, newSecret } from './secrets.ts';

/** A code lives long enough for one redirect. */
export const CODE_SECONDS = 30;
/** Longest life of a host cookie; it never outlives the hub session either. */
export const HOST_SESSION_MAX_SECONDS = 8 * 3600;

/**
 * A code for `host` and the browser holding `state`, issued to the hub session whose cookie is
 * `session` (which must be live and belong to `userId`); undefined when it is not.
 */
export async function issueCode(
  db: Queryable,
  session: string,
  userId: number,
  target: { host: string; next: string; state: string },
): Promise<string | undefined> {
  const code = newSecret();
  const { rowCount } = await db.query(
    // Expired codes and host cookies are swept here: hand-offs are rare, and rows would
    // otherwise wait for their hub session to be deleted.
    `WITH swept AS (DELETE FROM user_origin_codes WHERE expires_at <= now()),
          swept_hosts AS (DELETE FROM user_host_sessions WHERE expires_at <= now())
     INSERT INTO user_origin_codes
       (code_hash, session_id, user_id, host, next, state_hash, expires_at)
     SELECT $1, id, user_id, $3, $4, $7, now() + make_interval(secs => $5)
       FROM sessions WHERE token_hash = $2 AND user_id = $6 AND expires_at > now()`,
    [
      hashSecret(code),
      hashSecret(session),
      target.host,
      target.next,
      CODE_SECONDS,
      userId,
      hashSecret(target.state),
    ],
  );
  return rowCount ? code : undefined;
}

export interface Redeemed {
  userId: number;
  next: string;
  /** The host cookie's value and how long it lives. */
  cookie: string;
  seconds: number;
}

/**
 * Trade a code for a host cookie, on `host`, in the browser holding `state`. The code is
 * deleted whatever the outcome (one use, even a wrong one), in the same statement that reads
 * it, so two redemptions cannot both succeed. Undefined when the code is unknown, expired, or
 * was issued for another host or another browser.
 */
export async function redeemCode(
  db: Queryable,
  code: string,
  host: string,
  state: string,
): Promise<Redeemed | undefined> {
  const cookie = newSecret();
  const { rows } = await db.query(
    `WITH used AS (
       DELETE FROM user_origin_codes WHERE code_hash = $1
       RETURNING session_id, user_id, host, next, state_hash, expires_at
     ), fit AS (
       SELECT used.*, LEAST(s.expires_at, now() + make_interval(secs => $4)) AS until
         FROM used JOIN sessions s ON s.id = used.session_id AND s.expires_at > now()
        WHERE used.host = $2 AND used.state_hash = $5 AND used.expires_at > now()
     ), made AS (
       INSERT INTO user_host_sessions (token_hash, session_id, user_id, host, expires_at)
       SELECT $3, session_id, user_id, host, until FROM fit
       RETURNING user_id, expires_at
     )
     SELECT made.user_id, fit.next,
            GREATEST(1, floor(extract(epoch FROM made.expires_at - now())))::int AS seconds
       FROM made, fit`,
    [hashSecret(code), host, hashSecret(cookie), HOST_SESSION_MAX_SECONDS, hashSecret(state)],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { userId: Number(row.user_id), next: row.next, cookie, seconds: row.seconds };
}

/** The user a host cookie signs in on `host`, or undefined. */
export async function hostSessionUser(
  db: Queryable,
  cookie: string,
  host: string,
): Promise<number | undefined> {
  const { rows } = await db.query({
    name: 'host-session-user',
    text: `SELECT user_id FROM user_host_sessions
            WHERE token_hash = $1 AND host = $2 AND expires_at > now()`,
    values: [hashSecret(cookie), host],
  });
  return rows[0] === undefined ? undefined : Number(rows[0].user_id);
}
