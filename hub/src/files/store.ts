/** The files service's SQL: volumes, data volumes, usage, share links and uploads. */
import type { Queryable } from '../db/pool.ts';

// The groups whose privileges reach user $1 (as in racm/store.ts): theirs and every ancestor.
const GROUPS_OF_USER = `SELECT c.ancestor_id FROM group_members m
  JOIN group_closure c ON c.descendant_id = m.group_id WHERE m.user_id = $1`;

export interface VolumeRecord {
  id: string;
  root: string;
  ownerId: number;
  owner: string;
  name: string;
  description: string;
  resourceId: number;
  createdAt: Date;
}

const VOLUME_COLUMNS = `v.id, v.root, v.owner_id AS "ownerId", o.name AS owner, v.name,
  v.description, v.resource_id AS "resourceId", v.created_at AS "createdAt"`;
const VOLUME_FROM = 'file_volumes v JOIN users o ON o.id = v.owner_id';

export async function insertVolume(
  db: Queryable,
  spec: {
    root: string;
    ownerId: number;
    name: string;
    description: string;
    resourceId: number;
    id: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO file_volumes (id, root, owner_id, name, description, resource_id)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [spec.id, spec.root, spec.ownerId, spec.name, spec.description, spec.resourceId],
  );
}

export async function findVolume(
  db: Queryable,
  root: string,
  owner: string,
  name: string,
  lock = false,
): Promise<VolumeRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${VOLUME_COLUMNS} FROM ${VOLUME_FROM}
     WHERE v.root = $1 AND o.name = $2 AND v.name = $3${lock ? ' FOR UPDATE OF v' : ''}`,
    [root, owner, name],
  );
  return rows[0];
}

export async function findVolumeById(db: Queryable, id: string): Promise<VolumeRecord | undefined> {
  const { rows } = await db.query(`SELECT ${VOLUME_COLUMNS} FROM ${VOLUME_FROM} WHERE v.id = $1`, [
    id,
  ]);
  return rows[0];
}

export async function volumesOwnedBy(db: Queryable, ownerId: number): Promise<VolumeRecord[]> {
  const { rows } = await db.query(
    `SELECT ${VOLUME_COLUMNS} FROM ${VOLUME_FROM} WHERE v.owner_id = $1 ORDER BY v.root, v.name`,
    [ownerId],
  );
  return rows;
}

export async function updateVolume(
  db: Queryable,
  id: string,
  changes: { name?: string | undefined; description?: string | undefined },
): Promise<void> {
  await db.query(
    `UPDATE file_volumes SET name = coalesce($2, name), description = coalesce($3, description) WHERE id = $1`,
    [id, changes.name ?? null, changes.description ?? null],
  );
}

export interface DataVolumeRecord {
  id: string;
  name: string;
  hostPath: string;
  description: string;
  resourceId: number;
  createdAt: Date;
}

const DATA_COLUMNS = `d.id, d.name, d.host_path AS "hostPath", d.description,
  d.resource_id AS "resourceId", d.created_at AS "createdAt"`;

export async function insertDataVolume(
  db: Queryable,
  spec: {
    name: string;
    hostPath: string;
    description: string;
    resourceId: number;
    createdBy: number;
  },
): Promise<DataVolumeRecord> {
  const { rows } = await db.query(
    `INSERT INTO file_data_volumes AS d (name, host_path, description, resource_id, created_by)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${DATA_COLUMNS}`,
    [spec.name, spec.hostPath, spec.description, spec.resourceId, spec.createdBy],
  );
  return rows[0];
}

export async function findDataVolume(
  db: Queryable,
  name: string,
): Promise<DataVolumeRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${DATA_COLUMNS} FROM file_data_volumes d WHERE d.name = $1`,
    [name],
  );
  return rows[0];
}

