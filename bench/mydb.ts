/**
 * MyDB's result path: what a quick query costs on top of PostgreSQL, and how fast a large result
 * streams, against floors measured in the same run.
 *
 * - Overhead: the same small query (`SELECT 1`) through `POST /hub/api/users/<u>/mydb/query`,
 *   sequentially, against `psql -c` (a process and a connection each time), a fresh
 *   node-postgres connection as the role per query, `GET /hub/api/user` (any API request's own
 *   cost), and one connection kept logged in as the user's role (the direct floor). The hub and
 *   its floors take turns query by query. Target: the hub adds < 2 ms at the median over the
 *   direct floor.
 * - Streaming: 1,000,000 rows (bigint, double, text) as Arrow and as CSV through the hub, read to
 *   the end by the client, against `psql -c "COPY (...) TO STDOUT (FORMAT csv)"` into /dev/null.
 *   Rounds alternate the targets. Target: ≥ 0.5× psql's throughput.
 * Run: npx tsx bench/mydb.ts (or bash bench/run.sh mydb)
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { createAccount } from '../hub/src/accounts/service.ts';
import { createToken } from '../hub/src/auth/tokens.ts';
import { deploymentIdentity } from '../hub/src/compute/deployment.ts';
import { loadConfig, scienceDatabaseUrlOf } from '../hub/src/config.ts';
import { inTransaction } from '../hub/src/db/pool.ts';
import { mydbModule } from '../hub/src/mydb/module.ts';
import { startHub } from '../hub/src/server.ts';
import { ADMIN_DATABASE_URL, createBenchDatabase } from './support/database.ts';
import { machine, msSince, summarise, timeSequential, writeResult } from './support/stats.ts';

const SMALL_QUERIES = Number(process.env.ORRERY_BENCH_MYDB_QUERIES ?? 200);
const ROWS = 1_000_000;
const ROUNDS = Number(process.env.ORRERY_BENCH_ROUNDS ?? 3);
const OVERHEAD_TARGET_MS = 2;
const THROUGHPUT_TARGET = 0.5;
const BIG_QUERY = `SELECT g::bigint AS id, g * 0.5::float8 AS x, 'row ' || g AS name FROM generate_series(1, ${ROWS}) g`;

/** Runs psql with `args`, its output thrown away; resolves with the milliseconds it took. */
function psql(url: string, command: string): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-q', '-d', url, '-c', command], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk) => {
      errors += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(msSince(started)) : reject(new Error(`psql: ${errors}`)),
    );
  });
}

/** POSTs a quick query; reads the answer to its end; resolves with its size in bytes. */
async function hubQuery(url: string, token: string, sql: string, accept: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `token ${token}`, 'content-type': 'application/json', accept },
    body: JSON.stringify({ sql }),
  });
  if (res.status !== 200) throw new Error(`${res.status} ${(await res.text()).slice(0, 300)}`);
  let bytes = 0;
  for await (const chunk of res.body!) bytes += (chunk as Uint8Array).byteLength;
  if (accept !== 'application/json' && res.headers.get('orrery-row-count') !== String(ROWS))
    throw new Error(`expected ${ROWS} rows, the hub said ${res.headers.get('orrery-row-count')}`);
  return bytes;
}

const median = (values: number[]) => summarise(values).p50;

