/** The hub's own connection pool. User SQL never runs through it (see mydb/). */
import pg from 'pg';

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

// int8 and numeric stay strings by default; ids here fit in a JS number and are parsed.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * A pool of the hub's connections. An idle connection that the server drops (a restart, an
 * administrator's terminate) is reported to `onIdleError` instead of crashing the process.
 */
export function createPool(
  connectionString: string,
  max = 10,
  onIdleError: (err: Error) => void = () => {},
): Db {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', onIdleError);
  return pool;
}

/** Run `work` in one transaction: all of it lands or none of it does. */
export async function inTransaction<T>(
  db: Db,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
