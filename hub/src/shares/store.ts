/**
 * Shares of servers, in SQL. A share is RACM privileges (`access`, `manage`) on the `Server`
 * resource of one (owner, server name), made on demand and named `<owner>/<server>` (JupyterHub's
 * full name of a server; `alice/` is alice's default server). A share code is a row of
 * server_share_codes that makes such privileges for whoever redeems it until it expires.
 */
import type { Queryable } from '../db/pool.ts';
import { GROUPS_OF_USER } from '../racm/store.ts';

export const SERVER_TYPE = 'Server';
/** The actions a share may give: reach the server through the proxy; start and stop it. */
export const SHARE_ACTIONS = ['access', 'manage'] as const;
export type ShareAction = (typeof SHARE_ACTIONS)[number];

export const serverFullName = (owner: string, server: string) => `${owner}/${server}`;

export interface ServerResource {
  id: number;
  typeId: number;
}

/** The Server resource of (owner, server), if one was ever made. */
export async function findServerResource(
  db: Queryable,
  owner: { id: number; name: string },
  server: string,
): Promise<ServerResource | undefined> {
  const { rows } = await db.query(
    `SELECT r.id, r.type_id AS "typeId" FROM racm_resources r
       JOIN racm_resource_types t ON t.id = r.type_id AND t.name = $1
      WHERE r.name = $2 AND r.owner_id = $3`,
    [SERVER_TYPE, serverFullName(owner.name, server), owner.id],
  );
  return rows[0] ? { id: Number(rows[0].id), typeId: Number(rows[0].typeId) } : undefined;
}

/**
 * The Server resource of (owner, server), made on first use with the owner holding every
 * action; two requests making it at once both get the one row.
 */
export async function ensureServerResource(
  db: Queryable,
  owner: { id: number; name: string },
  server: string,
): Promise<ServerResource> {
  // Read committed: a row made by a concurrent request after this statement began is seen on
  // the second try.
  for (let attempt = 0; attempt < 2; attempt++) {
    const made = await makeServerResource(db, owner, server);
    if (made) return made;
  }
  throw new Error('The Server resource type is not registered');
}

async function makeServerResource(
  db: Queryable,
  owner: { id: number; name: string },
  server: string,
): Promise<ServerResource | undefined> {
  const { rows } = await db.query(
    `WITH t AS (SELECT id FROM racm_resource_types WHERE name = $1),
     made AS (
       INSERT INTO racm_resources (type_id, name, description, owner_id)
       SELECT t.id, $2, 'A server, shared', $3 FROM t
       ON CONFLICT (type_id, name) DO NOTHING RETURNING id, type_id
     )
     SELECT id, type_id AS "typeId", true AS made FROM made
     UNION ALL
     SELECT r.id, r.type_id, false FROM racm_resources r, t WHERE r.type_id = t.id AND r.name = $2`,
    [SERVER_TYPE, serverFullName(owner.name, server), owner.id],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.made) {
    await db.query(
      `INSERT INTO racm_privileges (resource_id, action_id, user_id, granted_by)
       SELECT $1, a.id, $2, $2 FROM racm_actions a WHERE a.type_id = $3 ON CONFLICT DO NOTHING`,
      [row.id, owner.id, row.typeId],
    );
  }
  return { id: Number(row.id), typeId: Number(row.typeId) };
}

/**
 * May user U do `action` on the server (owner, server)? The proxy asks this on every request
 * of someone other than the owner, so a share taken back counts from the next request.
 */
export async function mayOnServer(
  db: Queryable,
  userId: number,
  ownerId: number,
  server: string,
  action: string,
): Promise<boolean> {
  const { rows } = await db.query({
    name: 'shares-may-on-server',
    text: `SELECT EXISTS (
       SELECT 1 FROM racm_resources r
         JOIN racm_resource_types t ON t.id = r.type_id AND t.name = '${SERVER_TYPE}'
         JOIN users o ON o.id = r.owner_id
         JOIN racm_privileges p ON p.resource_id = r.id
         JOIN racm_actions a ON a.id = p.action_id AND a.name = $4
        WHERE r.owner_id = $2 AND r.name = o.name || '/' || $3
          AND (p.user_id = $1 OR p.group_id IN (${GROUPS_OF_USER}))
     ) AS allowed`,
    values: [userId, ownerId, server, action],
  });
  return rows[0].allowed;
}

