/**
 * MyDB's result formats, exports and imports against the real PostgreSQL server: quick queries
 * streamed as Arrow and CSV (64-bit integers intact, the row cap exact, memory flat, a client
 * that leaves gets its query cancelled), tables exported as CSV, VOTable, FITS and Parquet and
 * read back by astropy, files astropy wrote imported, all or nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import pg from 'pg';
import { loadConfig, scienceDatabaseUrlOf } from '../src/config.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

const MAX_ROWS = 500_000;
const run = promisify(execFile);
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
    body:
      options.json !== undefined
        ? JSON.stringify(options.json)
        : (options.body as BodyInit | undefined),
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

/**
 * Runs Python in the shared venv; the script's stdout, parsed as JSON. Asynchronously: the hub
 * runs in this process, and a blocked event loop would close its idle sockets under the client.
 */
async function python(script: string): Promise<ReturnType<typeof JSON.parse>> {
  const { stdout } = await run(PYTHON, ['-c', script], { encoding: 'utf8' });
  return JSON.parse(stdout);
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
  // What a subquery cannot hold still runs once, as the statement it is.
  await quick('CREATE TABLE counted (n int)', '*/*');
  const moved = await quick(
    'WITH added AS (INSERT INTO counted VALUES (1), (2) RETURNING n) SELECT count(*) FROM added',
    '*/*',
  );
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(moved.json.rows, [['2']]);
  const into = await quick('SELECT n INTO counted_copy FROM counted', '*/*');
  assert.equal(into.status, 200, into.text);
  const counted = await quick(
    'SELECT (SELECT count(*) FROM counted) AS a, count(*) AS b FROM counted_copy',
    '*/*',
  );
  assert.deepEqual(counted.json.rows, [['2', '2']]);
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

test('streamed queries are in the history like JSON ones: status, rows, duration, error', async () => {
  const marker = `history_${Date.now()}`;
  const arrow = await quick(`SELECT g AS ${marker} FROM generate_series(1, 7) g`, ARROW);
  assert.equal(arrow.status, 200, arrow.text);
  const csv = await quick(`SELECT g AS ${marker} FROM generate_series(1, 3) g`, 'text/csv');
  assert.equal(csv.status, 200, csv.text);
  const broken = await quick(`SELECT ${marker}_nope`, 'text/csv');
  assert.equal(broken.status, 400, broken.text);
  // The position points into the user's SQL, not into the hub's wrapper around it.
  assert.equal(broken.json.position, 8, broken.text);
  const history = await asAlice('GET', `/history?q=${marker}`);
  assert.equal(history.status, 200, history.text);
  const entries = history.json.queries as {
    kind: string;
    status: string;
    row_count: number | null;
    duration_ms: number | null;
    error: string | null;
    sql: string;
  }[];
  assert.equal(history.json.total, 3);
  // Newest first.
  const [failed, fromCsv, fromArrow] = entries;
  assert.deepEqual(
    entries.map((e) => [e.kind, e.status, e.row_count]),
    [
      ['quick', 'failed', null],
      ['quick', 'finished', 3],
      ['quick', 'finished', 7],
    ],
  );
  for (const entry of [fromCsv!, fromArrow!]) {
    assert.equal(typeof entry.duration_ms, 'number');
    assert.equal(entry.error, null);
  }
  assert.match(failed!.error ?? '', /does not exist/);
});

test('Arrow first, JSON second (as JupyterLab asks): scripts, sessions and into answer JSON', async () => {
  const accept = `${ARROW}, application/json;q=0.5`;
  const marker = `second_choice_${Date.now()}`;
  const script = await quick(
    `CREATE TEMP TABLE t AS SELECT 1 AS ${marker}; SELECT * FROM t`,
    accept,
  );
  assert.equal(script.status, 200, script.text);
  assert.match(script.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(script.json.rows, [[1]]);
  // One record in the history for the one query, finished as JSON.
  const history = await asAlice('GET', `/history?q=${marker}`);
  assert.deepEqual(
    history.json.queries.map((e: { status: string; row_count: number }) => [e.status, e.row_count]),
    [['finished', 1]],
  );
  const session = await quick('SELECT 2 AS two', accept, { session: 'second-choice' });
  assert.equal(session.status, 200, session.text);
  assert.deepEqual(session.json.rows, [[2]]);
  const into = await quick('SELECT 3 AS three', accept, { into: `t_${marker}` });
  assert.equal(into.status, 200, into.text);
  assert.equal(into.json.row_count, 1);
  await quick(`DROP TABLE t_${marker}`, 'application/json');
  await asAlice('DELETE', '/sessions/second-choice');
  // Arrow alone: a script is still a clear 400, never an answer the client did not ask for.
  const only = await quick('SELECT 1; SELECT 2', ARROW);
  assert.equal(only.status, 400, only.text);
  assert.equal(only.json.rule, 'one_query');
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

/** alice's table `stars`, with units and descriptions in its column comments. */
async function makeStars(): Promise<void> {
  const made = await quick(
    `CREATE TABLE stars (id bigint, ra double precision, mag real, n integer, s smallint,
                         name text, bright boolean, seen timestamptz, day date, huge numeric);
     COMMENT ON COLUMN stars.ra IS '[deg] Right ascension (J2000)';
     COMMENT ON COLUMN stars.mag IS '[mag] Visual magnitude';
     COMMENT ON COLUMN stars.name IS 'Proper name';
     INSERT INTO stars VALUES
       (${BIG}, 279.2347, 0.03, 7, 1, 'Vega', true, '2026-12-01 22:40:00.123456+00', '2026-12-01', 1.5),
       (-${BIG}, 101.2872, -1.46, NULL, NULL, 'Sirius, α CMa', false, NULL, NULL, NULL),
       (3, NULL, NULL, 9, 3, NULL, NULL, '2000-01-01 00:00:00+00', '1999-12-31', 12345678901234567890.25)`,
    'application/json',
  );
  assert.equal(made.status, 200, made.text);
}

test('export: CSV, VOTable, FITS and Parquet, read back by astropy and pyarrow', async () => {
  await makeStars();
  const csv = await asAlice('GET', '/tables/stars/export?format=csv');
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="stars.csv"/);
  assert.equal(csv.text.split('\n')[0], 'id,ra,mag,n,s,name,bright,seen,day,huge');
  assert.ok(csv.text.includes(`\n${BIG},279.2347,`));

  const files: Record<string, string> = {};
  for (const format of ['votable', 'fits', 'parquet']) {
    const answer = await asAlice('GET', `/tables/stars/export?format=${format}`);
    assert.equal(answer.status, 200, answer.text.slice(0, 300));
    files[format] = join(work, `stars.${format}`);
    writeFileSync(files[format]!, answer.bytes);
  }
  const read = await python(`
import json, warnings
warnings.simplefilter('ignore')
from astropy.table import Table
import pyarrow.parquet as pq
out = {}
for fmt, path in [('votable', ${JSON.stringify(files.votable)}), ('fits', ${JSON.stringify(files.fits)})]:
    t = Table.read(path, format=fmt)
    out[fmt] = {
        'names': t.colnames,
        'id': [str(int(v)) for v in t['id']],
        'id_dtype': str(t['id'].dtype),
        'ra_unit': str(t['ra'].unit),
        'mag_unit': str(t['mag'].unit),
        'ra_desc': t['ra'].description if fmt == 'votable' else None,
        'name0': str(t['name'][0]),
        'bright0': bool(t['bright'][0]),
        'seen0': str(t['seen'][0]),
        'huge2': str(t['huge'][2]),
        'rows': len(t),
    }
p = pq.read_table(${JSON.stringify(files.parquet)})
out['parquet'] = {
    'names': p.column_names,
    'id': [str(v) for v in p.column('id').to_pylist()],
    'id_type': str(p.schema.field('id').type),
    'seen_type': str(p.schema.field('seen').type),
    'huge2': p.column('huge').to_pylist()[2],
    'rows': p.num_rows,
}
print(json.dumps(out))
`);
  const names = ['id', 'ra', 'mag', 'n', 's', 'name', 'bright', 'seen', 'day', 'huge'];
  const ids = [BIG, `-${BIG}`, '3'];
  for (const format of ['votable', 'fits'] as const) {
    const got = read[format];
    assert.deepEqual(got.names, names, format);
    assert.deepEqual(got.id, ids, format);
    assert.match(got.id_dtype, /^(int64|>i8)$/, format);
    assert.equal(got.ra_unit, 'deg', format);
    assert.equal(got.mag_unit, 'mag', format);
    assert.equal(got.name0, 'Vega', format);
    assert.equal(got.bright0, true, format);
    assert.equal(got.seen0, '2026-12-01T22:40:00.123456Z', format);
    assert.equal(got.huge2, '12345678901234567890.25', format);
    assert.equal(got.rows, 3, format);
  }
  assert.equal(read.votable.ra_desc, 'Right ascension (J2000)');
  assert.deepEqual(read.parquet.names, names);
  assert.deepEqual(read.parquet.id, ids);
  assert.equal(read.parquet.id_type, 'int64');
  assert.equal(read.parquet.seen_type, 'timestamp[us, tz=UTC]');
  assert.equal(read.parquet.huge2, '12345678901234567890.25');

  // The FITS header as the standard has it: big-endian 64-bit integers, units, TNULL.
  const fits = readFileSync(files.fits!);
  assert.equal(fits.length % 2880, 0);
  const header = fits.toString('latin1', 2880, 5760);
  assert.match(header, /XTENSION= 'BINTABLE'/);
  assert.match(header, /TFORM1 {2}= 'K {7}'/);
  assert.match(header, /TUNIT2 {2}= 'deg {5}'/);
  assert.match(header, /NAXIS2 {2}=\s+3/);
});

test('export refuses what is not alice’s own table', async () => {
  const missing = await asAlice('GET', '/tables/no_such_table/export?format=csv');
  assert.equal(missing.status, 404, missing.text);
  const badFormat = await asAlice('GET', '/tables/stars/export?format=xlsx');
  assert.equal(badFormat.status, 400, badFormat.text);
  const bobs = await bob.get('/hub/api/users/alice/mydb/tables/stars/export?format=csv');
  assert.equal(bobs.status, 403, bobs.text);
  // A name is a name, never SQL.
  const injected = await asAlice('GET', '/tables/stars;DROP%20TABLE%20stars/export?format=csv');
  assert.equal(injected.status, 400, injected.text);
});

test('import CSV: types inferred, 64-bit integers intact, 201 with the columns', async () => {
  const file = `id,ra,name,bright,seen,day,empty\n${BIG},279.2347,Vega,true,2026-12-01T22:40:00.5Z,2026-12-01,\n-5,1e-3,"Sirius, α CMa",f,2026-12-02 01:00:00+00,2026-12-02,\n`;
  const answer = await asAlice('POST', '/tables/imported/import?format=csv', { body: file });
  assert.equal(answer.status, 201, answer.text);
  assert.deepEqual(answer.json, {
    table: 'imported',
    row_count: 2,
    columns: [
      { name: 'id', type: 'bigint' },
      { name: 'ra', type: 'double precision' },
      { name: 'name', type: 'text' },
      { name: 'bright', type: 'boolean' },
      { name: 'seen', type: 'timestamp with time zone' },
      { name: 'day', type: 'date' },
      { name: 'empty', type: 'text' },
    ],
  });
  const read = await quick('SELECT id::text, name, bright FROM imported ORDER BY id DESC', '*/*');
  assert.deepEqual(read.json.rows, [
    [BIG, 'Vega', true],
    ['-5', 'Sirius, α CMa', false],
  ]);
  const { rows } = await science.query(
    "SELECT tableowner FROM pg_tables WHERE schemaname = 'mydb_alice' AND tablename = 'imported'",
  );
  assert.deepEqual(rows, [{ tableowner: aliceRole }]);
  // Again: the table exists.
  const twice = await asAlice('POST', '/tables/imported/import?format=csv', { body: file });
  assert.equal(twice.status, 409, twice.text);
});

test('import: a malformed file is a 400 naming its line or row, and leaves no table', async () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['csv', 'a,b\n1,2\n3,4,5\n', /line 3/],
    ['csv', 'a,b\n1,"unterminated\n', /unterminated CSV quoted field|line/],
    ['csv', 'a,a\n1,2\n', /appears twice/],
    ['csv', '', /empty/],
    [
      'votable',
      '<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR><TR><TD>oops</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>',
      /row 2/,
    ],
    [
      'votable',
      '<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD>',
      /malformed|ended|TABLEDATA/,
    ],
    ['fits', Buffer.from('not a fits file'.padEnd(2880)), /SIMPLE/],
  ];
  for (const [format, body, message] of cases) {
    const answer = await asAlice('POST', `/tables/broken/import?format=${format}`, { body });
    assert.equal(answer.status, 400, `${format} ${String(body).slice(0, 40)}: ${answer.text}`);
    assert.match(answer.json.message, message);
    const { rows } = await science.query("SELECT to_regclass('mydb_alice.broken') AS t");
    assert.equal(rows[0].t, null, 'a failed import left a table');
  }
  // A truncated FITS file (astropy's, cut mid-row).
  const path = join(work, 'cut.fits');
  await python(`
from astropy.table import Table
Table({'x': list(range(1000))}).write(${JSON.stringify(path)}, overwrite=True)
print('{}')`);
  const cut = readFileSync(path).subarray(0, 2880 * 2 + 3000);
  const answer = await asAlice('POST', '/tables/broken/import?format=fits', { body: cut });
  assert.equal(answer.status, 400, answer.text);
  assert.match(answer.json.message, /ended at row 376 of 1000/);
});

test('import VOTable and FITS files astropy wrote; types, units and descriptions kept', async () => {
  const votable = join(work, 'astropy.vot');
  const fits = join(work, 'astropy.fits');
  await python(`
import numpy as np
from astropy.table import Table, MaskedColumn
t = Table()
t['id'] = np.array([${BIG}, -${BIG}, 7], dtype=np.int64)
t['ra'] = np.array([279.2347, 101.2872, 0.5]); t['ra'].unit = 'deg'; t['ra'].description = 'Right ascension'
t['mag'] = np.array([0.03, -1.46, 9.0], dtype=np.float32); t['mag'].unit = 'mag'
t['n'] = MaskedColumn([1, 2, 3], mask=[False, True, False], dtype=np.int32)
t['name'] = ['Vega', 'Sirius', 'Naïve & <odd>']
t['flag'] = [True, False, True]
t.write(${JSON.stringify(votable)}, format='votable', overwrite=True)
# Unsigned integers are FITS's TZERO convention (VOTable has none of 16 bits).
t['u16'] = np.array([0, 65535, 7], dtype=np.uint16)
t['name'] = ['Vega', 'Sirius', 'Naive & <odd>']  # astropy writes FITS strings as ASCII
t.write(${JSON.stringify(fits)}, format='fits', overwrite=True)
print('{}')`);
  for (const [format, path] of [
    ['votable', votable],
    ['fits', fits],
  ] as const) {
    const table = `from_${format}`;
    const answer = await asAlice('POST', `/tables/${table}/import?format=${format}`, {
      body: readFileSync(path),
    });
    assert.equal(answer.status, 201, answer.text);
    const types = Object.fromEntries(
      answer.json.columns.map((c: { name: string; type: string }) => [c.name, c.type]),
    );
    assert.equal(types.id, 'bigint', format);
    assert.equal(types.ra, 'double precision', format);
    assert.equal(types.mag, 'real', format);
    assert.equal(types.flag, 'boolean', format);
    assert.equal(answer.json.row_count, 3);
    const read = await quick(
      `SELECT id::text, ra, n, name, flag FROM ${table} ORDER BY ra DESC`,
      '*/*',
    );
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.json.rows, [
      [BIG, 279.2347, 1, 'Vega', true],
      [`-${BIG}`, 101.2872, null, 'Sirius', false],
      ['7', 0.5, 3, format === 'fits' ? 'Naive & <odd>' : 'Naïve & <odd>', true],
    ]);
    if (format === 'fits') {
      assert.equal(types.u16, 'integer');
      const unsigned = await quick(`SELECT u16 FROM ${table} ORDER BY ra DESC`, '*/*');
      assert.deepEqual(unsigned.json.rows, [[0], [65535], [7]]);
    }
    const { rows } = await science.query(
      `SELECT col_description($1::regclass, 2) AS ra, col_description($1::regclass, 3) AS mag`,
      [`mydb_alice.${table}`],
    );
    assert.equal(rows[0].mag, '[mag]');
    assert.match(rows[0].ra, /^\[deg\]/);
    if (format === 'votable') assert.equal(rows[0].ra, '[deg] Right ascension');
  }
});

