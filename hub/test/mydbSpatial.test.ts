/**
 * MyDB's spatial functions against the real PostgreSQL server, called by users' own roles through
 * quick queries: cross-match and cone search give exactly the pairs and rows a brute-force
 * great-circle computation gives (haversine on every pair), by the Zones algorithm and by q3c,
 * on points crowded around ra 0/360 and both poles; on catalogs (zone indexes made at load) and
 * on a user's own table (indexed by the helper they call); another user's table stays out of
 * reach, and bad arguments are SQL errors (400), never 500s.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadCatalog, standardCatalogs } from '../src/mydb/catalogLoader.ts';
import { mydbModule } from '../src/mydb/module.ts';
import type { MydbService } from '../src/mydb/service.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

const REAL_DATA = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '.orrery',
  'data',
  'kstars',
);

let hub: TestHub;
let db: pg.Pool;
let mydb: MydbService;
let alice: Client;
let bob: Client;
let aliceRole: string;
let bobRole: string;
let dir: string;
let q3c: boolean;

before(async () => {
  hub = await startTestHub('spatial');
  db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  mydb = hub.modules.serviceOf(mydbModule);
  dir = mkdtempSync(path.join(tmpdir(), 'orrery-spatial-'));
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  aliceRole = (await alice.get('/hub/api/users/alice/mydb')).json.role;
  bobRole = (await bob.get('/hub/api/users/bob/mydb')).json.role;
  const installed = await science("SELECT 1 FROM pg_extension WHERE extname = 'q3c'");
  q3c = installed.rowCount === 1;
  // CI installs q3c (scripts/provision-q3c.sh); elsewhere the q3c half is skipped.
  if (!q3c && process.env.CI === 'true') throw new Error('q3c is not installed');
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.end();
  await hub.stop();
});

const science = (sql: string, values: unknown[] = []) => mydb.science.pool.query(sql, values);

async function sql(client: Client, name: string, text: string) {
  const answer = await client.post(`/hub/api/users/${name}/mydb/query`, { sql: text });
  assert.equal(answer.status, 200, answer.text);
  return answer.json as { rows: unknown[][]; columns: { name: string }[] };
}

/** The caller's SQL is refused by PostgreSQL (400 sql_error) with a message matching `pattern`. */
async function refused(client: Client, name: string, text: string, pattern: RegExp) {
  const answer = await client.post(`/hub/api/users/${name}/mydb/query`, { sql: text });
  assert.equal(answer.status, 400, answer.text);
  assert.equal(answer.json.rule, 'sql_error');
  assert.match(answer.json.message, pattern);
}

const RAD = Math.PI / 180;

/** Great-circle distance in degrees, haversine formula: the brute force every answer is held to. */
function distance(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const a =
    Math.sin(((dec2 - dec1) * RAD) / 2) ** 2 +
    Math.cos(dec1 * RAD) * Math.cos(dec2 * RAD) * Math.sin(((ra2 - ra1) * RAD) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(a)))) / RAD;
}

type Point = { id: number; ra: number; dec: number };

/** Pairs within `radius`, by every pair; fails if one sits so near the edge that rounding could decide it. */
function bruteForcePairs(a: Point[], b: Point[], radius: number): Set<string> {
  const pairs = new Set<string>();
  for (const p of a)
    for (const q of b) {
      const d = distance(p.ra, p.dec, q.ra, q.dec);
      assert.ok(Math.abs(d - radius) > 1e-9, `pair ${p.id}/${q.id} is on the edge`);
      if (d <= radius) pairs.add(`${p.id}/${q.id}`);
    }
  return pairs;
}

const pairsOf = (rows: unknown[][]) => new Set(rows.map(([a, b]) => `${a}/${b}`));
const idsOf = (rows: unknown[][]) => new Set(rows.map(([id]) => Number(id)));

/**
 * Points drawn with a fixed seed: a third spread over the sphere, a third in a band across ra
 * 0/360, a third near the poles, where the ra window widens to the whole circle.
 */
function pointsSql(table: string, seed: number): string {
  return `SELECT setseed(${seed});
    CREATE TABLE ${table} (id integer PRIMARY KEY, ra double precision NOT NULL, dec double precision NOT NULL);
    INSERT INTO ${table}
      SELECT g, random() * 360, degrees(asin(2 * random() - 1)) FROM generate_series(1, 500) g;
    INSERT INTO ${table}
      SELECT g, ((random() * 3 - 1.5) + 360)::numeric % 360, random() * 6 - 3 FROM generate_series(501, 1000) g;
    INSERT INTO ${table}
      SELECT g, random() * 360, (CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END) * (88.5 + random() * 1.5)
        FROM generate_series(1001, 1500) g;
    SELECT count(*) FROM ${table}`;
}

