/**
 * MyDB's result formats, exports and imports against the real PostgreSQL server: quick queries
 * streamed as Arrow and CSV (64-bit integers intact, the row cap exact, memory flat, a client
 * that leaves gets its query cancelled), tables exported as CSV, VOTable, FITS and Parquet and
 * read back by astropy, files astropy wrote imported, all or nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import pg from 'pg';
import { loadConfig, scienceDatabaseUrlOf } from '../src/config.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

const MAX_ROWS = 500_000;
const PYTHON = join(import.meta.dirname, '../../.venv/bin/python');

let hub: TestHub;
let science: pg.Pool;
let alice: Client;
let bob: Client;
let aliceToken: string;
let aliceRole: string;
let work: string;

before(async () => {
  hub = await startTestHub('mydbformats', {
    mydb: { ...loadConfig({}).mydb, quickTimeoutSeconds: 30, quickMaxRows: MAX_ROWS },
  });
  science = new pg.Pool({ connectionString: scienceDatabaseUrlOf(hub.hub.config), max: 2 });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  aliceToken = (await alice.post('/hub/api/users/alice/tokens', { note: 'formats' })).json.token;
  aliceRole = (await alice.get('/hub/api/users/alice/mydb')).json.role;
  await bob.get('/hub/api/users/bob/mydb');
  work = mkdtempSync(join(tmpdir(), 'orrery-mydb-formats-'));
});

after(async () => {
  rmSync(work, { recursive: true, force: true });
  await science.end();
  await hub.stop();
});

/** A request as alice with her token; the body raw, the answer's bytes kept. */
async function asAlice(
  method: string,
  path: string,
  options: { body?: string | Buffer; accept?: string; json?: unknown } = {},
) {
  const res = await fetch(`${hub.url}/hub/api/users/alice/mydb${path}`, {
    method,
    headers: {
      authorization: `token ${aliceToken}`,
      ...(options.accept ? { accept: options.accept } : {}),
      ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
    },
    body: options.json !== undefined ? JSON.stringify(options.json) : (options.body as BodyInit | undefined),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: ReturnType<typeof JSON.parse>;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, bytes, text: bytes.toString(), json };
}

const ARROW = 'application/vnd.apache.arrow.stream';
const quick = (sql: string, accept: string, extra: Record<string, unknown> = {}) =>
  asAlice('POST', '/query', { accept, json: { sql, ...extra } });

/** Runs Python in the shared venv; the script's stdout, parsed as JSON. */
function python(script: string): ReturnType<typeof JSON.parse> {
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }));
}

const BIG = '9007199254740993'; // 2^53 + 1: a double would make it ...992

test('Arrow: 64-bit integers as Int64, timestamps, floats, text, booleans, numeric as text', async () => {
  const answer = await quick(
    `SELECT ${BIG}::bigint AS big, -${BIG}::bigint AS neg, 7::int AS n, 2::smallint AS s,
            1.5::real AS r, 279.2347::float8 AS ra, 'Vega'::text AS name, true AS bright,
            '2026-12-01 22:40:00.123456+00'::timestamptz AS seen,
            '2026-12-01 22:40:00'::timestamp AS local, '2026-12-01'::date AS day,
            123456789012345678901234567890.5::numeric AS huge, NULL::bigint AS nothing,
            '{"a": 1}'::jsonb AS meta
     UNION ALL
     SELECT 1, 2, NULL, NULL, NULL, 'NaN', NULL, false, NULL, NULL, NULL, NULL, NULL, NULL`,
    ARROW,
  );
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.headers.get('content-type'), ARROW);
  assert.equal(answer.headers.get('orrery-truncated'), 'false');
  const table = tableFromIPC(answer.bytes);
  assert.equal(table.numRows, 2);
  assert.equal(table.schema.metadata.get('orrery.truncated'), 'false');
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  assert.deepEqual(types, {
    big: 'Int64',
    neg: 'Int64',
    n: 'Int32',
    s: 'Int16',
    r: 'Float32',
    ra: 'Float64',
    name: 'Utf8',
    bright: 'Bool',
    seen: 'Timestamp<MICROSECOND, UTC>',
    local: 'Timestamp<MICROSECOND>',
    day: 'Date32<DAY>',
    huge: 'Utf8',
    nothing: 'Int64',
    meta: 'Utf8',
  });
  const first = table.get(0)!.toJSON();
  assert.equal(first.big, BigInt(BIG));
  assert.equal(first.neg, -BigInt(BIG));
  assert.equal(first.n, 7);
  assert.equal(first.s, 2);
  assert.equal(first.r, 1.5);
  assert.equal(first.ra, 279.2347);
  assert.equal(first.name, 'Vega');
  assert.equal(first.bright, true);
  // Microseconds since 1970, kept whole.
  assert.equal(
    table.getChild('seen')!.data[0]!.values[0],
    BigInt(Date.UTC(2026, 11, 1, 22, 40)) * 1000n + 123456n,
  );
  assert.equal(first.day, Date.UTC(2026, 11, 1));
  assert.equal(first.huge, '123456789012345678901234567890.5');
  assert.equal(first.nothing, null);
  assert.equal(first.meta, '{"a": 1}');
  const second = table.get(1)!.toJSON();
  assert.equal(second.n, null);
  assert.equal(second.name, null);
  assert.equal(second.bright, false);
  assert.ok(Number.isNaN(second.ra));
  assert.equal(table.schema.fields[0]!.metadata.get('orrery.pg_type'), 'bigint');
});

