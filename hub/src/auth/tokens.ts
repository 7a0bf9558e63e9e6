/**
 * API tokens: made by users, issued to a server for the code inside it, or issued by OAuth to a
 * server for one of its users (kind 'oauth', reaching that server only). Stored as sha256.
 */
import { userColumnsOf } from '../accounts/store.ts';
import type { Queryable } from '../db/pool.ts';
import type { UserRecord } from './principal.ts';
import { hashSecret, newSecret } from './secrets.ts';

export type TokenKind = 'api' | 'server' | 'oauth';

export interface TokenRecord {
  id: number;
  kind: TokenKind;
  serverName: string | null;
  prefix: string;
  note: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
}

const COLUMNS = `id, kind, server_name AS "serverName", prefix, note, scopes,
  created_at AS "createdAt", expires_at AS "expiresAt", last_used_at AS "lastUsedAt"`;

// Tokens start with a recognisable marker so leaked ones can be found by secret scanners.
const TOKEN_MARKER = 'orr_';

/** Whether a bearer token is one of the hub's (a Jupyter server's own token is not). */
export const isHubToken = (token: string | undefined): token is string =>
  Boolean(token?.startsWith(TOKEN_MARKER));

export async function createToken(
  db: Queryable,
  userId: number,
  options: {
    scopes: string[];
    seconds: number;
    note?: string;
    serverName?: string;
    /** 'server' (default with a server name) or 'oauth' (a user's access to that server). */
    kind?: 'server' | 'oauth';
    /** The token expires by then at the latest (the expiry of the token that mints it). */
    notAfter?: Date;
  },
): Promise<{ token: string; record: TokenRecord }> {
  const token = `${TOKEN_MARKER}${newSecret()}`;
  const { rows } = await db.query(
    `INSERT INTO api_tokens (user_id, kind, server_name, prefix, token_hash, note, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7,
       LEAST(now() + make_interval(secs => $8), coalesce($9::timestamptz, 'infinity')))
     RETURNING ${COLUMNS}`,
    [
      userId,
      options.serverName === undefined ? 'api' : (options.kind ?? 'server'),
      options.serverName ?? null,
      token.slice(0, TOKEN_MARKER.length + 4),
      hashSecret(token),
      options.note ?? '',
      options.scopes,
      options.seconds,
      options.notAfter ?? null,
    ],
  );
  return { token, record: rows[0] };
}

/** A live token, with its owner's account. */
export interface FoundToken {
  id: number;
  kind: TokenKind;
  scopes: string[];
  serverName: string | null;
  expiresAt: Date;
  owner: UserRecord;
}

/**
 * A live token and its owner, in one named statement (every API request asks). A read, so
 * concurrent requests with one token never queue on its row; last_used_at is refreshed
 * separately, at most once a minute per token.
 */
export async function lookupToken(db: Queryable, token: string): Promise<FoundToken | undefined> {
  const { rows } = await db.query({
    name: 'token-owner',
    text: `SELECT t.id AS "tokenId", t.kind AS "tokenKind", t.scopes AS "tokenScopes",
       t.server_name AS "tokenServerName", t.expires_at AS "tokenExpiresAt",
       t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' AS stale,
       ${userColumnsOf('u')}
     FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = $1 AND t.expires_at > now()`,
    values: [hashSecret(token)],
  });
  const found = rows[0];
  if (!found) return undefined;
  const { tokenId, tokenKind, tokenScopes, tokenServerName, tokenExpiresAt, stale, ...owner } =
    found;
  if (stale) {
    // Fire and forget: a lost update only makes "last used" a minute older.
    db.query(
      `UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [tokenId],
    ).catch(() => {});
  }
  return {
    id: tokenId,
    kind: tokenKind,
    scopes: tokenScopes,
    serverName: tokenServerName,
    expiresAt: tokenExpiresAt,
    owner,
  };
}

/**
 * Hold the user's token list still until the transaction ends, so a count and the insert that
 * follows it cannot interleave with another request's (a row lock on the user, not the table).
 */
export async function lockTokensOf(db: Queryable, userId: number): Promise<void> {
  await db.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
}

/** Live API tokens of a user (per-server tokens are the hub's, and not counted). */
export async function countLiveApiTokens(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM api_tokens WHERE user_id = $1 AND kind = 'api' AND expires_at > now()`,
    [userId],
  );
  return rows[0].n;
}

export async function listTokens(db: Queryable, userId: number): Promise<TokenRecord[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM api_tokens WHERE user_id = $1 AND expires_at > now() ORDER BY id`,
    [userId],
  );
  return rows;
}

export async function revokeToken(
  db: Queryable,
  userId: number,
  tokenId: number,
): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM api_tokens WHERE user_id = $1 AND id = $2', [
    userId,
    tokenId,
  ]);
  return (rowCount ?? 0) > 0;
}

/**
 * Replace a server's token: the old one stops working when the server gets a new one, and so
 * do the OAuth tokens its users were given for the server's previous run.
 */
export async function issueServerToken(
  db: Queryable,
  userId: number,
  serverName: string,
  scopes: string[],
  seconds: number,
): Promise<string> {
  await revokeServerToken(db, userId, serverName);
  const { token } = await createToken(db, userId, {
    scopes,
    seconds,
    serverName,
    note: `server ${serverName}`,
  });
  return token;
}

/** A server's token and the OAuth tokens of its users go when it stops. */
export async function revokeServerToken(
  db: Queryable,
  userId: number,
  serverName: string,
): Promise<void> {
  await db.query(
    `DELETE FROM api_tokens WHERE user_id = $1 AND kind IN ('server', 'oauth') AND server_name = $2`,
    [userId, serverName],
  );
}