async function points(table: string): Promise<Point[]> {
  const { rows } = await sql(alice, 'alice', `SELECT id, ra, dec FROM ${table} ORDER BY id`);
  return rows.map(([id, ra, dec]) => ({ id: Number(id), ra: Number(ra), dec: Number(dec) }));
}

const methods = () => (q3c ? ['zones', 'q3c', 'auto'] : ['zones', 'auto']);

test('cross-match on a user’s own tables equals the brute-force pairs, by zones and by q3c', async () => {
  await sql(alice, 'alice', pointsSql('pts_a', 0.25));
  await sql(alice, 'alice', pointsSql('pts_b', 0.75));
  const a = await points('pts_a');
  const b = await points('pts_b');
  assert.ok(a.some((p) => p.ra > 359) && a.some((p) => p.ra < 1), 'points on both sides of ra 0');

  // Without any index the answer is the same (only slower).
  const radius = 0.3;
  const expected = bruteForcePairs(a, b, radius);
  assert.ok(expected.size > 2000, `${expected.size} pairs`);
  const crossMatch = (method: string) =>
    `SELECT (m.a).id, (m.b).id, m.distance_arcsec FROM orrery.cross_match(NULL::pts_a, NULL::pts_b, ${radius}, '${method}') m`;
  assert.deepEqual(pairsOf((await sql(alice, 'alice', crossMatch('zones'))).rows), expected);

  const made = await sql(
    alice,
    'alice',
    "SELECT orrery.create_zone_index('pts_a'), orrery.create_zone_index('pts_b')",
  );
  assert.match(String(made.rows[0]![0]), q3c ? /^pts_a_zone, pts_a_q3c$/ : /^pts_a_zone$/);
  for (const method of methods()) {
    const answer = await sql(alice, 'alice', crossMatch(method));
    assert.deepEqual(pairsOf(answer.rows), expected, method);
    // The distance answered is the great-circle one, in arcseconds.
    for (const [ida, idb, arcsec] of answer.rows.slice(0, 50)) {
      const p = a[Number(ida) - 1]!;
      const q = b[Number(idb) - 1]!;
      assert.ok(Math.abs(Number(arcsec) - distance(p.ra, p.dec, q.ra, q.dec) * 3600) < 1e-6);
    }
  }
  // The order of the arguments is the order of the answer's columns, whichever side is probed.
  const reversed = await sql(
    alice,
    'alice',
    `SELECT (m.b).id, (m.a).id FROM orrery.cross_match(NULL::pts_b, NULL::pts_a, ${radius}) m`,
  );
  assert.deepEqual(pairsOf(reversed.rows), expected);
  // A second radius, smaller than a zone.
  const small = bruteForcePairs(a, b, 0.01);
  assert.deepEqual(
    pairsOf(
      (
        await sql(
          alice,
          'alice',
          'SELECT (m.a).id, (m.b).id FROM orrery.cross_match(NULL::pts_a, NULL::pts_b, 0.01) m',
        )
      ).rows,
    ),
    small,
  );
});

test('cone search across ra 0/360 and around both poles equals the brute-force rows', async () => {
  const a = await points('pts_a');
  const cones: [number, number, number][] = [
    [359.8, 1, 0.7], // reaches past ra 0
    [0.1, -2, 0.9], // reaches below ra 0 to 359.x
    [360.2, 0, 0.5], // a centre given past 360 is the same as 0.2
    [45, 89.7, 0.5], // holds the north pole
    [200, -89.9, 0.2], // holds the south pole
    [123, -89.2, 0.7], // touches the pole's neighbourhood from the side
    [10, 30, 10], // the largest radius allowed
  ];
  for (const [ra, dec, radius] of cones) {
    const expected = new Set(
      a.filter((p) => distance(ra, dec, p.ra, p.dec) <= radius).map((p) => p.id),
    );
    assert.ok(expected.size > 0 || radius === 10, `cone ${ra},${dec},${radius} is not empty`);
    for (const method of methods()) {
      const answer = await sql(
        alice,
        'alice',
        `SELECT id FROM orrery.cone_search(NULL::pts_a, ${ra}, ${dec}, ${radius}, '${method}')`,
      );
      assert.deepEqual(idsOf(answer.rows), expected, `${method} ${ra},${dec},${radius}`);
    }
  }
  // Whole rows come back, with the table's own columns.
  const rows = await sql(
    alice,
    'alice',
    'SELECT * FROM orrery.cone_search(NULL::pts_a, 0, 0, 1) ORDER BY id LIMIT 1',
  );
  assert.deepEqual(
    rows.columns.map((c) => c.name),
    ['id', 'ra', 'dec'],
  );
});

