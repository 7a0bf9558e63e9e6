/** A throw-away database per benchmark run on the local PostgreSQL server. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server to create benchmark databases on. Env ORRERY_BENCH_DATABASE_URL, else the local server. */
export const ADMIN_DATABASE_URL =
  process.env.ORRERY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Create orrery_bench_<label>_<random>; `drop()` removes it even with connections still open. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `orrery_bench_${label}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
