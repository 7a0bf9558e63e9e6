/**
 * PostgreSQL's grants follow RACM: what RACM allows a user is exactly what their role may do in
 * the science database. One function, `syncGrants`, reads what should be (RACM's privileges,
 * group memberships, quotas) and what is (the ACLs of the managed schemas and their tables),
 * and issues the GRANTs and REVOKEs that make the second equal the first.
 *
 * Users' roles are NOINHERIT, so nothing reaches them through a role they belong to: every
 * privilege is granted to each user's role directly.
 *
 * - A catalog schema `catalog_<c>`: USAGE and SELECT on its tables and views for the roles of
 *   users who hold `read` or `submitQuery` on the DatabaseContext `c`, directly, through a group
 *   (nested ones included) or the Public group.
 * - A MyDB schema: its owner's USAGE and CREATE (CREATE taken while over quota), and on its
 *   tables every privilege an owner has (INSERT and UPDATE taken while over quota); USAGE and
 *   SELECT for the roles RACM's `MyDB` (whole space) or `MyDBTable` (one table) shares reach.
 * - A MyScratch schema: its owner's USAGE and CREATE, nothing for anyone else.
 *
 * Any other grant on these schemas and their tables is revoked, whoever made it (a user may
 * GRANT on the tables they own; the next sync takes it back). The objects' owners and the hub's
 * own role are left alone. Every sync holds ACL_LOCK and reads RACM after taking it, so two
 * syncs never interleave and the last one sees the last committed change.
 */

import pg from 'pg';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { CONTEXT_TYPE } from './contexts.ts';
import { scratchSchemaFor } from './names.ts';
import { syncQuotas } from './quotaGuard.ts';
import { ACL_LOCK, type ScienceDatabase } from './science.ts';

/** A user's whole MyDB, shared read-only; named after its owner. */
export const MYDB_TYPE = 'MyDB';
/** One table of a user's MyDB, shared read-only; named `<owner>/<table>`. */
export const MYDB_TABLE_TYPE = 'MyDBTable';

/** RACM actions that open a context to SQL: browsing it, or querying it. */
const READING_ACTIONS = ['read', 'submitQuery'];
/** What an owner may no longer do to its tables while over quota. */
const WRITES = ['INSERT', 'UPDATE'];
/** Relations whose ACL is managed: tables, partitioned tables, views, materialised, foreign. */
const RELKINDS = ['r', 'p', 'v', 'm', 'f'];

/** A space as the sync sees it: its names, quota and size. */
export interface SpaceState {
  userId: number;
  username: string;
  role: string;
  schema: string;
  quotaBytes: number;
  usedBytes: number;
}

/** role → privileges; '' is PUBLIC. */
type Grants = Map<string, Set<string>>;

interface SchemaPlan {
  /** What each role may do with the schema itself. */
  schema: Grants;
  /** What each role may do with every table of the schema. */
  everyTable: Grants;
  /** What each role may do with one table, besides `everyTable`. */
  tables: Map<string, Grants>;
  /** The role whose own tables get its owner privileges (minus writes when over quota). */
  owner?: { role: string; overQuota: boolean };
}

/** What `syncGrants` did: the spaces it measured and the statements it ran. */
export interface SyncReport {
  spaces: SpaceState[];
  statements: number;
}

/**
 * Make PostgreSQL's grants match RACM. `onlyUserIds`: sync only those users' own schemas (after
 * their query); by default every managed schema.
 */
export async function syncGrants(
  hubDb: Db,
  science: ScienceDatabase,
  options: { onlyUserIds?: number[] } = {},
): Promise<SyncReport> {
  return inTransaction(science.pool, async (client) => {
    await client.query(ACL_LOCK);
    // A table the user holds in a long transaction would make a REVOKE wait: give up, and the
    // next sync (after the next query, or the periodic one) does it.
    await client.query("SET LOCAL lock_timeout = '10s'");
    const spaces = await readSpaces(hubDb, client, options.onlyUserIds);
    // The quotas the statements' own check reads (quotaGuard.ts), and its trigger on every table.
    await syncQuotas(client, spaces);
    const plans = new Map<string, SchemaPlan>();
    for (const space of spaces) {
      const overQuota = space.usedBytes > space.quotaBytes;
      const own = new Set(overQuota ? ['USAGE'] : ['USAGE', 'CREATE']);
      plans.set(space.schema, {
        schema: new Map([[space.role, own]]),
        everyTable: new Map(),
        tables: new Map(),
        owner: { role: space.role, overQuota },
      });
      plans.set(scratchSchemaFor(space.schema), {
        schema: new Map([[space.role, new Set(['USAGE', 'CREATE'])]]),
        everyTable: new Map(),
        tables: new Map(),
        owner: { role: space.role, overQuota: false },
      });
    }
    if (!options.onlyUserIds) {
      const { rows } = await client.query(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'catalog\\_%'",
      );
      for (const row of rows)
        plans.set(row.nspname, { schema: new Map(), everyTable: new Map(), tables: new Map() });
    }
    await addReaders(hubDb, plans, options.onlyUserIds);
    const statements = await apply(client, plans);
    return { spaces, statements };
  });
}

