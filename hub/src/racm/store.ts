/**
 * RACM: resource contexts register resource types with actions; resources are
 * instances of a type; privileges give one action on one resource to a user or
 * a group. Group privileges reach members of the group and of every group
 * nested inside it, through group_closure, so no check ever recurses.
 */
import type { Queryable } from '../db/pool.ts';

/** Every resource type has this action: holding it lets you give the type's actions to others. */
export const GRANT = 'grant';

// The groups whose privileges reach user $1: the groups they belong to and every group those sit inside.
export const GROUPS_OF_USER = `SELECT c.ancestor_id FROM group_members m
  JOIN group_closure c ON c.descendant_id = m.group_id WHERE m.user_id = $1`;

export interface ResourceTypeSpec {
  name: string;
  description?: string;
  actions: string[];
  userCreatable?: boolean;
}

export interface ContextSpec {
  name: string;
  description?: string;
  url?: string | null;
  resourceTypes: ResourceTypeSpec[];
}

/** Register (or update) a context and its types; idempotent, so services call it at every start. */
export async function registerContext(db: Queryable, spec: ContextSpec): Promise<number> {
  const { rows } = await db.query(
    `INSERT INTO racm_contexts (name, description, url) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, url = EXCLUDED.url
     RETURNING id`,
    [spec.name, spec.description ?? '', spec.url ?? null],
  );
  const contextId = rows[0].id;
  for (const type of spec.resourceTypes) {
    const typeRow = await db.query(
      `INSERT INTO racm_resource_types (context_id, name, description, user_creatable) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, user_creatable = EXCLUDED.user_creatable
       RETURNING id`,
      [contextId, type.name, type.description ?? '', type.userCreatable ?? false],
    );
    const actions = [...new Set([...type.actions, GRANT])];
    await db.query(
      `INSERT INTO racm_actions (type_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
      [typeRow.rows[0].id, actions],
    );
  }
  return contextId;
}

export async function listContexts(db: Queryable) {
  const { rows } = await db.query(
    `SELECT c.name, c.description, c.url,
       coalesce(json_agg(json_build_object('name', t.name, 'description', t.description,
         'user_creatable', t.user_creatable,
         'actions', (SELECT json_agg(a.name ORDER BY a.name) FROM racm_actions a WHERE a.type_id = t.id))
         ORDER BY t.name) FILTER (WHERE t.id IS NOT NULL), '[]') AS resource_types
     FROM racm_contexts c LEFT JOIN racm_resource_types t ON t.context_id = c.id
     GROUP BY c.id ORDER BY c.name`,
  );
  return rows;
}

export async function resourceType(db: Queryable, name: string) {
  const { rows } = await db.query(
    `SELECT t.id, t.name, t.user_creatable AS "userCreatable", array_agg(a.name ORDER BY a.name) AS actions
     FROM racm_resource_types t JOIN racm_actions a ON a.type_id = t.id WHERE t.name = $1 GROUP BY t.id`,
    [name],
  );
  return rows[0] as
    | { id: number; name: string; userCreatable: boolean; actions: string[] }
    | undefined;
}

/** A resource, its fields named as the API answers them (snake_case). */
export interface ResourceRecord {
  id: number;
  type: string;
  name: string;
  description: string;
  owner: string | null;
  created_at: Date;
}

const RESOURCE_COLUMNS = `r.id, t.name AS type, r.name, r.description, o.name AS owner, r.created_at`;
const RESOURCE_FROM = `racm_resources r JOIN racm_resource_types t ON t.id = r.type_id LEFT JOIN users o ON o.id = r.owner_id`;

/** Register a resource; its owner gets every action of its type, grant included. */
export async function registerResource(
  db: Queryable,
  spec: { typeId: number; name: string; description?: string; ownerId: number | null },
): Promise<number> {
  const { rows } = await db.query(
    `INSERT INTO racm_resources (type_id, name, description, owner_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [spec.typeId, spec.name, spec.description ?? '', spec.ownerId],
  );
  const resourceId = rows[0].id;
  if (spec.ownerId !== null) {
    await db.query(
      `INSERT INTO racm_privileges (resource_id, action_id, user_id, granted_by)
       SELECT $1, a.id, $2, $2 FROM racm_actions a WHERE a.type_id = $3`,
      [resourceId, spec.ownerId, spec.typeId],
    );
  }
  return resourceId;
}

export async function findResource(
  db: Queryable,
  id: number,
): Promise<(ResourceRecord & { ownerId: number | null; typeId: number }) | undefined> {
  const { rows } = await db.query(
    `SELECT ${RESOURCE_COLUMNS}, r.owner_id AS "ownerId", r.type_id AS "typeId" FROM ${RESOURCE_FROM} WHERE r.id = $1`,
    [id],
  );
  return rows[0];
}

export async function findResourceByName(
  db: Queryable,
  type: string,
  name: string,
): Promise<ResourceRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM} WHERE t.name = $1 AND r.name = $2`,
    [type, name],
  );
  return rows[0];
}

export async function deleteResource(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM racm_resources WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/** May user U do action A on resource R? The one question every access check asks. */
export async function may(
  db: Queryable,
  userId: number,
  action: string,
  resourceId: number,
): Promise<boolean> {
  const { rows } = await db.query({
    // A named statement is planned once per connection; planning was most of this check's time.
    name: 'racm-may',
    text: `SELECT EXISTS (
       SELECT 1 FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id
       WHERE p.resource_id = $2 AND a.name = $3
         AND (p.user_id = $1 OR p.group_id IN (${GROUPS_OF_USER}))
     ) AS allowed`,
    values: [userId, resourceId, action],
  });
  return rows[0].allowed;
}

/** The actions user U holds on resource R, directly or through groups. */
export async function actionsOf(
  db: Queryable,
  userId: number,
  resourceId: number,
): Promise<string[]> {
  const { rows } = await db.query({
    name: 'racm-actions-of',
    text: `SELECT DISTINCT a.name FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id
     WHERE p.resource_id = $2 AND (p.user_id = $1 OR p.group_id IN (${GROUPS_OF_USER})) ORDER BY a.name`,
    values: [userId, resourceId],
  });
  return rows.map((row) => row.name);
}

/** Resources of `type` on which user U may do `action`. */
export async function listAllowed(
  db: Queryable,
  userId: number,
  type: string,
  action: string,
  page: { limit: number; afterId?: number } = { limit: 100 },
): Promise<ResourceRecord[]> {
  const { rows } = await db.query({
    name: 'racm-list-allowed',
    text: `WITH act AS (
       SELECT a.id FROM racm_actions a JOIN racm_resource_types t ON t.id = a.type_id
       WHERE t.name = $2 AND a.name = $3
     ), allowed AS (
       SELECT p.resource_id FROM racm_privileges p WHERE p.action_id = (SELECT id FROM act) AND p.user_id = $1
       UNION
       SELECT p.resource_id FROM racm_privileges p
       WHERE p.action_id = (SELECT id FROM act) AND p.group_id IN (${GROUPS_OF_USER})
     )
     SELECT ${RESOURCE_COLUMNS} FROM ${RESOURCE_FROM}
     WHERE r.id IN (SELECT resource_id FROM allowed) AND r.id > $4
     ORDER BY r.id LIMIT $5`,
    values: [userId, type, action, page.afterId ?? 0, page.limit],
  });
  return rows;
}

/** A privilege as the API lists it (snake_case). */
export interface PrivilegeRecord {
  id: number;
  action: string;
  user: string | null;
  group: { id: number; name: string } | null;
  granted_by: string | null;
  granted_at: Date;
}

export async function listPrivileges(
  db: Queryable,
  resourceId: number,
): Promise<PrivilegeRecord[]> {
  const { rows } = await db.query(
    `SELECT p.id, a.name AS action, u.name AS "user",
       CASE WHEN g.id IS NULL THEN NULL ELSE json_build_object('id', g.id, 'name', g.name) END AS "group",
       gb.name AS granted_by, p.granted_at
     FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id
     LEFT JOIN users u ON u.id = p.user_id LEFT JOIN groups g ON g.id = p.group_id
     LEFT JOIN users gb ON gb.id = p.granted_by
     WHERE p.resource_id = $1 ORDER BY p.id`,
    [resourceId],
  );
  return rows;
}

/** Give an action; returns the privilege id (the existing one if it was already given). */
export async function grant(
  db: Queryable,
  spec: {
    resourceId: number;
    typeId: number;
    action: string;
    userId?: number;
    groupId?: number;
    grantedBy: number | null;
  },
): Promise<number | undefined> {
  const column = spec.userId !== undefined ? 'user_id' : 'group_id';
  const grantee = spec.userId ?? spec.groupId;
  const { rows } = await db.query(
    `WITH act AS (SELECT id FROM racm_actions WHERE type_id = $2 AND name = $3),
     inserted AS (
       INSERT INTO racm_privileges (resource_id, action_id, ${column}, granted_by)
       SELECT $1, act.id, $4, $5 FROM act
       ON CONFLICT DO NOTHING RETURNING id
     )
     SELECT id FROM inserted
     UNION ALL
     SELECT p.id FROM racm_privileges p, act WHERE p.resource_id = $1 AND p.action_id = act.id AND p.${column} = $4`,
    [spec.resourceId, spec.typeId, spec.action, grantee, spec.grantedBy],
  );
  return rows[0]?.id;
}

export async function findPrivilege(db: Queryable, resourceId: number, privilegeId: number) {
  const { rows } = await db.query(
    `SELECT p.id, p.user_id AS "userId", p.group_id AS "groupId", a.name AS action
     FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id WHERE p.resource_id = $1 AND p.id = $2`,
    [resourceId, privilegeId],
  );
  return rows[0] as
    | { id: number; userId: number | null; groupId: number | null; action: string }
    | undefined;
}

export async function revoke(
  db: Queryable,
  resourceId: number,
  privilegeId: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM racm_privileges WHERE resource_id = $1 AND id = $2',
    [resourceId, privilegeId],
  );
  return (rowCount ?? 0) > 0;
}