test('import VOTable BINARY and BINARY2 and FITS vector columns astropy wrote', async () => {
  const paths = {
    binary: join(work, 'binary.vot'),
    binary2: join(work, 'binary2.vot'),
    fits: join(work, 'vectors.fits'),
  };
  await python(`
import numpy as np
from astropy.table import Table, MaskedColumn
from astropy.io.votable import from_table, writeto
t = Table()
t['id'] = np.array([${BIG}, -${BIG}, 7], dtype=np.int64)
t['ra'] = np.array([279.2347, 101.2872, 0.5]); t['ra'].unit = 'deg'; t['ra'].description = 'Right ascension'
t['n'] = MaskedColumn([1, 2, 3], mask=[False, True, False], dtype=np.int32)
t['name'] = ['Vega', 'Sirius', 'Naïve & <odd>']
t['flag'] = [True, False, True]
t['flux'] = np.array([[1.5, 2.5, 3.5], [4, 5, 6], [np.nan, 0, -1]]); t['flux'].unit = 'Jy'
t['hits'] = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int16)
paths = ${JSON.stringify(paths)}
for form in ('binary', 'binary2'):
    vot = from_table(t)
    vot.get_first_table().format = form
    # BINARY has no null flags: a masked integer needs its VALUES null.
    if form == 'binary': vot.get_first_table().get_field_by_id('n').values.null = -999
    writeto(vot, paths[form])
t['name'] = ['Vega', 'Sirius', 'Naive & <odd>']  # astropy writes FITS strings as ASCII
t.write(${JSON.stringify(paths.fits)}, format='fits', overwrite=True)
print('{}')`);
  for (const [format, path] of Object.entries(paths)) {
    const bytes = readFileSync(path);
    if (format !== 'fits')
      assert.match(bytes.toString('latin1'), new RegExp(`<${format.toUpperCase()}>`), format);
    const table = `vectors_${format}`;
    const answer = await asAlice(
      'POST',
      `/tables/${table}/import?format=${format === 'fits' ? 'fits' : 'votable'}`,
      { body: bytes },
    );
    assert.equal(answer.status, 201, `${format}: ${answer.text}`);
    const types = Object.fromEntries(
      answer.json.columns.map((c: { name: string; type: string }) => [c.name, c.type]),
    );
    assert.equal(types.id, 'bigint', format);
    assert.equal(types.flux, 'double precision[]', format);
    assert.equal(types.hits, 'smallint[]', format);
    const read = await quick(
      `SELECT id::text, ra, n, name, flag, flux::text, hits::text, flux[3] AS third
         FROM ${table} ORDER BY ra DESC`,
      '*/*',
    );
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(
      read.json.rows,
      [
        [BIG, 279.2347, 1, 'Vega', true, '{1.5,2.5,3.5}', '{1,2}', 3.5],
        [`-${BIG}`, 101.2872, null, 'Sirius', false, '{4,5,6}', '{3,4}', 6],
        ['7', 0.5, 3, 'Naïve & <odd>', true, '{NaN,0,-1}', '{5,6}', -1],
      ].map((row) =>
        format === 'fits' && row[3] === 'Naïve & <odd>'
          ? [...row.slice(0, 3), 'Naive & <odd>', ...row.slice(4)]
          : row,
      ),
      format,
    );
    const { rows } = await science.query(
      'SELECT col_description($1::regclass, 2) AS ra, col_description($1::regclass, 6) AS flux',
      [`mydb_alice.${table}`],
    );
    assert.match(rows[0].ra, /^\[deg\]/, format);
    assert.match(rows[0].flux, /^\[Jy\]/, format);
  }
});