/** The spaces in scope with their size now (measured in the sync's own transaction). */
async function readSpaces(
  hubDb: Db,
  science: Queryable,
  onlyUserIds: number[] | undefined,
): Promise<SpaceState[]> {
  const { rows } = await hubDb.query(
    `SELECT s.user_id AS "userId", u.name AS username, s.role_name AS role,
            s.schema_name AS schema, s.quota_bytes AS "quotaBytes"
       FROM mydb_spaces s JOIN users u ON u.id = s.user_id
      WHERE $1::bigint[] IS NULL OR s.user_id = ANY($1)`,
    [onlyUserIds ?? null],
  );
  const sizes = await schemaSizes(
    science,
    rows.map((row) => row.schema),
  );
  return rows.map((row) => ({
    ...row,
    userId: Number(row.userId),
    quotaBytes: Number(row.quotaBytes),
    usedBytes: sizes.get(row.schema) ?? 0,
  }));
}

/**
 * Bytes each schema's tables and materialised views take, indexes and TOAST included: what the
 * quota counts (views take nothing; sequences a page each and are left out).
 */
export async function schemaSizes(
  science: Queryable,
  schemas: string[],
): Promise<Map<string, number>> {
  const { rows } = await science.query(
    `SELECT n.nspname AS schema, coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
       FROM pg_namespace n LEFT JOIN pg_class c
         ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'm')
      WHERE n.nspname = ANY($1) GROUP BY n.nspname`,
    [schemas],
  );
  return new Map(rows.map((row) => [row.schema, Number(row.bytes)]));
}

/**
 * The roles RACM lets read: catalogs (DatabaseContext `read`/`submitQuery`), whole MyDBs and
 * single tables (`read`), each reaching users directly or through the closure of their groups.
 */
async function addReaders(
  hubDb: Db,
  plans: Map<string, SchemaPlan>,
  /** Only shares of these users' MyDBs (their own schemas are all the plans hold). */
  owners: number[] | undefined,
): Promise<void> {
  const { rows } = await hubDb.query(
    `WITH held AS (
       SELECT p.resource_id, a.name AS action, p.user_id FROM racm_privileges p
         JOIN racm_actions a ON a.id = p.action_id
        WHERE a.name = ANY($1) AND p.user_id IS NOT NULL
       UNION
       SELECT p.resource_id, a.name, m.user_id FROM racm_privileges p
         JOIN racm_actions a ON a.id = p.action_id
         JOIN group_closure c ON c.ancestor_id = p.group_id
         JOIN group_members m ON m.group_id = c.descendant_id
        WHERE a.name = ANY($1)
     )
     SELECT DISTINCT t.name AS type, r.name, s.role_name AS reader, o.schema_name AS owner_schema
       FROM held h
       JOIN racm_resources r ON r.id = h.resource_id
       JOIN racm_resource_types t ON t.id = r.type_id
       JOIN mydb_spaces s ON s.user_id = h.user_id
       LEFT JOIN mydb_spaces o ON o.user_id = r.owner_id
      WHERE ($4::bigint[] IS NULL OR r.owner_id = ANY($4))
        AND (t.name = $2 OR (t.name = ANY($3) AND h.action = 'read'))`,
    [READING_ACTIONS, CONTEXT_TYPE, [MYDB_TYPE, MYDB_TABLE_TYPE], owners ?? null],
  );
  for (const row of rows) {
    if (row.type === CONTEXT_TYPE) {
      const plan = plans.get(`catalog_${row.name}`);
      if (!plan) continue;
      add(plan.schema, row.reader, 'USAGE');
      add(plan.everyTable, row.reader, 'SELECT');
      continue;
    }
    const plan = row.owner_schema && plans.get(row.owner_schema);
    if (!plan || plan.owner?.role === row.reader) continue;
    add(plan.schema, row.reader, 'USAGE');
    if (row.type === MYDB_TYPE) add(plan.everyTable, row.reader, 'SELECT');
    else {
      const table = String(row.name).slice(String(row.name).indexOf('/') + 1);
      const grants = plan.tables.get(table) ?? new Map();
      plan.tables.set(table, grants);
      add(grants, row.reader, 'SELECT');
    }
  }
}

function add(grants: Grants, role: string, privilege: string): void {
  const set = grants.get(role) ?? new Set();
  set.add(privilege);
  grants.set(role, set);
}