export async function allDataVolumes(db: Queryable): Promise<DataVolumeRecord[]> {
  const { rows } = await db.query(
    `SELECT ${DATA_COLUMNS} FROM file_data_volumes d ORDER BY d.name`,
  );
  return rows;
}

/** A volume a user may read, with whether they may write it. */
export interface ReadableVolume {
  kind: 'user' | 'data';
  id: string;
  root: string;
  owner: string;
  ownerId: number | null;
  name: string;
  description: string;
  resourceId: number;
  writable: boolean;
  mayGrant: boolean;
}

/** Every volume (user and data) user $1 may read, directly or through groups. */
export async function readableVolumes(db: Queryable, userId: number): Promise<ReadableVolume[]> {
  const { rows } = await db.query(
    `WITH held AS (
       SELECT p.resource_id, a.name AS action FROM racm_privileges p
       JOIN racm_actions a ON a.id = p.action_id
       WHERE p.user_id = $1 OR p.group_id IN (${GROUPS_OF_USER})
     ), rights AS (
       SELECT resource_id, bool_or(action = 'read') AS r, bool_or(action = 'write') AS w,
              bool_or(action = 'grant') AS g
       FROM held GROUP BY resource_id
     )
     SELECT 'user' AS kind, v.id::text, v.root, o.name AS owner, v.owner_id AS "ownerId", v.name,
            v.description, v.resource_id AS "resourceId", rights.w AS writable, rights.g AS "mayGrant"
       FROM file_volumes v JOIN users o ON o.id = v.owner_id JOIN rights ON rights.resource_id = v.resource_id
      WHERE rights.r
     UNION ALL
     SELECT 'data', d.id::text, 'Data', 'data', NULL, d.name, d.description, d.resource_id, false, rights.g
       FROM file_data_volumes d JOIN rights ON rights.resource_id = d.resource_id
      WHERE rights.r
     ORDER BY 3, 4, 6`,
    [userId],
  );
  return rows.map((row) => ({
    ...row,
    ownerId: row.ownerId === null ? null : Number(row.ownerId),
  }));
}

/** Users who hold any privilege on a resource, directly or through a group (and its subgroups). */
export async function usersReaching(db: Queryable, resourceId: number): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT p.user_id AS id FROM racm_privileges p WHERE p.resource_id = $1 AND p.user_id IS NOT NULL
     UNION
     SELECT m.user_id FROM racm_privileges p
       JOIN group_closure c ON c.ancestor_id = p.group_id
       JOIN group_members m ON m.group_id = c.descendant_id
      WHERE p.resource_id = $1`,
    [resourceId],
  );
  return rows.map((row) => Number(row.id));
}

/** Members of a group and of every group nested inside it. */
export async function usersUnderGroup(db: Queryable, groupId: number): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT m.user_id AS id FROM group_closure c
       JOIN group_members m ON m.group_id = c.descendant_id WHERE c.ancestor_id = $1`,
    [groupId],
  );
  return rows.map((row) => Number(row.id));
}

export interface ShareRecord {
  user: string | null;
  group: { id: number; name: string } | null;
  actions: string[];
}

/** Who a resource is shared with (everyone but its owner), one row per grantee. */
export async function sharesOf(
  db: Queryable,
  resourceId: number,
  ownerId: number | null,
): Promise<ShareRecord[]> {
  const { rows } = await db.query(
    `SELECT u.name AS "user",
            CASE WHEN g.id IS NULL THEN NULL ELSE json_build_object('id', g.id, 'name', g.name) END AS "group",
            array_agg(a.name ORDER BY a.name) AS actions
       FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id
       LEFT JOIN users u ON u.id = p.user_id LEFT JOIN groups g ON g.id = p.group_id
      WHERE p.resource_id = $1 AND (p.user_id IS NULL OR p.user_id IS DISTINCT FROM $2)
      GROUP BY u.name, g.id, g.name ORDER BY u.name NULLS LAST, g.name`,
    [resourceId, ownerId],
  );
  return rows;
}

