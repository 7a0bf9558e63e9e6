/** SQL for groups, memberships, invitations and science domains. Nesting lives in nesting.ts. */
import type { Queryable } from '../db/pool.ts';
import type { Role } from './roles.ts';

/** `course`: a course's roster (hub/src/courses), changed only through the course. */
export type GroupKind = 'group' | 'domain' | 'public' | 'course';

/** A group, its fields named as the API answers them (snake_case). */
export interface GroupRecord {
  id: number;
  name: string;
  description: string;
  kind: GroupKind;
  created_at: Date;
}

const GROUP_COLUMNS = `g.id, g.name, g.description, g.kind, g.created_at`;

export async function createGroup(
  db: Queryable,
  spec: { name: string; description: string; kind: GroupKind; creatorId: number | null },
): Promise<GroupRecord> {
  const { rows } = await db.query(
    `INSERT INTO groups AS g (name, description, kind, created_by) VALUES ($1, $2, $3, $4) RETURNING ${GROUP_COLUMNS}`,
    [spec.name, spec.description, spec.kind, spec.creatorId],
  );
  const group: GroupRecord = rows[0];
  await db.query('INSERT INTO group_closure (ancestor_id, descendant_id) VALUES ($1, $1)', [
    group.id,
  ]);
  if ((spec.kind === 'group' || spec.kind === 'course') && spec.creatorId !== null) {
    await addMember(db, group.id, spec.creatorId, 'OWNER');
  }
  return group;
}

export async function findGroup(db: Queryable, id: number): Promise<GroupRecord | undefined> {
  const { rows } = await db.query(`SELECT ${GROUP_COLUMNS} FROM groups g WHERE g.id = $1`, [id]);
  return rows[0];
}

/** A group by name: names are unique whatever their case (JupyterHub's API names groups). */
export async function findGroupByName(
  db: Queryable,
  name: string,
): Promise<GroupRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${GROUP_COLUMNS} FROM groups g WHERE lower(g.name) = lower($1)`,
    [name],
  );
  return rows[0];
}

/**
 * Read a group and lock its row until the transaction ends: every rule that reads the group's
 * members and then writes them (the last owner, one pending invitation per user) runs one at a
 * time per group. NO KEY UPDATE, so inserting a member (which only key-shares the row) still
 * goes on beside it.
 */
export async function lockGroup(db: Queryable, id: number): Promise<GroupRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${GROUP_COLUMNS} FROM groups g WHERE g.id = $1 FOR NO KEY UPDATE`,
    [id],
  );
  return rows[0];
}

export async function publicGroupId(db: Queryable): Promise<number> {
  const { rows } = await db.query(`SELECT id FROM groups WHERE kind = 'public'`);
  return rows[0].id;
}

export async function updateGroup(
  db: Queryable,
  id: number,
  changes: { name?: string; description?: string },
) {
  const { rows } = await db.query(
    `UPDATE groups g SET name = COALESCE($2, name), description = COALESCE($3, description)
     WHERE id = $1 RETURNING ${GROUP_COLUMNS}`,
    [id, changes.name ?? null, changes.description ?? null],
  );
  return rows[0] as GroupRecord | undefined;
}

export async function deleteGroup(db: Queryable, id: number): Promise<void> {
  await db.query('DELETE FROM groups WHERE id = $1', [id]);
}

/** The caller's direct role in a group, or null. */
export async function roleIn(db: Queryable, groupId: number, userId: number): Promise<Role | null> {
  const { rows } = await db.query(
    'SELECT role FROM group_members WHERE group_id = $1 AND user_id = $2',
    [groupId, userId],
  );
  return rows[0]?.role ?? null;
}

export async function addMember(
  db: Queryable,
  groupId: number,
  userId: number,
  role: Role,
): Promise<void> {
  await db.query(
    `INSERT INTO group_members (group_id, user_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (group_id, user_id) DO NOTHING`,
    [groupId, userId, role],
  );
}

export async function setRole(
  db: Queryable,
  groupId: number,
  userId: number,
  role: Role,
): Promise<void> {
  await db.query('UPDATE group_members SET role = $3 WHERE group_id = $1 AND user_id = $2', [
    groupId,
    userId,
    role,
  ]);
}

export async function removeMember(
  db: Queryable,
  groupId: number,
  userId: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM group_members WHERE group_id = $1 AND user_id = $2',
    [groupId, userId],
  );
  return (rowCount ?? 0) > 0;
}

