/**
 * A space's role and schema in the science database. DDL takes no parameters, so every name
 * is quoted with escapeIdentifier; none comes from user input (names.ts). Each change runs in
 * one transaction under ACL_LOCK: it lands whole or not at all, and running it again after a
 * failure (the hub's record not written) finishes the same space instead of failing.
 */
import pg from 'pg';
import { inTransaction } from '../db/pool.ts';
import { Conflict } from '../errors.ts';
import { ACL_LOCK, type ScienceDatabase } from './science.ts';

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

/** Create (or finish creating) the role and its schema. */
export async function provisionSpace(science: ScienceDatabase, spec: SpaceSpec): Promise<void> {
  const role = pg.escapeIdentifier(spec.role);
  const schema = pg.escapeIdentifier(spec.schema);
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
    const owner = await client.query(
      `SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1`,
      [spec.schema],
    );
    if (owner.rowCount === 0) await client.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
    else if (owner.rows[0].owner !== spec.role)
      throw new Conflict(
        'schema_taken',
        `The schema ${spec.schema} exists in the science database and belongs to another role`,
      );
  });
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
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(space.schema)} CASCADE`);
    if (exists.rowCount) {
      // Revokes its CONNECT (and any grant made to it here) so the role can go.
      await client.query(`DROP OWNED BY ${role} CASCADE`);
      await client.query(`DROP ROLE ${role}`);
    }
  });
}

/** Bytes the schema's tables and materialised views take, indexes and TOAST included. */
export async function usedBytes(science: ScienceDatabase, schema: string): Promise<number> {
  const { rows } = await science.pool.query(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
    [schema],
  );
  return Number(rows[0].bytes);
}
