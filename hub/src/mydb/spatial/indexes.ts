/**
 * The zone index (and the q3c index, when q3c is installed) that cone_search and cross_match use,
 * made on a catalog table at load time by the same SQL function users call on their own tables.
 */
import type { Queryable } from '../../db/pool.ts';

/** `table` is an already-quoted, schema-qualified name. Returns the indexes' names. */
export async function createSpatialIndexes(client: Queryable, table: string): Promise<string> {
  const { rows } = await client.query('SELECT orrery.create_zone_index($1::regclass) AS made', [
    table,
  ]);
  return rows[0].made as string;
}