/** Take every privilege a grantee holds on a resource; true when there was one. */
export async function revokeAll(
  db: Queryable,
  resourceId: number,
  grantee: { userId: number } | { groupId: number },
): Promise<boolean> {
  const [column, id] =
    'userId' in grantee ? ['user_id', grantee.userId] : ['group_id', grantee.groupId];
  const { rowCount } = await db.query(
    `DELETE FROM racm_privileges WHERE resource_id = $1 AND ${column} = $2`,
    [resourceId, id],
  );
  return (rowCount ?? 0) > 0;
}

/** Remove one action from a grantee (a read-write share made read-only). */
export async function revokeAction(
  db: Queryable,
  resourceId: number,
  grantee: { userId: number } | { groupId: number },
  action: string,
): Promise<void> {
  const [column, id] =
    'userId' in grantee ? ['user_id', grantee.userId] : ['group_id', grantee.groupId];
  await db.query(
    `DELETE FROM racm_privileges p USING racm_actions a
      WHERE a.id = p.action_id AND p.resource_id = $1 AND p.${column} = $2 AND a.name = $3`,
    [resourceId, id, action],
  );
}

// Usage and quotas.

export interface UsageRow {
  usedBytes: number;
  quotaBytes: number | null;
  scannedAt: Date | null;
}

export async function usageOf(db: Queryable, userId: number, root: string): Promise<UsageRow> {
  const { rows } = await db.query(
    `SELECT used_bytes AS "usedBytes", quota_bytes AS "quotaBytes", scanned_at AS "scannedAt"
       FROM file_usage WHERE user_id = $1 AND root = $2`,
    [userId, root],
  );
  const row = rows[0];
  if (!row) return { usedBytes: 0, quotaBytes: null, scannedAt: null };
  return {
    usedBytes: Number(row.usedBytes),
    quotaBytes: row.quotaBytes === null ? null : Number(row.quotaBytes),
    scannedAt: row.scannedAt,
  };
}

/**
 * Add `delta` bytes to a user's usage in one statement; when `limit` is given, only if the
 * total stays within it (no read-then-write race between two uploads). False: refused.
 */
