/**
 * The science database: where users' MyDB schemas (and later catalogs) live, never the hub's own
 * database. The hub holds an administrative connection to it; users' SQL will run on
 * connections that logged in as their own roles (docs/mydb.md). Opening it creates it if it is
 * missing and closes the doors PostgreSQL leaves open to every role: connecting (to it and to the
 * hub's database) and creating in its `public` schema.
 */
import pg from 'pg';
import { createPool, type Db, inTransaction } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { installQuotaGuard } from './quotaGuard.ts';
import { installSpatial } from './spatial/install.ts';

const DUPLICATE_DATABASE = '42P04';
const UNDEFINED_DATABASE = '3D000';

/**
 * Grants and revocations on one database rewrite its catalog row; two at once fail with "tuple
 * concurrently updated". Every such change here (and role creation and removal) holds this lock.
 */
export const ACL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('orrery.mydb.acl'))";

export interface ScienceDatabase {
  pool: Db;
  /** Its name, as the server reports it. */
  name: string;
}

/** Open the science database at `url`, creating it if it does not exist. */
export async function openScienceDatabase(
  hubDb: Db,
  hubUrl: string,
  url: string,
  log: Logger,
): Promise<ScienceDatabase> {
  if (!(await databaseExists(url))) await createDatabase(hubDb, hubUrl, url, log);
  const pool = createPool(url, 4, (err) =>
    log.warn({ err: String(err) }, 'idle science database connection lost'),
  );
  try {
    const { rows } = await pool.query('SELECT current_database() AS name');
    const name = rows[0].name as string;
    await inTransaction(pool, async (client) => {
      await client.query(ACL_LOCK);
      // The hub's own role keeps its way in; every other role needs a grant of its own.
      await client.query(
        `GRANT CONNECT ON DATABASE ${pg.escapeIdentifier(name)} TO CURRENT_USER;
         REVOKE ALL ON DATABASE ${pg.escapeIdentifier(name)} FROM PUBLIC;
         REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
      );
      // Large objects live outside every schema, so no quota would count them: users' roles
      // may not make any (server-side lo_import is a superuser's already).
      await client.query(
        `REVOKE EXECUTE ON FUNCTION lo_creat(integer), lo_create(oid), lo_from_bytea(oid, bytea),
           lo_import(text), lo_import(text, oid) FROM PUBLIC`,
      );
    });
    await closeHubDatabase(hubDb);
    await installSpatial(pool, log);
    await installQuotaGuard(pool, log);
    return { pool, name };
  } catch (err) {
    await pool.end();
    throw err;
  }
}

/** Users' roles (and any role not granted CONNECT explicitly) cannot connect to the hub's database. */
async function closeHubDatabase(hubDb: Db): Promise<void> {
  await inTransaction(hubDb, async (client) => {
    await client.query(ACL_LOCK);
    const { rows } = await client.query('SELECT current_database() AS name');
    const hub = pg.escapeIdentifier(rows[0].name);
    await client.query(
      `GRANT CONNECT ON DATABASE ${hub} TO CURRENT_USER;
       REVOKE CONNECT ON DATABASE ${hub} FROM PUBLIC`,
    );
  });
}

async function databaseExists(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_DATABASE) return false;
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * CREATE DATABASE runs outside a transaction, on a connection to the same server: the hub's own
 * when the science database shares its server and role (the default), else the server's
 * `postgres` database. Two hubs creating it at once: the loser finds it made.
 */
async function createDatabase(hubDb: Db, hubUrl: string, url: string, log: Logger) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const hub = new URL(hubUrl);
  const sameServer =
    hub.host === target.host && hub.username === target.username && hub.search === target.search;
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const create = async (client: pg.ClientBase) => {
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      log.info({ database: name }, 'created the science database');
    } catch (err) {
      if ((err as { code?: string }).code !== DUPLICATE_DATABASE) throw err;
    }
  };
  if (sameServer) {
    const client = await hubDb.connect();
    try {
      await create(client);
    } finally {
      client.release();
    }
    return;
  }
  const client = new pg.Client({ connectionString: maintenance.toString() });
  try {
    await client.connect();
    await create(client);
  } finally {
    await client.end().catch(() => {});
  }
}
