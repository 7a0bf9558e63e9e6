/**
 * Installs MyDB's spatial functions (functions.ts) in the science database, and the q3c extension
 * beside them when the server has it and the hub's role may create it. Without q3c everything
 * works on the Zones algorithm alone, so failing to create the extension is only logged.
 */
import { type Db, inTransaction, type Queryable } from '../../db/pool.ts';
import type { Logger } from '../../log.ts';
import { SPATIAL_SQL } from './functions.ts';

/** Create or refresh the schema `orrery` and its functions; then q3c if it can be had. */
export async function installSpatial(pool: Db, log: Logger): Promise<{ q3c: boolean }> {
  await inTransaction(pool, async (client) => {
    const before = await zoneHeight(client);
    await client.query(SPATIAL_SQL);
    // Zone indexes embed zone_of: a new zone height makes every one of them wrong until rebuilt.
    if (before !== null && before !== (await zoneHeight(client))) {
      const { rows } = await client.query(
        "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE pg_get_indexdef(indexrelid) LIKE '%orrery.zone_of(%'",
      );
      for (const row of rows) await client.query(`REINDEX INDEX ${row.name}`);
      log.info({ indexes: rows.length }, 'the zone height changed: zone indexes rebuilt');
    }
  });
  return { q3c: await installQ3c(pool, log) };
}

async function zoneHeight(client: Queryable): Promise<number | null> {
  const { rows } = await client.query(
    `SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'orrery' AND p.proname = 'zone_height'`,
  );
  if (rows.length === 0) return null;
  return (await client.query('SELECT orrery.zone_height() AS height')).rows[0].height;
}

async function installQ3c(pool: Db, log: Logger): Promise<boolean> {
  const { rows } = await pool.query(
    "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'q3c') AS installed, EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'q3c') AS available",
  );
  if (rows[0].installed) return true;
  if (!rows[0].available) {
    log.info('q3c is not available on this server: spatial functions use the Zones algorithm');
    return false;
  }
  try {
    await inTransaction(pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('orrery.mydb.spatial'))");
      await client.query('CREATE EXTENSION IF NOT EXISTS q3c SCHEMA orrery');
    });
    log.info('created the q3c extension in the science database');
    return true;
  } catch (err) {
    log.warn(
      { err: String(err) },
      'could not create the q3c extension (a superuser must): spatial functions use the Zones algorithm',
    );
    return false;
  }
}