test('export: array columns as FITS vectors, as long as the longest, read back by astropy', async () => {
  const made = await quick(
    `CREATE TABLE spectra AS
       SELECT 1 AS id, ARRAY[1.5, 2.5]::float8[] AS xs, ARRAY[1, NULL, 3]::int[] AS ns,
              ARRAY[${BIG}]::bigint[] AS big, ARRAY[true, false] AS ok
       UNION ALL SELECT 2, ARRAY[7]::float8[], NULL, ARRAY[]::bigint[], NULL`,
    'application/json',
  );
  assert.equal(made.status, 200, made.text);
  const exported = await asAlice('GET', '/tables/spectra/export?format=fits');
  assert.equal(exported.status, 200, exported.text);
  const path = join(work, 'spectra.fits');
  writeFileSync(path, exported.bytes);
  const read = await python(`
import json
import numpy as np
from astropy.io import fits
from astropy.table import Table
t = Table.read(${JSON.stringify(path)}, format='fits')
h = fits.getheader(${JSON.stringify(path)}, 1)
def vector(column, row):
    out = []
    col = np.ma.asarray(t[column])
    for v, m in zip(np.asarray(col.data[row]).ravel(), np.asarray(np.ma.getmaskarray(col)[row]).ravel()):
        if m:
            out.append(None)
            continue
        f = float(v) if column == 'xs' else (bool(v) if column == 'ok' else int(v))
        if column == 'big': f = str(f)
        out.append(None if column == 'xs' and f != f else f)
    return out
print(json.dumps({
  'tforms': [h['TFORM%d' % i] for i in range(1, 6)],
  'xs': [vector('xs', 0), vector('xs', 1)],
  'ns': [vector('ns', 0), vector('ns', 1)],
  'big': [vector('big', 0), vector('big', 1)],
  'ok': [vector('ok', 0)],
}))`);
  assert.deepEqual(read.tforms, ['J', '2D', '3J', '1K', '2L']);
  assert.deepEqual(read.xs, [
    [1.5, 2.5],
    [7, null],
  ]);
  assert.deepEqual(read.ns, [
    [1, null, 3],
    [null, null, null],
  ]);
  assert.deepEqual(read.big, [[BIG], [null]]);
  assert.deepEqual(read.ok, [[true, false]]);
});

