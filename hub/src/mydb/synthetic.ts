/**
 * A synthetic SDSS-like catalog, the same for the same seed: `photoobj` (positions, ugriz
 * magnitudes and errors, star or galaxy) and `specobj` (redshifts of a subset, each pointing at
 * its photometric object), loaded into the catalog context `synthetic_sdss` by COPY in one
 * transaction, then indexed (primary keys, zone and q3c indexes, the spectra's foreign key) and
 * registered like any catalog. `hub cli generate-catalog --rows N --seed S` makes it; millions of
 * rows stream through without being held in memory.
 *
 * The numbers are plausible, not a model of the sky: uniform positions over the SDSS
 * declinations, magnitudes from a power-law number count, colours and redshifts from a few
 * normal distributions.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type Db, inTransaction } from '../db/pool.ts';
import { type ColumnSpec, formatComment } from './catalogFormats.ts';
import { registerCatalogSchema } from './catalogLoader.ts';
import { catalogSchemaOf } from './contexts.ts';
import type { ScienceDatabase } from './science.ts';
import { createSpatialIndexes } from './spatial/indexes.ts';

export const SYNTHETIC_CONTEXT = 'synthetic_sdss';
export const MAX_SYNTHETIC_ROWS = 200_000_000;

export interface SyntheticSpec {
  rows: number;
  seed: number;
  /** The context's name (default synthetic_sdss). */
  name?: string;
  public?: boolean;
}

const c = (name: string, type: string, unit: string | null, description: string): ColumnSpec => ({
  name,
  type,
  unit,
  description,
});

const BANDS = ['u', 'g', 'r', 'i', 'z'] as const;

export const PHOTOOBJ_COLUMNS: ColumnSpec[] = [
  c('objid', 'bigint', null, 'Unique object identifier (synthetic; beyond 2^53 as SDSS ids are)'),
  c('ra', 'double precision', 'deg', 'Right ascension (J2000)'),
  c('dec', 'double precision', 'deg', 'Declination (J2000)'),
  c('type', 'smallint', null, 'Morphological type as SDSS codes it: 3 = galaxy, 6 = star'),
  ...BANDS.map((b) => c(b, 'real', 'mag', `Magnitude in the ${b} band`)),
  ...BANDS.map((b) => c(`err_${b}`, 'real', 'mag', `Error of the ${b} magnitude`)),
];

export const SPECOBJ_COLUMNS: ColumnSpec[] = [
  c('specobjid', 'bigint', null, 'Unique spectrum identifier (synthetic)'),
  c('bestobjid', 'bigint', null, 'The photometric object observed (photoobj.objid)'),
  c('ra', 'double precision', 'deg', 'Right ascension of the fibre (J2000)'),
  c('dec', 'double precision', 'deg', 'Declination of the fibre (J2000)'),
  c('z', 'real', null, 'Redshift'),
  c('zerr', 'real', null, 'Error of the redshift'),
  c('class', 'text', null, 'Spectroscopic class: GALAXY, STAR or QSO'),
];

/** SDSS object ids are past 2^53; these are too, so clients that lose digits show it. */
const OBJID_BASE = 1237645876861272064n;
const SPECOBJID_BASE = 299489677444933632n;
const DEC_MIN = -20;
const DEC_MAX = 75;