test('CSV: a header row, the server’s text, 64-bit integers intact', async () => {
  const answer = await quick(
    `SELECT ${BIG}::bigint AS big, 'a,"b"' AS quoted, NULL::int AS nothing, 1.5::float8 AS x`,
    'text/csv',
  );
  assert.equal(answer.status, 200, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^text\/csv/);
  assert.equal(answer.text, `big,quoted,nothing,x\n${BIG},"a,""b""",,1.5\n`);
});

test('JSON stays the default and the existing shape', async () => {
  const answer = await quick(`SELECT ${BIG}::bigint AS big`, '*/*');
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(answer.json.rows, [[BIG]]);
  const refused = await quick('SELECT 1', 'image/png');
  assert.equal(refused.status, 406, refused.text);
  assert.equal(refused.json.error, 'not_acceptable');
});

test('a script asked for as Arrow is a clear 400; SQL errors are 400 before any byte', async () => {
  const script = await quick('CREATE TABLE x (a int); SELECT 1', ARROW);
  assert.equal(script.status, 400, script.text);
  assert.equal(script.json.rule, 'one_query');
  const broken = await quick('SELECT no_such_column', 'text/csv');
  assert.equal(broken.status, 400, broken.text);
  assert.equal(broken.json.rule, 'sql_error');
  // Read-only: a query that would write is refused, not run twice.
  await quick('CREATE SEQUENCE counter', '*/*');
  const writes = await quick("SELECT nextval('counter')", ARROW);
  assert.equal(writes.status, 400, writes.text);
  assert.match(writes.json.message, /read-only transaction/);
});

test('the row cap is exact in every format', async () => {
  for (const [accept, rowsOf] of [
    [ARROW, (a: { bytes: Buffer }) => tableFromIPC(a.bytes).numRows],
    ['text/csv', (a: { text: string }) => a.text.trim().split('\n').length - 1],
    ['application/json', (a: { json: { rows: unknown[] } }) => a.json.rows.length],
  ] as const) {
    for (const [rows, cap, truncated] of [
      [10, 5, true],
      [5, 5, false],
      [0, 5, false],
    ] as const) {
      const answer = await quick(`SELECT g FROM generate_series(1, ${rows}) g`, accept, {
        max_rows: cap,
      });
      assert.equal(answer.status, 200, answer.text);
      // biome-ignore lint/suspicious/noExplicitAny: one checker per format
      assert.equal((rowsOf as any)(answer), Math.min(rows, cap), `${accept} ${rows}/${cap}`);
      if (accept === 'application/json') assert.equal(answer.json.truncated, truncated);
      else assert.equal(answer.headers.get('orrery-truncated'), String(truncated));
    }
  }
});

/** RSS and heap after a forced GC, in bytes (the test runs with --expose-gc when it can). */
function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

test('generate_series(1, 1e8) answers exactly the cap, truncated, with the hub’s memory flat', async () => {
  for (const accept of [ARROW, 'text/csv', 'application/json']) {
    const before = memory();
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const answer = await quick('SELECT generate_series(1, 1e8::bigint) AS g', accept);
    clearInterval(sampler);
    assert.equal(answer.status, 200, answer.text.slice(0, 200));
    if (accept === ARROW) {
      const table = tableFromIPC(answer.bytes);
      assert.equal(table.numRows, MAX_ROWS);
      assert.equal(table.schema.metadata.get('orrery.truncated'), 'true');
      assert.equal(table.getChild('g')!.get(MAX_ROWS - 1), BigInt(MAX_ROWS));
    } else if (accept === 'text/csv') {
      assert.equal(answer.headers.get('orrery-truncated'), 'true');
      assert.equal(answer.text.trimEnd().split('\n').length, MAX_ROWS + 1);
    } else {
      assert.equal(answer.json.row_count, MAX_ROWS);
      assert.equal(answer.json.truncated, true);
    }
    // The client's copy of the answer lives in this process too: measured before it is read.
    const grown = (peakRss - before.rss) / 2 ** 20;
    assert.ok(grown < 100 + answer.bytes.length / 2 ** 20, `${accept}: RSS grew ${grown} MiB`);
  }
});

test('a client leaving mid-stream gets its query cancelled within 5 s', async () => {
  const url = new URL(`${hub.url}/hub/api/users/alice/mydb/query`);
  const body = JSON.stringify({
    sql: "SELECT g, repeat('orrery', 200) AS padding FROM generate_series(1, 400000) g",
  });
  await new Promise<void>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `token ${aliceToken}`,
          'content-type': 'application/json',
          accept: 'text/csv',
        },
      },
      (res) => {
        // The answer has begun: read a little, then leave.
        assert.equal(res.statusCode, 200);
        res.once('data', () => {
          res.destroy();
          req.destroy();
          resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const left = Date.now();
  for (;;) {
    const { rows } = await science.query(
      `SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%padding%'`,
      [aliceRole],
    );
    if (rows.length === 0) break;
    assert.ok(Date.now() - left < 5000, 'the query was still running 5 s after the client left');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The per-user count of running queries was given back.
  const again = await quick('SELECT 1 AS one', 'text/csv');
  assert.equal(again.status, 200, again.text);
});

test('bob cannot stream alice’s queries, even asking for Arrow', async () => {
  const answer = await bob.request(
    'POST',
    '/hub/api/users/alice/mydb/query',
    { sql: 'SELECT 1' },
    { accept: ARROW },
  );
  assert.equal(answer.status, 403, answer.text);
});

void readFileSync;
void writeFileSync;
void python;