test('a round trip: export as FITS and VOTable, import what was exported', async () => {
  for (const format of ['fits', 'votable']) {
    const exported = await asAlice('GET', `/tables/stars/export?format=${format}`);
    assert.equal(exported.status, 200);
    const imported = await asAlice('POST', `/tables/stars_${format}/import?format=${format}`, {
      body: exported.bytes,
    });
    assert.equal(imported.status, 201, imported.text);
    const read = await quick(`SELECT id::text, name FROM stars_${format} ORDER BY id`, '*/*');
    assert.deepEqual(
      read.json.rows,
      [
        [`-${BIG}`, 'Sirius, α CMa'],
        ['3', null],
        [BIG, 'Vega'],
      ].map(([id, name]) => (format === 'fits' && name === null ? [id, ''] : [id, name])),
    );
  }
});

test('drop a table; 404 for one that is not there; bob cannot', async () => {
  await quick('CREATE TABLE doomed (a int)', '*/*');
  const bobs = await bob.delete('/hub/api/users/alice/mydb/tables/doomed');
  assert.equal(bobs.status, 403, bobs.text);
  const dropped = await asAlice('DELETE', '/tables/doomed');
  assert.equal(dropped.status, 204, dropped.text);
  const again = await asAlice('DELETE', '/tables/doomed');
  assert.equal(again.status, 404, again.text);
});