export interface ShareRow {
  resourceId: number;
  owner: string;
  ownerSafeName: string;
  ownerId: number;
  server: string;
  user: string | null;
  group: string | null;
  actions: string[];
  createdAt: Date;
  running: boolean;
}

// One row per (resource, grantee), the owner's own privileges left out.
const SHARES = `SELECT r.id AS "resourceId", o.name AS owner, o.safe_name AS "ownerSafeName",
       o.id AS "ownerId", substr(r.name, length(o.name) + 2) AS server,
       u.name AS "user", g.name AS "group",
       array_agg(a.name ORDER BY a.name) AS actions, min(p.granted_at) AS "createdAt",
       EXISTS (SELECT 1 FROM servers s WHERE s.user_id = o.id
                AND s.name = substr(r.name, length(o.name) + 2) AND s.status = 'running') AS running
  FROM racm_privileges p
  JOIN racm_actions a ON a.id = p.action_id AND a.name IN ('access', 'manage')
  JOIN racm_resources r ON r.id = p.resource_id
  JOIN racm_resource_types t ON t.id = r.type_id AND t.name = '${SERVER_TYPE}'
  JOIN users o ON o.id = r.owner_id
  LEFT JOIN users u ON u.id = p.user_id
  LEFT JOIN groups g ON g.id = p.group_id`;
const SHARES_GROUP = `GROUP BY r.id, o.id, u.id, g.id`;

/** Who the server is shared with: users and groups, with the actions each holds. */
export async function sharesOfServer(db: Queryable, resourceId: number): Promise<ShareRow[]> {
  const { rows } = await db.query(
    `${SHARES} WHERE r.id = $1 AND p.user_id IS DISTINCT FROM r.owner_id ${SHARES_GROUP}
     ORDER BY min(p.granted_at), u.name, g.name`,
    [resourceId],
  );
  return rows;
}

/** The servers shared with user U, directly or through a group (nested groups included). */
export async function sharedWith(db: Queryable, userId: number): Promise<ShareRow[]> {
  const { rows } = await db.query(
    `${SHARES} WHERE r.owner_id <> $1 AND (p.user_id = $1 OR p.group_id IN (${GROUPS_OF_USER}))
     ${SHARES_GROUP} ORDER BY o.name, r.name, u.name, g.name`,
    [userId],
  );
  return rows;
}

/** Give actions on the resource to a user or a group (idempotent). */
export async function grantActions(
  db: Queryable,
  spec: {
    resourceId: number;
    typeId: number;
    actions: readonly string[];
    grantee: { userId: number } | { groupId: number };
    grantedBy: number | null;
  },
): Promise<void> {
  const column = 'userId' in spec.grantee ? 'user_id' : 'group_id';
  const grantee = 'userId' in spec.grantee ? spec.grantee.userId : spec.grantee.groupId;
  await db.query(
    `INSERT INTO racm_privileges (resource_id, action_id, ${column}, granted_by)
     SELECT $1, a.id, $4, $5 FROM racm_actions a WHERE a.type_id = $2 AND a.name = ANY($3::text[])
     ON CONFLICT DO NOTHING`,
    [spec.resourceId, spec.typeId, spec.actions, grantee, spec.grantedBy],
  );
}

/**
 * Take actions back from a user or a group (every share action, and grant, when `actions` is
 * undefined); never the owner's. Returns how many privileges went.
 */
export async function revokeActions(
  db: Queryable,
  resourceId: number,
  grantee: { userId: number } | { groupId: number },
  actions: readonly string[] | undefined,
): Promise<number> {
  const column = 'userId' in grantee ? 'user_id' : 'group_id';
  const id = 'userId' in grantee ? grantee.userId : grantee.groupId;
  const { rowCount } = await db.query(
    `DELETE FROM racm_privileges p USING racm_actions a, racm_resources r
      WHERE p.resource_id = $1 AND r.id = p.resource_id AND a.id = p.action_id
        AND p.${column} = $2 AND p.user_id IS DISTINCT FROM r.owner_id
        AND a.name = ANY($3::text[])`,
    [resourceId, id, actions ?? [...SHARE_ACTIONS, 'grant']],
  );
  return rowCount ?? 0;
}

