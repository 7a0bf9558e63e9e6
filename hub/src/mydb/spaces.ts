/**
 * A space's role and schema in the science database. DDL takes no parameters, so every name
 * is quoted with escapeIdentifier; none comes from user input (names.ts). Each change runs in
 * one transaction under ACL_LOCK: it lands whole or not at all, and running it again after a
 * failure (the hub's record not written) finishes the same space instead of failing.
 */
import pg from 'pg';
import { inTransaction } from '../db/pool.ts';
import { Conflict } from '../errors.ts';
import { schemaSizes } from './grants.ts';
import { LOGIN_GROUP_ROLE, scratchSchemaFor } from './names.ts';
import { ACL_LOCK, type ScienceDatabase } from './science.ts';

const DUPLICATE_OBJECT = '42710';

export interface RoleLimits {
  tempFileLimitMb: number;
  workMemMb: number;
  statementTimeoutSeconds: number;
}

export interface SpaceSpec {
  role: string;
  schema: string;
  password: string;
  limits: RoleLimits;
}

const ROLE_ATTRIBUTES =
  'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS';

/** Create (or finish creating) the role, its MyDB and MyScratch schemas. */
export async function provisionSpace(science: ScienceDatabase, spec: SpaceSpec): Promise<void> {
  const role = pg.escapeIdentifier(spec.role);
  await inTransaction(science.pool, async (client) => {
    await client.query(ACL_LOCK);
    const existing = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [spec.role]);
    // An existing role (an earlier attempt) gets the same attributes again.
    await client.query(
      existing.rowCount
        ? `ALTER ROLE ${role} ${ROLE_ATTRIBUTES}`
        : `CREATE ROLE ${role} ${ROLE_ATTRIBUTES}`,
    );
    // Stored as a SCRAM verifier whatever the server's default; never as MD5.
    await client.query("SET LOCAL password_encryption = 'scram-sha-256'");
    await client.query(`ALTER ROLE ${role} PASSWORD ${pg.escapeLiteral(spec.password)}`);
    const { tempFileLimitMb, workMemMb, statementTimeoutSeconds } = spec.limits;
    await client.query(`ALTER ROLE ${role} SET temp_file_limit = '${tempFileLimitMb}MB'`);
    await client.query(`ALTER ROLE ${role} SET work_mem = '${workMemMb}MB'`);
    await client.query(`ALTER ROLE ${role} SET statement_timeout = '${statementTimeoutSeconds}s'`);
    // TEMPORARY: sessions' temp tables (docs/mydb.md, "Sessions"); they go with the session.
    await client.query(
      `GRANT CONNECT, TEMPORARY ON DATABASE ${pg.escapeIdentifier(science.name)} TO ${role}`,
    );
    await joinLoginGroup(client, role);
    // The schemas belong to the hub's role, not the user's: an owner could grant itself back the
    // CREATE the quota takes away (grants.ts). The user's role may use them and create in them.
    for (const name of [spec.schema, scratchSchemaFor(spec.schema)]) {
      const owner = await client.query(
        `SELECT pg_get_userbyid(nspowner) AS owner, pg_get_userbyid(nspowner) = current_user AS mine
           FROM pg_namespace WHERE nspname = $1`,
        [name],
      );
      const quoted = pg.escapeIdentifier(name);
      if (owner.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
      else if (owner.rows[0].owner === spec.role)
        // A space made before the hub owned the schemas: taken over, the user keeps its tables.
        await client.query(`ALTER SCHEMA ${quoted} OWNER TO CURRENT_USER`);
      else if (!owner.rows[0].mine)
        throw new Conflict(
          'schema_taken',
          `The schema ${name} exists in the science database and belongs to another role`,
        );
      await client.query(`GRANT USAGE, CREATE ON SCHEMA ${quoted} TO ${role}`);
    }
  });
}

/**
 * Make the role a member of the login group (made if missing: it is server-wide, and another
 * deployment's hub may make it at the same moment). NOINHERIT: the role gains no privilege from
 * it, and the group has none. A hub that is not a superuser is made a member of the user's role,
 * which is how it may grant and revoke on the tables the user owns (grants.ts).
 */
async function joinLoginGroup(client: pg.ClientBase, role: string): Promise<void> {
  const group = pg.escapeIdentifier(LOGIN_GROUP_ROLE);
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [
    LOGIN_GROUP_ROLE,
  ]);
  if (!exists.rowCount) {
    await client.query('SAVEPOINT login_group');
    try {
      await client.query(`CREATE ROLE ${group} NOLOGIN NOINHERIT`);
      await client.query('RELEASE SAVEPOINT login_group');
    } catch (err) {
      if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
      await client.query('ROLLBACK TO SAVEPOINT login_group');
    }
  }
  await client.query(`GRANT ${group} TO ${role}`);
  const { rows } = await client.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
  if (!rows[0].rolsuper) await client.query(`GRANT ${role} TO CURRENT_USER`);
}

/**
 * Drop the schema with everything in it, then the role: no new logins, its sessions ended, its
 * grants revoked. Finding either already gone is fine (a retried removal).
 */
export async function dropSpace(
  science: ScienceDatabase,
  space: { role: string; schema: string },
): Promise<void> {
  const role = pg.escapeIdentifier(space.role);
  await inTransaction(science.pool, async (client) => {
    await client.query(ACL_LOCK);
    // A session the termination missed must not hold the removal forever: fail, and retry later.
    await client.query("SET LOCAL lock_timeout = '30s'");
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [space.role]);
    if (exists.rowCount) {
      await client.query(`ALTER ROLE ${role} NOLOGIN`);
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1',
        [space.role],
      );
    }
    for (const schema of [space.schema, scratchSchemaFor(space.schema)])
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    if (exists.rowCount) {
      // Revokes its CONNECT (and any grant made to it here) so the role can go.
      await client.query(`DROP OWNED BY ${role} CASCADE`);
      await client.query(`DROP ROLE ${role}`);
    }
  });
}

/** Bytes the schema's tables and materialised views take, indexes and TOAST included (the quota's measure). */
export async function usedBytes(science: ScienceDatabase, schema: string): Promise<number> {
  return (await schemaSizes(science.pool, [schema])).get(schema) ?? 0;
}
