/** The hub's record of users' MyDB spaces (migration 0009); the spaces themselves are elsewhere. */
import type { Queryable } from '../db/pool.ts';

export interface SpaceRecord {
  userId: number;
  roleName: string;
  schemaName: string;
  quotaBytes: number;
  createdAt: Date;
}

const COLUMNS = `user_id AS "userId", role_name AS "roleName", schema_name AS "schemaName",
  quota_bytes AS "quotaBytes", created_at AS "createdAt"`;

export async function findSpace(db: Queryable, userId: number): Promise<SpaceRecord | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM mydb_spaces WHERE user_id = $1`, [
    userId,
  ]);
  return rows[0];
}

/**
 * The user named `name` and their space's role and schema (null before the space is made), in
 * one round trip: a quick query's only look-up in the hub's database. A named statement.
 */
export async function findUserSpace(
  db: Queryable,
  name: string,
): Promise<{ userId: number; roleName: string | null; schemaName: string | null } | undefined> {
  const { rows } = await db.query({
    name: 'mydb-user-space',
    text: `SELECT u.id AS "userId", s.role_name AS "roleName", s.schema_name AS "schemaName"
             FROM users u LEFT JOIN mydb_spaces s ON s.user_id = u.id WHERE u.name = $1`,
    values: [name],
  });
  return rows[0];
}

export async function insertSpace(
  db: Queryable,
  space: Omit<SpaceRecord, 'createdAt'>,
): Promise<SpaceRecord> {
  const { rows } = await db.query(
    `INSERT INTO mydb_spaces (user_id, role_name, schema_name, quota_bytes)
     VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [space.userId, space.roleName, space.schemaName, space.quotaBytes],
  );
  return rows[0];
}

export async function deleteSpace(db: Queryable, userId: number): Promise<void> {
  await db.query('DELETE FROM mydb_spaces WHERE user_id = $1', [userId]);
}
