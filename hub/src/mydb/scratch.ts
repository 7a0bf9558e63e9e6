/**
 * MyScratch: a second schema per user, `myscratch_<name>`, without quota, whose tables expire.
 * PostgreSQL keeps no creation time, so the sweeper notes each table the first time it sees it
 * (mydb_scratch_tables, migration 0011) and drops it once it is older than the maximum age.
 * It runs after each query of the user (so a table's age starts within one query of its
 * creation) and in the hub's periodic round; the clock is a parameter, for tests.
 */
import pg from 'pg';
import { type Db, inTransaction } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { scratchSchemaFor } from './names.ts';
import type { ScienceDatabase } from './science.ts';

const DROP_KIND: Record<string, string> = {
  r: 'TABLE',
  p: 'TABLE',
  v: 'VIEW',
  m: 'MATERIALIZED VIEW',
  f: 'FOREIGN TABLE',
};

export interface SweepReport {
  /** `schema.table` of every relation dropped. */
  dropped: string[];
}

export class ScratchSweeper {
  constructor(
    private readonly hubDb: Db,
    private readonly science: ScienceDatabase,
    private readonly maxAgeMs: number,
    private readonly log?: Logger,
  ) {}

  /** Note new scratch tables and drop those older than the maximum age at `now`. */
  async sweep(options: { now?: Date; onlyUserIds?: number[] } = {}): Promise<SweepReport> {
    const now = options.now ?? new Date();
    const spaces = await this.hubDb.query(
      `SELECT user_id AS "userId", schema_name AS schema FROM mydb_spaces
        WHERE $1::bigint[] IS NULL OR user_id = ANY($1)`,
      [options.onlyUserIds ?? null],
    );
    const userOf = new Map<string, number>(
      spaces.rows.map((row) => [scratchSchemaFor(row.schema), Number(row.userId)]),
    );
    if (userOf.size === 0) return { dropped: [] };
    const { rows: present } = await this.science.pool.query(
      `SELECT n.nspname AS schema, c.oid::bigint AS oid, c.relname AS name, c.relkind AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1) AND c.relkind = ANY($2) AND NOT c.relispartition`,
      [[...userOf.keys()], Object.keys(DROP_KIND)],
    );
    const cutoff = new Date(now.getTime() - this.maxAgeMs);
    const expired = await inTransaction(this.hubDb, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('orrery.mydb.scratch'))");
      const users = [...new Set(userOf.values())];
      const seen = present.map((row) => ({ ...row, userId: userOf.get(row.schema)! }));
      // Forget tables that are gone (or whose oid now names another table), note new ones.
      await client.query(
        `DELETE FROM mydb_scratch_tables t WHERE t.user_id = ANY($1) AND NOT EXISTS (
           SELECT 1 FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS p(user_id, oid, name)
            WHERE p.user_id = t.user_id AND p.oid = t.table_oid AND p.name = t.table_name)`,
        [users, seen.map((r) => r.userId), seen.map((r) => r.oid), seen.map((r) => r.name)],
      );
      await client.query(
        `INSERT INTO mydb_scratch_tables (user_id, table_oid, table_name, first_seen_at)
         SELECT * , $4::timestamptz FROM unnest($1::bigint[], $2::bigint[], $3::text[])
         ON CONFLICT (user_id, table_oid) DO NOTHING`,
        [seen.map((r) => r.userId), seen.map((r) => r.oid), seen.map((r) => r.name), now],
      );
      const { rows } = await client.query(
        `SELECT user_id AS "userId", table_oid AS oid FROM mydb_scratch_tables
          WHERE user_id = ANY($1) AND first_seen_at <= $2`,
        [users, cutoff],
      );
      const old = new Set(rows.map((row) => `${row.userId}:${row.oid}`));
      return seen.filter((row) => old.has(`${row.userId}:${row.oid}`));
    });
    const dropped: string[] = [];
    for (const table of expired) {
      const name = `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
      try {
        await inTransaction(this.science.pool, async (client) => {
          // A table in use is left for the next round rather than waited for.
          await client.query("SET LOCAL lock_timeout = '5s'");
          await client.query(`DROP ${DROP_KIND[table.kind]} IF EXISTS ${name} CASCADE`);
        });
        await this.hubDb.query(
          'DELETE FROM mydb_scratch_tables WHERE user_id = $1 AND table_oid = $2',
          [table.userId, table.oid],
        );
        dropped.push(`${table.schema}.${table.name}`);
      } catch (err) {
        this.log?.warn(
          { table: name, err: String(err) },
          'could not drop an expired scratch table',
        );
      }
    }
    return { dropped };
  }
}