test('an import larger than the quota left is refused with 413 and leaves no table', async () => {
  const hubDb = new pg.Pool({ connectionString: hub.databaseUrl, max: 1 });
  const { rows: users } = await hubDb.query("SELECT id FROM users WHERE name = 'alice'");
  const quota = (await alice.get('/hub/api/users/alice/mydb')).json.quota_bytes;
  await hubDb.query('UPDATE mydb_spaces SET quota_bytes = $2 WHERE user_id = $1', [
    users[0].id,
    3_000_000,
  ]);
  try {
    const space = (await alice.get('/hub/api/users/alice/mydb')).json;
    const left = space.quota_bytes - space.used_bytes;
    const line = `${'x'.repeat(1023)}\n`;
    const big = Buffer.from(`a\n${line.repeat(Math.ceil(left / line.length) + 10)}`);
    const answer = await asAlice('POST', '/tables/huge/import?format=csv', { body: big });
    assert.equal(answer.status, 413, answer.text.slice(0, 200));
    const { rows } = await science.query("SELECT to_regclass('mydb_alice.huge') AS t");
    assert.equal(rows[0].t, null);
  } finally {
    await hubDb.query('UPDATE mydb_spaces SET quota_bytes = $2 WHERE user_id = $1', [
      users[0].id,
      quota,
    ]);
    await hubDb.end();
    // Changed behind the hub's back: a script's grant sync copies the quota to the statements'
    // own check (quotaGuard.ts) again.
    assert.equal((await quick('SELECT 1; SELECT 2', 'application/json')).status, 200);
  }
});

