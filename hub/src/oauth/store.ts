/** OAuth authorization codes: stored as sha256, taken once. */

import { hashSecret, newSecret } from '../auth/secrets.ts';
import type { Queryable } from '../db/pool.ts';

export interface CodeGrant {
  userId: number;
  serverName: string;
  clientId: string;
  redirectUri: string;
  expired: boolean;
}

export async function insertCode(
  db: Queryable,
  grant: { userId: number; serverName: string; clientId: string; redirectUri: string },
  seconds: number,
): Promise<string> {
  const code = newSecret();
  // Expired codes of anyone go with each new one: the table holds only the last minutes'.
  await db.query(`DELETE FROM oauth_codes WHERE expires_at < now()`);
  await db.query(
    `INSERT INTO oauth_codes (code_hash, user_id, server_name, client_id, redirect_uri, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [hashSecret(code), grant.userId, grant.serverName, grant.clientId, grant.redirectUri, seconds],
  );
  return code;
}

/**
 * The grant of a code, removed in the same statement: of two requests with one code only one
 * gets it, whether or not what follows succeeds.
 */
export async function takeCode(db: Queryable, code: string): Promise<CodeGrant | undefined> {
  const { rows } = await db.query(
    `DELETE FROM oauth_codes WHERE code_hash = $1
     RETURNING user_id AS "userId", server_name AS "serverName", client_id AS "clientId",
       redirect_uri AS "redirectUri", expires_at <= now() AS expired`,
    [hashSecret(code)],
  );
  return rows[0];
}

/** Does the user have this server (starting or running)? */
export async function hasServer(
  db: Queryable,
  userId: number,
  serverName: string,
): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM servers WHERE user_id = $1 AND name = $2`, [
    userId,
    serverName,
  ]);
  return (rowCount ?? 0) > 0;
}