/** mulberry32 for uniform numbers, Box-Muller for normal ones: small, fast, seeded. */
function generator(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (mean: number, sigma: number) =>
    mean + sigma * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const fixed = (value: number, digits: number) => value.toFixed(digits);

/**
 * Both tables' COPY text, row by row, in chunks: photoobj lines go to `photo`, and for some of
 * them a specobj line to `spec` (kept in memory only up to a chunk, then handed over).
 */
function* syntheticRows(spec: SyntheticSpec): Generator<{ photo: string; spec: string }> {
  const random = generator(spec.seed);
  const sinMin = Math.sin((DEC_MIN * Math.PI) / 180);
  const sinMax = Math.sin((DEC_MAX * Math.PI) / 180);
  let photo = '';
  let specLines = '';
  let spectra = 0n;
  for (let i = 0; i < spec.rows; i++) {
    const ra = random.uniform() * 360;
    const dec = (Math.asin(sinMin + random.uniform() * (sinMax - sinMin)) * 180) / Math.PI;
    const galaxy = random.uniform() < 0.6;
    // Counts grow by 10^0.4 per magnitude up to the survey's limit near r = 23.
    const r = Math.max(13, 23 + Math.log10(1 - random.uniform()) / 0.4);
    const g = r + random.normal(galaxy ? 0.8 : 0.5, 0.3);
    const u = g + random.normal(galaxy ? 1.6 : 1.2, 0.4);
    const ii = r - random.normal(galaxy ? 0.4 : 0.2, 0.15);
    const z = ii - random.normal(galaxy ? 0.3 : 0.1, 0.12);
    const mags = [u, g, r, ii, z];
    const errors = mags.map((m) => Math.min(2, 0.01 + 0.02 * 10 ** (0.4 * (m - 21))));
    const objid = OBJID_BASE + BigInt(i);
    photo += `${objid}\t${fixed(ra, 7)}\t${fixed(dec, 7)}\t${galaxy ? 3 : 6}\t${mags.map((m) => fixed(m, 3)).join('\t')}\t${errors.map((e) => fixed(e, 4)).join('\t')}\n`;
    // Spectra for about a third of the objects brighter than r = 20, as a survey targets them.
    if (r < 20 && random.uniform() < 0.35) {
      const quasar = !galaxy && random.uniform() < 0.15;
      const redshift = galaxy
        ? Math.abs(random.normal(0.12, 0.07))
        : quasar
          ? 0.3 + random.uniform() * 3.7
          : random.normal(0, 0.0003);
      const zerr = galaxy || quasar ? 1e-4 + random.uniform() * 5e-4 : 1e-5;
      const klass = galaxy ? 'GALAXY' : quasar ? 'QSO' : 'STAR';
      // The fibre sits within an arcsecond of the object.
      const fibreRa = ra + random.normal(0, 0.3) / 3600 / Math.cos((dec * Math.PI) / 180);
      const fibreDec = dec + random.normal(0, 0.3) / 3600;
      specLines += `${SPECOBJID_BASE + spectra}\t${objid}\t${fixed((fibreRa + 360) % 360, 7)}\t${fixed(fibreDec, 7)}\t${fixed(redshift, 5)}\t${zerr.toExponential(3)}\t${klass}\n`;
      spectra++;
    }
    if ((i + 1) % 2000 === 0) {
      yield { photo, spec: specLines };
      photo = '';
      specLines = '';
    }
  }
  if (photo || specLines) yield { photo, spec: specLines };
}

async function createTable(
  client: pg.ClientBase,
  table: string,
  description: string,
  columns: ColumnSpec[],
) {
  const defs = columns.map((col) => `${pg.escapeIdentifier(col.name)} ${col.type} NOT NULL`);
  await client.query(`CREATE TABLE ${table} (${defs.join(', ')})`);
  await client.query(`COMMENT ON TABLE ${table} IS ${pg.escapeLiteral(description)}`);
  for (const col of columns)
    await client.query(
      `COMMENT ON COLUMN ${table}.${pg.escapeIdentifier(col.name)} IS ${pg.escapeLiteral(formatComment(col.unit, col.description))}`,
    );
}

/**
 * Generate and load the catalog (replacing one of the same name), then register it. Returns the
 * rows of each table. One pass of the generator fills both: spectra (a few per cent of the
 * objects) are kept as text while photoobj streams, then copied.
 */
export async function generateSyntheticCatalog(
  hubDb: Db,
  science: ScienceDatabase,
  spec: SyntheticSpec,
): Promise<{ photoobj: number; specobj: number }> {
  if (!Number.isInteger(spec.rows) || spec.rows < 1 || spec.rows > MAX_SYNTHETIC_ROWS)
    throw new Error(`--rows must be an integer from 1 to ${MAX_SYNTHETIC_ROWS}`);
  if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff)
    throw new Error('--seed must be an integer from 0 to 4294967295');
  const name = spec.name ?? SYNTHETIC_CONTEXT;
  const schema = catalogSchemaOf(name);
  const s = pg.escapeIdentifier(schema);
  const photoobj = `${s}.photoobj`;
  const specobj = `${s}.specobj`;
  const counts = await inTransaction(science.pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`orrery.catalog.${schema}`]);
    await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await client.query(`CREATE SCHEMA ${s}`);
    await client.query(
      `COMMENT ON SCHEMA ${s} IS ${pg.escapeLiteral(`Synthetic SDSS-like catalog (${spec.rows} objects, seed ${spec.seed})`)}`,
    );
    await createTable(
      client,
      photoobj,
      'Photometric objects (synthetic, SDSS PhotoObj-like)',
      PHOTOOBJ_COLUMNS,
    );
    await createTable(
      client,
      specobj,
      'Spectra (synthetic, SDSS SpecObj-like), one per observed object',
      SPECOBJ_COLUMNS,
    );
    const photoNames = PHOTOOBJ_COLUMNS.map((col) => pg.escapeIdentifier(col.name)).join(', ');
    const rows = syntheticRows(spec);
    const spectra: string[] = [];
    const photoStream = Readable.from(
      (function* () {
        for (const chunk of rows) {
          if (chunk.spec) spectra.push(chunk.spec);
          yield chunk.photo;
        }
      })(),
    );
    await pipeline(
      photoStream,
      client.query(copyFrom(`COPY ${photoobj} (${photoNames}) FROM STDIN`)),
    );
    const specNames = SPECOBJ_COLUMNS.map((col) => pg.escapeIdentifier(col.name)).join(', ');
    await pipeline(
      Readable.from(spectra),
      client.query(copyFrom(`COPY ${specobj} (${specNames}) FROM STDIN`)),
    );
    await client.query(`ALTER TABLE ${photoobj} ADD PRIMARY KEY (objid)`);
    await client.query(`ALTER TABLE ${specobj} ADD PRIMARY KEY (specobjid)`);
    await client.query(
      `ALTER TABLE ${specobj} ADD FOREIGN KEY (bestobjid) REFERENCES ${photoobj} (objid)`,
    );
    await client.query(`CREATE INDEX specobj_bestobjid ON ${specobj} (bestobjid)`);
    await client.query(`CREATE INDEX photoobj_r ON ${photoobj} (r)`);
    await createSpatialIndexes(client, photoobj);
    await createSpatialIndexes(client, specobj);
    const count = async (table: string) =>
      Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    return { photoobj: await count(photoobj), specobj: await count(specobj) };
  });
  await registerCatalogSchema(hubDb, science, {
    name,
    description: `Synthetic SDSS-like catalog: photoobj and specobj (${spec.rows} objects, seed ${spec.seed})`,
    public: spec.public ?? true,
  });
  return counts;
}
