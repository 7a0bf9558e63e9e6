/** Schema migrations: plain numbered SQL under schema/migrations, applied by node-pg-migrate. */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Db } from './pool.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../schema/migrations', import.meta.url));
const MIGRATIONS_TABLE = 'pgmigrations';

/** Names of the migration files, in order, without their extension. */
export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => file.replace(/\.sql$/, ''));
}

/** Migrations on disk that the database has not run yet. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const exists = await db.query(`SELECT to_regclass($1) AS t`, [MIGRATIONS_TABLE]);
  const done = new Set<string>();
  if (exists.rows[0].t) {
    const rows = await db.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    for (const row of rows.rows) done.add(row.name);
  }
  return migrationNames().filter((name) => !done.has(name));
}

export async function migrate(
  databaseUrl: string,
  direction: 'up' | 'down' = 'up',
  count?: number,
): Promise<string[]> {
  const ran = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction,
    count: count ?? (direction === 'up' ? Number.POSITIVE_INFINITY : 1),
    singleTransaction: true,
    checkOrder: true,
    log: () => {},
  });
  return ran.map((migration) => migration.name);
}
