/** SQL for the users table. */
import type { UserRecord } from '../auth/principal.ts';
import type { Queryable } from '../db/pool.ts';

const columnsOf = (from: string) =>
  `${from}id, ${from}name, ${from}safe_name AS "safeName", ${from}email, ${from}admin,
  ${from}approved, ${from}created_at AS "createdAt", ${from}last_login_at AS "lastLoginAt"`;
const COLUMNS = columnsOf('');

/** A UserRecord's columns of the users table joined as `alias` (a token's or session's owner). */
export const userColumnsOf = (alias: string) => columnsOf(`${alias}.`);

export interface NewUser {
  name: string;
  safeName: string;
  email: string | null;
  passwordHash: string | null;
  admin?: boolean;
  approved: boolean;
}

export async function insertUser(db: Queryable, user: NewUser): Promise<UserRecord> {
  const { rows } = await db.query(
    `INSERT INTO users (name, safe_name, email, password_hash, admin, approved)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [user.name, user.safeName, user.email, user.passwordHash, user.admin ?? false, user.approved],
  );
  return rows[0];
}

export const findUserByName = (db: Queryable, name: string) => findUserWhere(db, 'name', name);
export const findUserById = (db: Queryable, id: number) => findUserWhere(db, 'id', id);

/** The user whose unique `column` is `value`; a named statement per column, prepared once per connection. */
async function findUserWhere(
  db: Queryable,
  column: 'name' | 'id',
  value: string | number,
): Promise<UserRecord | undefined> {
  const { rows } = await db.query({
    name: `user-by-${column}`,
    text: `SELECT ${COLUMNS} FROM users WHERE ${column} = $1`,
    values: [value],
  });
  return rows[0];
}

export async function passwordHashOf(
  db: Queryable,
  name: string,
): Promise<{ user: UserRecord; hash: string | null } | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS}, password_hash FROM users WHERE name = $1`, [
    name,
  ]);
  if (!rows[0]) return undefined;
  const { password_hash: hash, ...user } = rows[0];
  return { user, hash };
}

export async function setPasswordHash(db: Queryable, userId: number, hash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, hash]);
}

export async function recordLogin(db: Queryable, userId: number): Promise<void> {
  await db.query('UPDATE users SET last_login_at = now() WHERE id = $1', [userId]);
}

/** JupyterHub's `state` filter: users with a ready server, with any server, with none. */
export type UserState = 'ready' | 'active' | 'inactive';

const STATE_FILTER: Record<UserState, string> = {
  ready: `EXISTS (SELECT 1 FROM servers s WHERE s.user_id = users.id AND s.status = 'running')`,
  active: 'EXISTS (SELECT 1 FROM servers s WHERE s.user_id = users.id)',
  inactive: 'NOT EXISTS (SELECT 1 FROM servers s WHERE s.user_id = users.id)',
};

/**
 * A page of users by name, those whose name starts with `prefix` (completion when inviting or
 * sharing) and in `state`, with the count of all that match (JupyterHub's pagination total).
 */
export async function listUsers(
  db: Queryable,
  filter: {
    prefix: string;
    /** JupyterHub's name_filter: names containing it. */
    contains?: string;
    state?: UserState;
    offset: number;
    limit: number;
  },
): Promise<{ users: UserRecord[]; total: number }> {
  const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
  const pattern = `${literal(filter.prefix)}%`;
  const contains = `%${literal(filter.contains ?? '')}%`;
  const where = `name LIKE $1 AND name LIKE $4${filter.state ? ` AND ${STATE_FILTER[filter.state]}` : ''}`;
  const { rows } = await db.query(
    `SELECT ${COLUMNS}, count(*) OVER ()::int AS total FROM users WHERE ${where}
     ORDER BY name OFFSET $2 LIMIT $3`,
    [pattern, filter.offset, filter.limit, contains],
  );
  let total = rows[0]?.total ?? 0;
  if (rows.length === 0 && filter.offset > 0) {
    // A page past the end still reports how many there are.
    const counted = await db.query(
      `SELECT count(*)::int AS n FROM users WHERE ${where.replace('$4', '$2')}`,
      [pattern, contains],
    );
    total = counted.rows[0].n;
  }
  return { users: rows.map(({ total: _total, ...user }) => user as UserRecord), total };
}

export async function updateUserFlags(
  db: Queryable,
  userId: number,
  flags: { admin?: boolean; approved?: boolean },
): Promise<UserRecord | undefined> {
  const { rows } = await db.query(
    `UPDATE users SET admin = COALESCE($2, admin), approved = COALESCE($3, approved)
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [userId, flags.admin ?? null, flags.approved ?? null],
  );
  return rows[0];
}

export async function deleteUser(db: Queryable, userId: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM users WHERE id = $1', [userId]);
  return (rowCount ?? 0) > 0;
}

export async function countAdmins(db: Queryable): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM users WHERE admin');
  return rows[0].n;
}

/** A deleted account whose servers and workspace are still being removed. */
export interface AccountRemoval {
  userId: number;
  name: string;
  safeName: string;
}

const REMOVAL_COLUMNS = 'user_id AS "userId", name, safe_name AS "safeName"';

/**
 * Lock the user's row until the transaction ends, so a per-user cap (count, then insert) and a
 * deletion are taken one at a time. NO KEY UPDATE: rows that merely refer to the user go on.
 * False when there is no such user.
 */
export async function lockUser(db: Queryable, userId: number): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [
    userId,
  ]);
  return (rowCount ?? 0) > 0;
}

/** Keep the name taken until the account's servers and files are gone. */
export async function insertRemoval(db: Queryable, user: UserRecord): Promise<AccountRemoval> {
  const { rows } = await db.query(
    `INSERT INTO account_removals (user_id, name, safe_name) VALUES ($1, $2, $3)
     RETURNING ${REMOVAL_COLUMNS}`,
    [user.id, user.name, user.safeName],
  );
  return rows[0];
}

/** Is `name` (or its safe form) still held by a deleted account being removed? */
export async function nameBeingRemoved(
  db: Queryable,
  name: string,
  safeName: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM account_removals WHERE name = $1 OR safe_name = $2',
    [name, safeName],
  );
  return (rowCount ?? 0) > 0;
}

export async function pendingRemovals(db: Queryable): Promise<AccountRemoval[]> {
  const { rows } = await db.query(
    `SELECT ${REMOVAL_COLUMNS} FROM account_removals ORDER BY removed_at`,
  );
  return rows;
}

export async function deleteRemoval(db: Queryable, userId: number): Promise<void> {
  await db.query('DELETE FROM account_removals WHERE user_id = $1', [userId]);
}

export async function noteRemovalError(
  db: Queryable,
  userId: number,
  error: string,
): Promise<void> {
  await db.query('UPDATE account_removals SET last_error = $2 WHERE user_id = $1', [
    userId,
    error.slice(0, 1000),
  ]);
}

/** Accounts that cannot sign in: registrations waiting for approval, and disabled accounts. */
export async function unapprovedUsers(db: Queryable, limit: number): Promise<UserRecord[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM users WHERE NOT approved ORDER BY created_at, id LIMIT $1`,
    [limit],
  );
  return rows;
}