test('the zone index is what the search uses (index scans on (zone, ra))', async () => {
  const plan = await sql(
    alice,
    'alice',
    `EXPLAIN SELECT * FROM pts_a WHERE orrery.zone_of(dec) = 5400 AND ra BETWEEN 10 AND 11`,
  );
  assert.match(plan.rows.map((r) => r[0]).join('\n'), /Index Scan using pts_a_zone/);
});

test('another user’s table, the orrery schema and catalogs are not theirs to change', async () => {
  await refused(
    bob,
    'bob',
    'SELECT * FROM orrery.cone_search(NULL::mydb_alice.pts_a, 0, 0, 1)',
    /permission denied for schema mydb_alice/,
  );
  await refused(
    bob,
    'bob',
    'CREATE FUNCTION orrery.zone_of(x integer) RETURNS integer LANGUAGE sql RETURN 0',
    /permission denied for schema orrery/,
  );
  await refused(
    bob,
    'bob',
    'CREATE OR REPLACE FUNCTION orrery.cone_search(x integer) RETURNS integer LANGUAGE sql RETURN 0',
    /permission denied for schema orrery/,
  );
  // Bob may not index alice's table through the helper either.
  await refused(
    bob,
    'bob',
    "SELECT orrery.create_zone_index('mydb_alice.pts_a')",
    /permission denied for schema mydb_alice/,
  );
  // The functions run as their caller, not as their owner.
  const definer = await science(
    "SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'orrery' AND p.prosecdef",
  );
  assert.equal(definer.rows[0].n, 0);
  assert.notEqual(aliceRole, bobRole);
});

test('bad arguments are SQL errors with a reason', async () => {
  const cases: [string, RegExp][] = [
    ['SELECT * FROM orrery.cone_search(NULL::pts_a, 0, 0, 0)', /radius must be within/],
    ['SELECT * FROM orrery.cone_search(NULL::pts_a, 0, 0, 11)', /radius must be within/],
    ['SELECT * FROM orrery.cone_search(NULL::pts_a, 0, 95, 1)', /dec must be within/],
    ["SELECT * FROM orrery.cone_search(NULL::pts_a, 'NaN', 0, 1)", /must be numbers/],
    ['SELECT * FROM orrery.cone_search(NULL::integer, 0, 0, 1)', /pass a row of a table/],
    ["SELECT * FROM orrery.cone_search(NULL::pts_a, 0, 0, 1, 'htm')", /method must be/],
    [
      'CREATE TABLE nopos (id integer); SELECT * FROM orrery.cone_search(NULL::nopos, 0, 0, 1)',
      /has no columns ra and dec/,
    ],
    ['SELECT * FROM orrery.cross_match(NULL::pts_a, NULL::pts_b, -1)', /radius must be within/],
  ];
  for (const [text, pattern] of cases) await refused(alice, 'alice', text, pattern);
});

// Lines of stars.dat: Sirius and a faint star 0.2' from it (made up), Rigel.
const STARS_SAMPLE = `064508.92 -164258.0 -000546.0-001223.100379.2 -1.4400.01A0 1            , alp CMa, Sirius
064509.50 -164250.0 +000000.0+000000.000000.0 09.0000.01A0 0
051432.27 -081205.9 +000001.9-000000.600004.2 00.18-0.03B8 0 0.05   2.07, bet Ori, Rigel
`;