/** Take back every share of the server (all but the owner's own privileges). */
export async function revokeAllShares(db: Queryable, resourceId: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM racm_privileges p USING racm_resources r
      WHERE p.resource_id = $1 AND r.id = p.resource_id AND p.user_id IS DISTINCT FROM r.owner_id`,
    [resourceId],
  );
  return rowCount ?? 0;
}

// Share codes.

export interface ShareCodeRow {
  id: number;
  actions: string[];
  createdAt: Date;
  expiresAt: Date;
  exchangeCount: number;
  lastExchangedAt: Date | null;
}

const CODE_COLUMNS = `id, actions, created_at AS "createdAt", expires_at AS "expiresAt",
  exchange_count AS "exchangeCount", last_exchanged_at AS "lastExchangedAt"`;

const codeRow = (row: Record<string, unknown>): ShareCodeRow => ({
  ...(row as unknown as ShareCodeRow),
  id: Number(row.id),
});

export async function insertShareCode(
  db: Queryable,
  spec: {
    resourceId: number;
    codeHash: string;
    actions: readonly string[];
    createdBy: number;
    expiresAt: Date;
  },
): Promise<ShareCodeRow> {
  const { rows } = await db.query(
    `INSERT INTO server_share_codes (resource_id, code_hash, actions, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${CODE_COLUMNS}`,
    [spec.resourceId, spec.codeHash, spec.actions, spec.createdBy, spec.expiresAt],
  );
  return codeRow(rows[0]);
}

/** The server's codes that have not expired (expired ones are kept only until swept). */
export async function shareCodesOf(
  db: Queryable,
  resourceId: number,
  now: Date,
): Promise<ShareCodeRow[]> {
  const { rows } = await db.query(
    `SELECT ${CODE_COLUMNS} FROM server_share_codes WHERE resource_id = $1 AND expires_at > $2 ORDER BY id`,
    [resourceId, now],
  );
  return rows.map(codeRow);
}

/** Delete one code (by id or by its hash) or, with neither, all the server's codes. */
export async function deleteShareCodes(
  db: Queryable,
  resourceId: number,
  which: { id?: number; codeHash?: string },
): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM server_share_codes WHERE resource_id = $1
        AND ($2::bigint IS NULL OR id = $2) AND ($3::text IS NULL OR code_hash = $3)`,
    [resourceId, which.id ?? null, which.codeHash ?? null],
  );
  return rowCount ?? 0;
}

/**
 * Count one exchange of a live code and return it with its server; undefined when there is no
 * such code or it has expired. The row is locked, so two redemptions count twice.
 */
export async function exchangeShareCode(db: Queryable, codeHash: string, now: Date) {
  const { rows } = await db.query(
    `UPDATE server_share_codes c SET exchange_count = exchange_count + 1, last_exchanged_at = $2
       FROM racm_resources r JOIN users o ON o.id = r.owner_id
      WHERE c.code_hash = $1 AND c.expires_at > $2 AND r.id = c.resource_id
      RETURNING c.id, c.actions, c.created_by AS "createdBy", r.id AS "resourceId",
        r.type_id AS "typeId", o.id AS "ownerId", o.name AS owner,
        substr(r.name, length(o.name) + 2) AS server`,
    [codeHash, now],
  );
  const row = rows[0];
  return row
    ? {
        id: Number(row.id),
        actions: row.actions as string[],
        createdBy: row.createdBy === null ? null : Number(row.createdBy),
        resourceId: Number(row.resourceId),
        typeId: Number(row.typeId),
        ownerId: Number(row.ownerId),
        owner: row.owner as string,
        server: row.server as string,
      }
    : undefined;
}

/** What a code would share, without using it (the redemption page shows it before asking). */
export async function peekShareCode(db: Queryable, codeHash: string, now: Date) {
  const { rows } = await db.query(
    `SELECT o.name AS owner, substr(r.name, length(o.name) + 2) AS server, c.actions,
            c.expires_at AS "expiresAt"
       FROM server_share_codes c JOIN racm_resources r ON r.id = c.resource_id
       JOIN users o ON o.id = r.owner_id
      WHERE c.code_hash = $1 AND c.expires_at > $2`,
    [codeHash, now],
  );
  return rows[0] as
    | { owner: string; server: string; actions: string[]; expiresAt: Date }
    | undefined;
}

/** Remove codes that expired (a background sweep; an expired code is refused anyway). */
export async function sweepExpiredShareCodes(db: Queryable, now: Date): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM server_share_codes WHERE expires_at <= $1', [
    now,
  ]);
  return rowCount ?? 0;
}