/** Compare each managed object's ACL with the plan and grant or revoke the difference. */
async function apply(client: Queryable, plans: Map<string, SchemaPlan>): Promise<number> {
  const schemas = [...plans.keys()];
  if (schemas.length === 0) return 0;
  let statements = 0;
  const run = async (sql: string) => {
    statements += 1;
    await client.query(sql);
  };

  const schemaAcl = await client.query(
    `SELECT n.nspname AS schema,
            array_remove(array_agg(g.grantee::regrole::text || ':' || g.privilege_type)
              FILTER (WHERE g.grantee <> n.nspowner AND g.grantee <> 0
                      AND g.grantee <> (SELECT oid FROM pg_roles WHERE rolname = current_user)), NULL) AS acl,
            array_remove(array_agg(g.privilege_type) FILTER (WHERE g.grantee = 0), NULL) AS public
       FROM pg_namespace n
       LEFT JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) g ON true
      WHERE n.nspname = ANY($1) GROUP BY n.nspname, n.nspowner`,
    [schemas],
  );
  for (const row of schemaAcl.rows) {
    const plan = plans.get(row.schema)!;
    const on = `SCHEMA ${pg.escapeIdentifier(row.schema)}`;
    for (const sql of diff(on, actualGrants(row.acl, row.public), plan.schema)) await run(sql);
  }

  const tableAcl = await client.query(
    `SELECT n.nspname AS schema, c.relname AS name, c.relowner::regrole::text AS owner,
            ARRAY(SELECT privilege_type FROM aclexplode(acldefault('r', c.relowner))
                   WHERE grantee = c.relowner) AS owner_default,
            array_remove(array_agg(g.grantee::regrole::text || ':' || g.privilege_type)
              FILTER (WHERE g.grantee <> 0
                      AND g.grantee <> (SELECT oid FROM pg_roles WHERE rolname = current_user)), NULL) AS acl,
            array_remove(array_agg(g.privilege_type) FILTER (WHERE g.grantee = 0), NULL) AS public
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) g ON true
      WHERE n.nspname = ANY($1) AND c.relkind = ANY($2)
      GROUP BY n.nspname, c.oid, c.relname, c.relowner`,
    [schemas, RELKINDS],
  );
  for (const row of tableAcl.rows) {
    const plan = plans.get(row.schema)!;
    const on = `TABLE ${pg.escapeIdentifier(row.schema)}.${pg.escapeIdentifier(row.name)}`;
    const wanted: Grants = new Map();
    for (const [role, privileges] of plan.everyTable) wanted.set(role, new Set(privileges));
    for (const [role, privileges] of plan.tables.get(row.name) ?? [])
      for (const privilege of privileges) add(wanted, role, privilege);
    const actual = actualGrants(row.acl, row.public);
    if (plan.owner?.role === row.owner) {
      const own = (row.owner_default as string[]).filter(
        (p) => !(plan.owner!.overQuota && WRITES.includes(p)),
      );
      wanted.set(row.owner, new Set(own));
    } else {
      // Someone else's object in the schema (the hub's, an admin's): its owner is left alone.
      actual.delete(row.owner);
      wanted.delete(row.owner);
    }
    for (const sql of diff(on, actual, wanted)) await run(sql);
  }

  // Column grants are never the hub's: a user's GRANT SELECT (col) to anyone is taken back.
  const columnAcl = await client.query(
    `SELECT n.nspname AS schema, c.relname AS name, a.attname AS column,
            CASE WHEN g.grantee = 0 THEN '' ELSE g.grantee::regrole::text END AS grantee
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(a.attacl) g
      WHERE n.nspname = ANY($1) AND a.attacl IS NOT NULL AND g.grantee <> c.relowner
        AND g.grantee <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
    [schemas],
  );
  const revoked = new Set<string>();
  for (const row of columnAcl.rows) {
    const sql = `REVOKE ALL (${pg.escapeIdentifier(row.column)}) ON TABLE ${pg.escapeIdentifier(row.schema)}.${pg.escapeIdentifier(row.name)} FROM ${grantee(unquote(row.grantee))}`;
    if (!revoked.has(sql)) await run(sql);
    revoked.add(sql);
  }
  return statements;
}

function actualGrants(acl: string[] | null, publicPrivileges: string[] | null): Grants {
  const grants: Grants = new Map();
  for (const entry of acl ?? []) {
    const at = entry.lastIndexOf(':');
    add(grants, unquote(entry.slice(0, at)), entry.slice(at + 1));
  }
  for (const privilege of publicPrivileges ?? []) add(grants, '', privilege);
  return grants;
}

/** regrole's text quotes names that need it; the plans hold bare names. */
function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}

function grantee(role: string): string {
  return role === '' ? 'PUBLIC' : pg.escapeIdentifier(role);
}

/** The statements that turn `actual` into `wanted` on `on`. */
function diff(on: string, actual: Grants, wanted: Grants): string[] {
  const sql: string[] = [];
  for (const [role, have] of actual) {
    const extra = [...have].filter((p) => !wanted.get(role)?.has(p));
    if (extra.length) sql.push(`REVOKE ${extra.join(', ')} ON ${on} FROM ${grantee(role)}`);
  }
  for (const [role, want] of wanted) {
    const missing = [...want].filter((p) => !actual.get(role)?.has(p));
    if (missing.length) sql.push(`GRANT ${missing.join(', ')} ON ${on} TO ${grantee(role)}`);
  }
  return sql;
}