export async function addUsage(
  db: Queryable,
  userId: number,
  root: string,
  delta: number,
  limit: number | null,
): Promise<boolean> {
  await db.query(`INSERT INTO file_usage (user_id, root) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
    userId,
    root,
  ]);
  const { rowCount } = await db.query(
    `UPDATE file_usage SET used_bytes = greatest(used_bytes + $3, 0)
      WHERE user_id = $1 AND root = $2
        AND ($3 <= 0 OR $4::bigint IS NULL OR used_bytes + $3 <= coalesce(quota_bytes, $4))`,
    [userId, root, delta, limit],
  );
  return (rowCount ?? 0) > 0;
}

export async function setMeasuredUsage(
  db: Queryable,
  userId: number,
  root: string,
  bytes: number,
): Promise<void> {
  await db.query(
    `INSERT INTO file_usage (user_id, root, used_bytes, scanned_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (user_id, root) DO UPDATE SET used_bytes = EXCLUDED.used_bytes, scanned_at = now()`,
    [userId, root, bytes],
  );
}

export async function setQuota(
  db: Queryable,
  userId: number,
  root: string,
  quota: number | null,
): Promise<void> {
  await db.query(
    `INSERT INTO file_usage (user_id, root, quota_bytes) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, root) DO UPDATE SET quota_bytes = EXCLUDED.quota_bytes`,
    [userId, root, quota],
  );
}

/** Owners with volumes in a root: whom the rescan measures. */
export async function ownersIn(db: Queryable, root: string): Promise<number[]> {
  const { rows } = await db.query(
    'SELECT DISTINCT owner_id AS id FROM file_volumes WHERE root = $1',
    [root],
  );
  return rows.map((row) => Number(row.id));
}

// Share links.

export async function insertShareLink(
  db: Queryable,
  spec: { volumeId: string; codeHash: string; createdBy: number; expiresAt: Date },
): Promise<{ id: number; expiresAt: Date; createdAt: Date }> {
  const { rows } = await db.query(
    `INSERT INTO file_share_links (volume_id, code_hash, created_by, expires_at) VALUES ($1, $2, $3, $4)
     RETURNING id, expires_at AS "expiresAt", created_at AS "createdAt"`,
    [spec.volumeId, spec.codeHash, spec.createdBy, spec.expiresAt],
  );
  return { ...rows[0], id: Number(rows[0].id) };
}

export async function shareLinksOf(db: Queryable, volumeId: string) {
  const { rows } = await db.query(
    `SELECT l.id, u.name AS created_by, l.expires_at, l.created_at
       FROM file_share_links l LEFT JOIN users u ON u.id = l.created_by
      WHERE l.volume_id = $1 ORDER BY l.id`,
    [volumeId],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id) })) as {
    id: number;
    created_by: string | null;
    expires_at: Date;
    created_at: Date;
  }[];
}

export async function deleteShareLink(
  db: Queryable,
  volumeId: string,
  id: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM file_share_links WHERE volume_id = $1 AND id = $2',
    [volumeId, id],
  );
  return (rowCount ?? 0) > 0;
}

export async function shareLinkByHash(db: Queryable, codeHash: string) {
  const { rows } = await db.query(
    `SELECT id, volume_id AS "volumeId", created_by AS "createdBy", expires_at AS "expiresAt"
       FROM file_share_links WHERE code_hash = $1`,
    [codeHash],
  );
  const row = rows[0];
  return row
    ? {
        id: Number(row.id),
        volumeId: row.volumeId as string,
        createdBy: row.createdBy === null ? null : Number(row.createdBy),
        expiresAt: row.expiresAt as Date,
      }
    : undefined;
}

// Uploads.

export interface UploadRecord {
  id: string;
  volumeId: string;
  userId: number;
  path: string;
  size: number;
  received: number;
}

const UPLOAD_COLUMNS = `id, volume_id AS "volumeId", user_id AS "userId", path, size, received`;
const asUpload = (row: Record<string, unknown>): UploadRecord => ({
  ...(row as unknown as UploadRecord),
  userId: Number(row.userId),
  size: Number(row.size),
  received: Number(row.received),
});

export async function insertUpload(
  db: Queryable,
  spec: { volumeId: string; userId: number; path: string; size: number },
): Promise<UploadRecord> {
  const { rows } = await db.query(
    `INSERT INTO file_uploads (volume_id, user_id, path, size) VALUES ($1, $2, $3, $4) RETURNING ${UPLOAD_COLUMNS}`,
    [spec.volumeId, spec.userId, spec.path, spec.size],
  );
  return asUpload(rows[0]);
}

export async function findUpload(db: Queryable, id: string, userId: number, lock = false) {
  const { rows } = await db.query(
    `SELECT ${UPLOAD_COLUMNS} FROM file_uploads WHERE id = $1 AND user_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [id, userId],
  );
  return rows[0] ? asUpload(rows[0]) : undefined;
}

export async function setReceived(db: Queryable, id: string, received: number): Promise<void> {
  await db.query('UPDATE file_uploads SET received = $2, updated_at = now() WHERE id = $1', [
    id,
    received,
  ]);
}

export async function deleteUpload(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM file_uploads WHERE id = $1', [id]);
}

/** Uploads untouched since `before`: abandoned, swept with their bytes. */
export async function staleUploads(db: Queryable, before: Date) {
  const { rows } = await db.query(
    `SELECT id, volume_id AS "volumeId", size FROM file_uploads WHERE updated_at < $1`,
    [before],
  );
  return rows.map((row) => ({
    id: row.id as string,
    volumeId: row.volumeId as string,
    size: Number(row.size),
  }));
}