async function main() {
  const database = await createBenchDatabase('mydb');
  const base = loadConfig({
    ORRERY_PORT: '0',
    DATABASE_URL: database.url,
    ORRERY_ARGON2_MEMORY_KIB: '1024',
    ORRERY_ARGON2_TIME: '1',
  });
  const config = {
    ...base,
    migrateOnStart: true,
    logLevel: 'warn' as const,
    apiRequestsPerMinute: 1_000_000,
    mydb: { ...base.mydb, quickMaxRows: ROWS, quickTimeoutSeconds: 300 },
  };
  const running = await startHub(config);
  const scienceUrl = scienceDatabaseUrlOf(config);
  const identity = await deploymentIdentity(running.hub.db);
  try {
    const user = await inTransaction(running.hub.db, (client) =>
      createAccount(
        client,
        config,
        { username: 'benchmydb', approved: true },
        { type: 'user.create' },
      ),
    );
    const { token } = await createToken(running.hub.db, user.id, {
      scopes: ['all'],
      seconds: 3600,
    });
    const queryUrl = `${running.url}/hub/api/users/benchmydb/mydb/query`;
    // The space is made on first use; made here, outside the timings.
    await hubQuery(queryUrl, token, 'SELECT 1', 'application/json');

    // Overhead of one small query. On a shared, loaded machine the load moves within seconds,
    // so the hub and its floors take turns query by query (one sample of each per step), and the
    // hub's cost over each floor is also taken step by step (the median of the differences).
    const roleUrl = new URL(scienceUrl);
    const mydb = running.modules.serviceOf(mydbModule);
    const space = await mydb.spaceOf({ userId: user.id, admin: false, address: null }, 'benchmydb');
    roleUrl.username = space.role;
    roleUrl.password = mydb.passwordOf(user.id);
    // The direct floor: one connection logged in as the user's role (SCRAM), kept.
    const kept = new pg.Client({ connectionString: roleUrl.toString() });
    await kept.connect();
    const steps = {
      hub: () => hubQuery(queryUrl, token, 'SELECT 1', 'application/json'),
      // The hub's own cost of any API request (token, user, JSON), without MyDB.
      hubApi: async () => {
        const res = await fetch(`${running.url}/hub/api/user`, {
          headers: { authorization: `token ${token}` },
        });
        if (res.status !== 200) throw new Error(`GET /user: ${res.status}`);
        await res.text();
      },
      keptRole: async () => {
        await kept.query('SELECT 1');
      },
      freshConnection: async () => {
        const client = new pg.Client({ connectionString: roleUrl.toString() });
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
      },
    };
    const samples: Record<keyof typeof steps, number[]> = {
      hub: [],
      hubApi: [],
      keptRole: [],
      freshConnection: [],
    };
    for (let i = 0; i < SMALL_QUERIES; i++)
      for (const name of Object.keys(steps) as (keyof typeof steps)[]) {
        const started = process.hrtime.bigint();
        await steps[name]();
        samples[name].push(msSince(started));
      }
    await kept.end();
    const hubSmall = summarise(samples.hub);
    const hubApi = summarise(samples.hubApi);
    const keptRole = summarise(samples.keptRole);
    const freshConnection = summarise(samples.freshConnection);
    const stepwise = (floor: number[]) =>
      summarise(samples.hub.map((value, i) => value - floor[i]!));
    const psqlSmall = summarise(
      await timeSequential(Math.min(SMALL_QUERIES, 50), () => psql(scienceUrl, 'SELECT 1')),
    );

    // Streaming 1,000,000 rows; the targets take turns.
    const times: Record<'arrow' | 'csv' | 'psql', number[]> = { arrow: [], csv: [], psql: [] };
    const bytes: Record<'arrow' | 'csv', number> = { arrow: 0, csv: 0 };
    const targets = {
      arrow: async () => {
        const started = process.hrtime.bigint();
        bytes.arrow = await hubQuery(
          queryUrl,
          token,
          BIG_QUERY,
          'application/vnd.apache.arrow.stream',
        );
        return msSince(started);
      },
      csv: async () => {
        const started = process.hrtime.bigint();
        bytes.csv = await hubQuery(queryUrl, token, BIG_QUERY, 'text/csv');
        return msSince(started);
      },
      psql: () => psql(scienceUrl, `COPY (${BIG_QUERY}) TO STDOUT (FORMAT csv, HEADER)`),
    };
    const order = ['psql', 'arrow', 'csv'] as const;
    for (let round = 0; round < ROUNDS; round++)
      for (let i = 0; i < order.length; i++) {
        const name = order[(i + round) % order.length]!;
        times[name].push(await targets[name]());
      }
    const streaming = {
      psqlCopyMs: median(times.psql),
      arrowMs: median(times.arrow),
      csvMs: median(times.csv),
      arrowBytes: bytes.arrow,
      csvBytes: bytes.csv,
      rounds: times,
    };
    // Throughput relative to psql's: psql's time over the hub's (1.0 is as fast as psql).
    const throughput = {
      arrowVsPsql: Math.round((streaming.psqlCopyMs / streaming.arrowMs) * 100) / 100,
      csvVsPsql: Math.round((streaming.psqlCopyMs / streaming.csvMs) * 100) / 100,
    };
    const round2 = (value: number) => Math.round(value * 100) / 100;
    const overhead = {
      hubP50: hubSmall.p50,
      hubP95: hubSmall.p95,
      psqlP50: psqlSmall.p50,
      freshConnectionP50: freshConnection.p50,
      keptRoleP50: keptRole.p50,
      keptRoleP95: keptRole.p95,
      hubApiP50: hubApi.p50,
      addedVsPsqlMs: round2(hubSmall.p50 - psqlSmall.p50),
      addedVsFreshConnectionMs: round2(hubSmall.p50 - freshConnection.p50),
      addedVsKeptRoleMs: round2(hubSmall.p50 - keptRole.p50),
      addedVsKeptRoleP95Ms: round2(hubSmall.p95 - keptRole.p95),
      // What MyDB adds to any authenticated API request's own cost.
      addedVsHubApiMs: round2(hubSmall.p50 - hubApi.p50),
      addedVsHubApiP95Ms: round2(hubSmall.p95 - hubApi.p95),
      // Medians of the step-by-step differences.
      stepwiseVsKeptRoleMs: stepwise(samples.keptRole).p50,
      stepwiseVsKeptRoleP95Ms: stepwise(samples.keptRole).p95,
      stepwiseVsHubApiMs: stepwise(samples.hubApi).p50,
      stepwiseVsHubApiP95Ms: stepwise(samples.hubApi).p95,
    };
    const result = {
      benchmark: 'mydb',
      machine: await machine(),
      smallQueries: SMALL_QUERIES,
      rows: ROWS,
      rounds: ROUNDS,
      overhead: { ...overhead, hub: hubSmall, psql: psqlSmall, freshConnection, keptRole, hubApi },
      streaming,
      throughput,
      targets: {
        overheadMs: OVERHEAD_TARGET_MS,
        throughput: THROUGHPUT_TARGET,
        overheadMet: overhead.addedVsKeptRoleMs < OVERHEAD_TARGET_MS,
        arrowMet: throughput.arrowVsPsql >= THROUGHPUT_TARGET,
        csvMet: throughput.csvVsPsql >= THROUGHPUT_TARGET,
      },
    };
    const path = writeResult('mydb', result);
    console.log(`mydb: ${SMALL_QUERIES} × SELECT 1, then ${ROWS} rows × ${ROUNDS} rounds`);
    console.log(
      `  SELECT 1 p50: hub ${hubSmall.p50} ms (p95 ${hubSmall.p95}), psql -c ${psqlSmall.p50} ms, fresh connection ${freshConnection.p50} ms, kept role connection ${keptRole.p50} ms (p95 ${keptRole.p95}), GET /hub/api/user ${hubApi.p50} ms (p95 ${hubApi.p95}); MyDB adds ${overhead.addedVsHubApiMs} ms to an API request (p95 ${overhead.addedVsHubApiP95Ms}; step by step ${overhead.stepwiseVsHubApiMs}, p95 ${overhead.stepwiseVsHubApiP95Ms}); step by step over the kept role connection ${overhead.stepwiseVsKeptRoleMs} ms (p95 ${overhead.stepwiseVsKeptRoleP95Ms}); hub adds ${overhead.addedVsKeptRoleMs} ms vs the kept role connection (p95 ${overhead.addedVsKeptRoleP95Ms}), ${overhead.addedVsFreshConnectionMs} ms vs a fresh connection, ${overhead.addedVsPsqlMs} ms vs psql (target < ${OVERHEAD_TARGET_MS} ms vs the kept role connection: ${result.targets.overheadMet ? 'met' : 'MISSED'})`,
    );
    console.log(
      `  ${ROWS} rows: psql COPY ${streaming.psqlCopyMs} ms; hub Arrow ${streaming.arrowMs} ms (${throughput.arrowVsPsql}x, ${bytes.arrow} B), CSV ${streaming.csvMs} ms (${throughput.csvVsPsql}x, ${bytes.csv} B); target ≥ ${THROUGHPUT_TARGET}x: Arrow ${result.targets.arrowMet ? 'met' : 'MISSED'}, CSV ${result.targets.csvMet ? 'met' : 'MISSED'}`,
    );
    console.log(`  results: ${path}`);
  } finally {
    await running.close();
    await database.drop();
    const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${database.name}_science WITH (FORCE)`);
      // MyDB roles are server-wide, named after this hub's deployment.
      const { rows } = await admin.query(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE 'orrery\\_' || $1 || '\\_u\\_%'",
        [identity],
      );
      for (const { rolname } of rows)
        await admin.query(`DROP ROLE ${pg.escapeIdentifier(rolname)}`);
    } finally {
      await admin.end();
    }
  }
}

await main();