test('a catalog gets its zone index at load; a user cone-searches and cross-matches it with their own table', async () => {
  writeFileSync(path.join(dir, 'stars.dat'), STARS_SAMPLE);
  await loadCatalog(db, mydb.science, {
    name: 'spatial_stars',
    format: 'stars',
    file: path.join(dir, 'stars.dat'),
    description: 'Three stars',
    public: true,
  });
  const indexes = await science(
    "SELECT indexname FROM pg_indexes WHERE schemaname = 'catalog_spatial_stars' ORDER BY indexname",
  );
  const names = indexes.rows.map((r) => r.indexname);
  assert.ok(names.includes('stars_zone'), names.join());
  if (q3c) assert.ok(names.includes('stars_q3c'), names.join());
  // Grants on catalog schemas follow RACM (docs/mydb.md); here the test grants what reading needs.
  await science(
    `GRANT USAGE ON SCHEMA catalog_spatial_stars TO ${pg.escapeIdentifier(aliceRole)};
     GRANT SELECT ON ALL TABLES IN SCHEMA catalog_spatial_stars TO ${pg.escapeIdentifier(aliceRole)}`,
  );
  const near = await sql(
    alice,
    'alice',
    `SELECT name FROM orrery.cone_search(NULL::catalog_spatial_stars.stars, 101.287, -16.716, 0.1) ORDER BY mag`,
  );
  assert.equal(near.rows.length, 2);
  assert.equal(near.rows[0]![0], 'Sirius');
  const targets = await sql(
    alice,
    'alice',
    `CREATE TABLE targets AS SELECT * FROM (VALUES ('sirius-ish', 101.2872, -16.7161), ('rigel-ish', 78.6345, -8.2017)) t (label, ra, dec);
     SELECT (m.a).label, (m.b).name FROM orrery.cross_match(NULL::targets, NULL::catalog_spatial_stars.stars, 1.0 / 60) m
      ORDER BY 1, 2 NULLS LAST`,
  );
  assert.deepEqual(targets.rows, [
    ['rigel-ish', 'Rigel'],
    ['sirius-ish', 'Sirius'],
    ['sirius-ish', null],
  ]);
  // Only the catalog's owner (the hub) may index it.
  await refused(
    alice,
    'alice',
    "SELECT orrery.create_zone_index('catalog_spatial_stars.stars')",
    /must be owner/,
  );
});

test('the real catalogs: stars against NGC/IC objects within 1 arcmin, zones = q3c = brute force', async (t) => {
  const specs = standardCatalogs(REAL_DATA);
  if (!specs.every((spec) => existsSync(spec.file))) {
    if (process.env.CI === 'true') assert.fail(`the catalog files are missing in ${REAL_DATA}`);
    t.skip(`no catalog files in ${REAL_DATA} (scripts/fetch-catalogs.sh)`);
    return;
  }
  for (const spec of specs) await loadCatalog(db, mydb.science, spec);
  const radius = 1 / 60;
  const match = async (method: string) =>
    new Set(
      (
        await science(
          `SELECT (m.a).star_id AS a, (m.b).identifier AS b FROM orrery.cross_match(NULL::catalog_stars.stars, NULL::catalog_ngc.objects, $1, $2) m`,
          [radius, method],
        )
      ).rows.map((r) => `${r.a}/${r.b}`),
    );
  const zones = await match('zones');
  assert.ok(zones.size > 100, `${zones.size} pairs`);
  if (q3c) {
    // q3c_join on position tables (key, ra, dec), as the benchmark measures it: on the wide
    // catalog tables PostgreSQL may not use q3c's index for it (docs/mydb.md).
    await science(`DROP SCHEMA IF EXISTS positions CASCADE; CREATE SCHEMA positions;
      CREATE TABLE positions.stars AS SELECT star_id, ra, dec FROM catalog_stars.stars;
      CREATE TABLE positions.ngc AS SELECT identifier, ra, dec FROM catalog_ngc.objects;
      SELECT orrery.create_zone_index('positions.stars'), orrery.create_zone_index('positions.ngc')`);
    const viaQ3c = await science(
      `SELECT (m.a).star_id AS a, (m.b).identifier AS b FROM orrery.cross_match(NULL::positions.stars, NULL::positions.ngc, $1, 'q3c') m`,
      [radius],
    );
    assert.deepEqual(new Set(viaQ3c.rows.map((r) => `${r.a}/${r.b}`)), zones);
  }
  // Every pair of a slice of the sky (ra below 20 degrees), in JavaScript.
  const slice = async (table: string, key: string) =>
    (
      await science(`SELECT ${key}::text AS id, ra, dec FROM ${table} WHERE ra < 20 OR ra > 359.9`)
    ).rows.map((r) => ({ id: r.id, ra: r.ra, dec: r.dec }));
  const stars = await slice('catalog_stars.stars', 'star_id');
  const ngc = await slice('catalog_ngc.objects', 'identifier');
  const expected = new Set<string>();
  for (const s of stars)
    for (const o of ngc)
      if (distance(s.ra, s.dec, o.ra, o.dec) <= radius) expected.add(`${s.id}/${o.id}`);
  const inSlice = new Set(
    [...zones].filter((pair) => stars.some((s) => s.id === pair.split('/')[0])),
  );
  assert.ok(expected.size > 5, `${expected.size} pairs in the slice`);
  assert.deepEqual(
    new Set([...inSlice].filter((pair) => ngc.some((o) => o.id === pair.split('/')[1]))),
    expected,
  );
});
