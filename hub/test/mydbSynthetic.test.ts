/**
 * The synthetic SDSS-like catalog (`hub cli generate-catalog`) and the schema browser's views and
 * functions, against the real PostgreSQL server: the same seed gives the same rows, spectra point
 * at their objects, units and descriptions come back from the browser for tables, views and
 * functions, in catalogs and in the user's own MyDB.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { mydbModule } from '../src/mydb/module.ts';
import type { MydbService } from '../src/mydb/service.ts';
import { generateSyntheticCatalog } from '../src/mydb/synthetic.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let mydb: MydbService;
let carol: Client;

before(async () => {
  hub = await startTestHub('synthetic');
  db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  mydb = hub.modules.serviceOf(mydbModule);
  carol = await signUp(hub.url, 'carol');
});

after(async () => {
  await db.end();
  await hub.stop();
});

const science = (sql: string, values: unknown[] = []) => mydb.science.pool.query(sql, values);

/** A digest of every row of both tables, in key order. */
async function digest(schema: string): Promise<string> {
  const { rows } = await science(
    `SELECT md5(string_agg(p::text, '|' ORDER BY p.objid)) AS photo,
            (SELECT md5(string_agg(s::text, '|' ORDER BY s.specobjid)) FROM ${schema}.specobj s) AS spec
       FROM ${schema}.photoobj p`,
  );
  return `${rows[0].photo}/${rows[0].spec}`;
}

test('the same seed gives the same catalog; another seed another', async () => {
  const first = await generateSyntheticCatalog(db, mydb.science, { rows: 3000, seed: 42 });
  assert.equal(first.photoobj, 3000);
  assert.ok(first.specobj > 10 && first.specobj < 600, `${first.specobj} spectra`);
  const once = await digest('catalog_synthetic_sdss');
  const again = await generateSyntheticCatalog(db, mydb.science, { rows: 3000, seed: 42 });
  assert.deepEqual(again, first);
  assert.equal(await digest('catalog_synthetic_sdss'), once);
  await generateSyntheticCatalog(db, mydb.science, {
    rows: 3000,
    seed: 43,
    name: 'synthetic_other',
  });
  assert.notEqual(await digest('catalog_synthetic_other'), once);
});

test('photoobj and specobj look like SDSS’s: ids past 2^53, types, magnitudes, spectra on their objects', async () => {
  const { rows } = await science(
    `SELECT min(objid)::text AS min_id, count(DISTINCT type) AS types, min(dec) AS dec_min, max(dec) AS dec_max,
            bool_and(r BETWEEN 13 AND 23 AND err_r > 0) AS mags_ok
       FROM catalog_synthetic_sdss.photoobj`,
  );
  assert.ok(BigInt(rows[0].min_id) > 2n ** 53n);
  assert.equal(Number(rows[0].types), 2);
  assert.ok(rows[0].dec_min >= -20 && rows[0].dec_max <= 75);
  assert.equal(rows[0].mags_ok, true);
  // Every spectrum's fibre is within 3 arcseconds of its object, and its class fits the type.
  const spectra = await science(
    `SELECT count(*) AS n,
            count(*) FILTER (WHERE orrery.angular_distance(s.ra, s.dec, p.ra, p.dec) * 3600 > 3) AS far,
            count(*) FILTER (WHERE (s.class = 'GALAXY') <> (p.type = 3)) AS mismatched
       FROM catalog_synthetic_sdss.specobj s JOIN catalog_synthetic_sdss.photoobj p ON p.objid = s.bestobjid`,
  );
  assert.ok(Number(spectra.rows[0].n) > 10);
  assert.equal(Number(spectra.rows[0].far), 0);
  assert.equal(Number(spectra.rows[0].mismatched), 0);
  const indexes = await science(
    "SELECT string_agg(indexname, ',' ORDER BY indexname) AS names FROM pg_indexes WHERE schemaname = 'catalog_synthetic_sdss'",
  );
  assert.match(indexes.rows[0].names, /photoobj_pkey/);
  assert.match(indexes.rows[0].names, /photoobj_zone/);
  assert.match(indexes.rows[0].names, /specobj_bestobjid/);
  // A spectrum must point at an object.
  await assert.rejects(
    science('INSERT INTO catalog_synthetic_sdss.specobj VALUES (1, 2, 0, 0, 0.1, 0.001, $1)', [
      'GALAXY',
    ]),
    /foreign key/,
  );
  await assert.rejects(
    generateSyntheticCatalog(db, mydb.science, { rows: 0, seed: 1 }),
    /--rows must be an integer/,
  );
});