test('a third export at once is refused with 429; the two held by slow readers are not harmed', async () => {
  const made = await quick(
    "CREATE TABLE wide AS SELECT g, repeat('x', 1000) AS padding FROM generate_series(1, 30000) g",
    '*/*',
  );
  assert.equal(made.status, 200, made.text);
  // Two exports whose client reads nothing after the first chunk: backpressure holds them open.
  const held: http.ClientRequest[] = [];
  for (let i = 0; i < 2; i++)
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        `${hub.url}/hub/api/users/alice/mydb/tables/wide/export?format=csv`,
        { headers: { authorization: `token ${aliceToken}` } },
        (res) => {
          assert.equal(res.statusCode, 200);
          res.once('data', () => {
            res.pause();
            resolve();
          });
        },
      );
      req.on('error', reject);
      held.push(req);
    });
  const third = await asAlice('GET', '/tables/wide/export?format=csv');
  assert.equal(third.status, 429, third.text.slice(0, 200));
  assert.equal(third.json.rule, 'table_transfers_running');
  for (const req of held) req.destroy();
  // Once they are gone, exports run again (their backends cancelled).
  const deadline = Date.now() + 5000;
  for (;;) {
    const again = await asAlice('GET', '/tables/stars/export?format=csv');
    if (again.status === 200) break;
    assert.ok(Date.now() < deadline, `still refused: ${again.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await asAlice('DELETE', '/tables/wide');
});