export async function countOwners(db: Queryable, groupId: number): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM group_members WHERE group_id = $1 AND role = 'OWNER'`,
    [groupId],
  );
  return rows[0].n;
}

/** Ordinary groups and courses the user owns: what the per-user group cap counts. */
export async function countOwnedGroups(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM group_members m JOIN groups g ON g.id = m.group_id
     WHERE m.user_id = $1 AND m.role = 'OWNER' AND g.kind IN ('group', 'course')`,
    [userId],
  );
  return rows[0].n;
}

/** Invitations the user sent that are still unanswered: what the invitation cap counts. */
export async function countPendingInvitationsBy(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM group_invitations WHERE invited_by = $1 AND status = 'pending'`,
    [userId],
  );
  return rows[0].n;
}

/** Groups the user belongs to directly, with their role and the member count. */
export async function groupsOf(db: Queryable, userId: number) {
  const { rows } = await db.query(
    `SELECT ${GROUP_COLUMNS}, m.role,
       (SELECT count(*)::int FROM group_members x WHERE x.group_id = g.id) AS member_count
     FROM group_members m JOIN groups g ON g.id = m.group_id
     WHERE m.user_id = $1 ORDER BY g.kind = 'public', lower(g.name)`,
    [userId],
  );
  return rows;
}

export async function membersOf(db: Queryable, groupId: number) {
  const { rows } = await db.query(
    `SELECT u.name, m.role, m.joined_at FROM group_members m JOIN users u ON u.id = m.user_id
     WHERE m.group_id = $1 ORDER BY CASE m.role WHEN 'OWNER' THEN 0 WHEN 'ADMIN' THEN 1 ELSE 2 END, u.name`,
    [groupId],
  );
  return rows as { name: string; role: Role; joined_at: Date }[];
}

export async function subgroupsOf(db: Queryable, groupId: number) {
  const { rows } = await db.query(
    `SELECT g.id, g.name FROM group_nesting n JOIN groups g ON g.id = n.child_id WHERE n.parent_id = $1 ORDER BY g.name`,
    [groupId],
  );
  return rows as { id: number; name: string }[];
}

export async function pendingInvitationsOfGroup(db: Queryable, groupId: number) {
  const { rows } = await db.query(
    `SELECT i.id, u.name AS username, i.role, i.status, i.created_at
     FROM group_invitations i JOIN users u ON u.id = i.user_id
     WHERE i.group_id = $1 AND i.status = 'pending' ORDER BY i.id`,
    [groupId],
  );
  return rows;
}

export async function createInvitation(
  db: Queryable,
  spec: { groupId: number; userId: number; role: Role; invitedBy: number },
) {
  const { rows } = await db.query(
    `INSERT INTO group_invitations (group_id, user_id, role, invited_by) VALUES ($1, $2, $3, $4)
     RETURNING id, role, status, created_at`,
    [spec.groupId, spec.userId, spec.role, spec.invitedBy],
  );
  return rows[0] as { id: number; role: Role; status: string; created_at: Date };
}

export async function invitationsFor(db: Queryable, userId: number) {
  const { rows } = await db.query(
    `SELECT i.id, json_build_object('id', g.id, 'name', g.name, 'description', g.description) AS "group",
       i.role, inviter.name AS invited_by, i.created_at
     FROM group_invitations i JOIN groups g ON g.id = i.group_id LEFT JOIN users inviter ON inviter.id = i.invited_by
     WHERE i.user_id = $1 AND i.status = 'pending' ORDER BY i.id`,
    [userId],
  );
  return rows;
}

/** Lock and return a pending invitation addressed to the user. */
export async function pendingInvitation(db: Queryable, invitationId: number, userId: number) {
  const { rows } = await db.query(
    `SELECT id, group_id AS "groupId", role FROM group_invitations
     WHERE id = $1 AND user_id = $2 AND status = 'pending' FOR UPDATE`,
    [invitationId, userId],
  );
  return rows[0] as { id: number; groupId: number; role: Role } | undefined;
}

export async function closeInvitation(
  db: Queryable,
  invitationId: number,
  status: 'accepted' | 'declined' | 'cancelled',
) {
  await db.query(`UPDATE group_invitations SET status = $2, answered_at = now() WHERE id = $1`, [
    invitationId,
    status,
  ]);
}

export async function domains(db: Queryable, userId: number) {
  const { rows } = await db.query(
    `SELECT g.id, g.name, g.description,
       EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = $1) AS joined
     FROM groups g WHERE g.kind = 'domain' ORDER BY lower(g.name)`,
    [userId],
  );
  return rows;
}