test('the browser gives the synthetic tables’ units and descriptions', async () => {
  const tables = await carol.get('/hub/api/mydb/contexts/synthetic_sdss/tables');
  assert.equal(tables.status, 200, tables.text);
  assert.deepEqual(
    tables.json.map((t: { name: string }) => t.name),
    ['photoobj', 'specobj'],
  );
  const photo = tables.json[0];
  assert.equal(photo.row_estimate, 3000);
  const column = (name: string) => photo.columns.find((c: { name: string }) => c.name === name);
  assert.deepEqual(column('r'), {
    name: 'r',
    type: 'real',
    unit: 'mag',
    description: 'Magnitude in the r band',
  });
  assert.equal(column('objid').type, 'bigint');
  assert.equal(column('dec').unit, 'deg');
});

test('the browser lists functions with arguments, result and description; views with their columns', async () => {
  const shared = await carol.get('/hub/api/mydb/contexts/synthetic_sdss/functions');
  assert.equal(shared.status, 200, shared.text);
  const cone = shared.json.find((f: { name: string }) => f.name === 'cone_search');
  assert.equal(cone.schema, 'orrery');
  assert.equal(cone.kind, 'function');
  assert.match(
    cone.arguments,
    /rows_of anyelement, ra_deg double precision, dec_deg double precision, radius_deg double precision, method text DEFAULT 'auto'/,
  );
  assert.equal(cone.returns, 'SETOF anyelement');
  assert.match(cone.description, /Zones algorithm/);
  const distance = shared.json.find((f: { name: string }) => f.name === 'angular_distance');
  assert.equal(distance.unit, 'deg');
  assert.match(distance.description, /Great-circle distance/);
  // Plumbing and q3c's own functions are not listed.
  assert.ok(
    !shared.json.some((f: { name: string }) => ['relation_of', 'q3c_ang2ipix'].includes(f.name)),
  );

  // Carol's own function and view, with comments in the same convention.
  const made = await carol.post('/hub/api/users/carol/mydb/query', {
    sql: `CREATE FUNCTION arcsec(deg double precision) RETURNS double precision LANGUAGE sql IMMUTABLE RETURN deg * 3600;
          COMMENT ON FUNCTION arcsec(double precision) IS '[arcsec] Degrees as arcseconds';
          CREATE TABLE targets (label text, ra double precision, dec double precision);
          CREATE VIEW north AS SELECT label, dec FROM targets WHERE dec > 0;
          COMMENT ON VIEW north IS 'Targets north of the equator';
          COMMENT ON COLUMN north.dec IS '[deg] Declination'`,
  });
  assert.equal(made.status, 200, made.text);
  const own = await carol.get('/hub/api/mydb/contexts/mydb/functions');
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(own.json[0], {
    name: 'arcsec',
    schema: 'mydb_carol',
    kind: 'function',
    arguments: 'deg double precision',
    returns: 'double precision',
    unit: 'arcsec',
    description: 'Degrees as arcseconds',
  });
  assert.ok(own.json.slice(1).every((f: { schema: string }) => f.schema === 'orrery'));
  const tables = await carol.get('/hub/api/mydb/contexts/mydb/tables');
  const north = tables.json.find((t: { name: string }) => t.name === 'north');
  assert.equal(north.kind, 'view');
  assert.equal(north.description, 'Targets north of the equator');
  assert.deepEqual(north.columns[1], {
    name: 'dec',
    type: 'double precision',
    unit: 'deg',
    description: 'Declination',
  });
  // A context one may not read answers 404, as one that does not exist.
  const missing = await carol.get('/hub/api/mydb/contexts/nosuchcatalog/functions');
  assert.equal(missing.status, 404);
});
