/**
 * Loads a catalog file into its schema `catalog_<name>` in the science database and registers it
 * as a RACM `DatabaseContext`. The whole schema is rebuilt in one transaction (readers see the
 * old catalog until it commits, and a failed load leaves the old one), rows arrive by
 * `COPY FROM STDIN`, and every table and column gets a `[unit] description` comment.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { publicGroupId } from '../groups/store.ts';
import { registerCoreContexts } from '../racm/contexts.ts';
import { findResourceByName, grant, registerResource, resourceType } from '../racm/store.ts';
import {
  copyLine,
  formatComment,
  type KscatRow,
  NGC_TABLE,
  ngcCells,
  parseStarLine,
  STARS_TABLE,
  type TableSpec,
} from './catalogFormats.ts';
import { CONTEXT_TYPE, catalogSchemaOf } from './contexts.ts';
import { syncGrants } from './grants.ts';
import type { ScienceDatabase } from './science.ts';
import { createSpatialIndexes } from './spatial/indexes.ts';

export type CatalogFormat = 'stars' | 'ngc';

export interface CatalogSpec {
  /** The context's name: [a-z][a-z0-9_]*, its schema is `catalog_<name>`. */
  name: string;
  format: CatalogFormat;
  file: string;
  description: string;
  /** Public catalogs are readable and queryable by the Public group; others by whom they are granted. */
  public: boolean;
}

const TABLE_OF: Record<CatalogFormat, TableSpec> = { stars: STARS_TABLE, ngc: NGC_TABLE };

/** Load (or reload) one catalog; returns the rows loaded. */
export async function loadCatalog(
  hubDb: Db,
  science: ScienceDatabase,
  spec: CatalogSpec,
): Promise<number> {
  const schema = catalogSchemaOf(spec.name);
  const table = TABLE_OF[spec.format];
  const rows = await inTransaction(science.pool, async (client) => {
    // Two loads of one catalog at once would drop each other's schema half-way.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`orrery.catalog.${schema}`]);
    const s = pg.escapeIdentifier(schema);
    await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await client.query(`CREATE SCHEMA ${s}`);
    await client.query(`COMMENT ON SCHEMA ${s} IS ${pg.escapeLiteral(spec.description)}`);
    await createTable(client, schema, table);
    const loaded = await copyInto(client, schema, table, rowsOf(spec));
    const t = `${s}.${pg.escapeIdentifier(table.name)}`;
    await client.query(
      `CREATE INDEX ${pg.escapeIdentifier(`${table.name}_dec_ra`)} ON ${t} (dec, ra)`,
    );
    await createSpatialIndexes(client, t);
    await client.query(`ANALYZE ${t}`);
    return loaded;
  });
  await registerCatalog(hubDb, spec);
  // The schema was made again: users' roles get their SELECT back as RACM says.
  await syncGrants(hubDb, science);
  return rows;
}

/** Has this catalog been loaded (schema present and registered)? */
export async function catalogLoaded(
  hubDb: Db,
  science: ScienceDatabase,
  name: string,
): Promise<boolean> {
  const { rowCount } = await science.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
    catalogSchemaOf(name),
  ]);
  return rowCount === 1 && (await findResourceByName(hubDb, CONTEXT_TYPE, name)) !== undefined;
}

async function createTable(client: pg.ClientBase, schema: string, table: TableSpec) {
  const t = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table.name)}`;
  const columns = table.columns.map((c) => {
    const notNull = ['ra', 'dec', table.primaryKey].includes(c.name) ? ' NOT NULL' : '';
    return `${pg.escapeIdentifier(c.name)} ${c.type}${notNull}`;
  });
  await client.query(
    `CREATE TABLE ${t} (${columns.join(', ')}, PRIMARY KEY (${pg.escapeIdentifier(table.primaryKey)}))`,
  );
  await client.query(`COMMENT ON TABLE ${t} IS ${pg.escapeLiteral(table.description)}`);
  for (const c of table.columns)
    await client.query(
      `COMMENT ON COLUMN ${t}.${pg.escapeIdentifier(c.name)} IS ${pg.escapeLiteral(formatComment(c.unit, c.description))}`,
    );
}

async function copyInto(
  client: pg.ClientBase,
  schema: string,
  table: TableSpec,
  rows: AsyncIterable<(string | number | boolean | null)[]>,
): Promise<number> {
  let count = 0;
  const lines = Readable.from(
    (async function* () {
      for await (const cells of rows) {
        count++;
        yield copyLine(cells);
      }
    })(),
  );
  const names = table.columns.map((c) => pg.escapeIdentifier(c.name)).join(', ');
  const copy = client.query(
    copyFrom(
      `COPY ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table.name)} (${names}) FROM STDIN`,
    ),
  );
  await pipeline(lines, copy);
  return count;
}

function rowsOf(spec: CatalogSpec): AsyncIterable<(string | number | boolean | null)[]> {
  return spec.format === 'stars' ? starRows(spec.file) : ngcRows(spec.file);
}

async function* starRows(file: string) {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    const cells = parseStarLine(line, number);
    if (cells) yield cells;
  }
}

/**
 * The kscat file is SQLite; Python's standard library reads it (Node 20 has no SQLite of its own),
 * one JSON object per line. The file name is an argument, never part of the script.
 */
const READ_KSCAT = `
import json, sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
db.row_factory = sqlite3.Row
for row in db.execute('SELECT catalog_identifier, name, long_name, type, ra, dec, magnitude, major_axis, minor_axis, position_angle FROM cat ORDER BY catalog_identifier'):
    sys.stdout.write(json.dumps(dict(row)) + '\\n')
`;

async function* ngcRows(file: string) {
  const python = spawn(process.env.ORRERY_PYTHON ?? 'python3', ['-c', READ_KSCAT, file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  python.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    python.once('error', reject);
    python.once('close', resolve);
  });
  exited.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  try {
    for await (const line of createInterface({ input: python.stdout, crlfDelay: Infinity })) {
      if (line) yield ngcCells(JSON.parse(line) as KscatRow);
    }
    const code = await exited;
    if (code !== 0) throw new Error(`reading ${file} failed (exit ${code}): ${stderr.trim()}`);
  } finally {
    // A load that failed half-way (COPY refused a row) leaves no reader behind.
    if (python.exitCode === null && python.signalCode === null) python.kill();
  }
}

/**
 * Register an existing schema `catalog_<name>` (loaded here, or made with SQL by the deployment)
 * as a context. An owner gets every action, grant included, and shares it through RACM; a
 * catalog without owner is shared only with the Public group, if public.
 */
export async function registerCatalogSchema(
  hubDb: Db,
  science: ScienceDatabase,
  spec: { name: string; description: string; public: boolean; ownerId?: number },
): Promise<void> {
  const { rowCount } = await science.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
    catalogSchemaOf(spec.name),
  ]);
  if (rowCount !== 1)
    throw new Error(`no schema ${catalogSchemaOf(spec.name)} in the science database`);
  await registerCatalog(hubDb, spec);
  await syncGrants(hubDb, science);
}

async function registerCatalog(
  hubDb: Db,
  spec: { name: string; description: string; public: boolean; ownerId?: number },
): Promise<void> {
  await registerCoreContexts(hubDb);
  await inTransaction(hubDb, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `orrery.catalog.${spec.name}`,
    ]);
    const type = await resourceType(client, CONTEXT_TYPE);
    if (!type) throw new Error(`the resource type ${CONTEXT_TYPE} is not registered`);
    const existing = await findResourceByName(client, CONTEXT_TYPE, spec.name);
    const resourceId =
      existing?.id ??
      (await registerResource(client, {
        typeId: type.id,
        name: spec.name,
        description: spec.description,
        ownerId: spec.ownerId ?? null,
      }));
    if (existing)
      await client.query('UPDATE racm_resources SET description = $2 WHERE id = $1', [
        resourceId,
        spec.description,
      ]);
    if (spec.public) await grantPublic(client, resourceId, type.id);
  });
}

async function grantPublic(client: Queryable, resourceId: number, typeId: number) {
  const groupId = await publicGroupId(client);
  for (const action of ['read', 'submitQuery'])
    await grant(client, { resourceId, typeId, action, groupId, grantedBy: null });
}

/** The catalogs `scripts/fetch-catalogs.sh` fetches into `dataDir`: both public. */
export function standardCatalogs(dataDir: string): CatalogSpec[] {
  return [
    {
      name: 'stars',
      format: 'stars',
      file: path.join(dataDir, 'stars.dat'),
      description:
        'Hipparcos and Tycho stars (KStars stars.dat: public-domain catalogues, compilation GPL)',
      public: true,
    },
    {
      name: 'ngc',
      format: 'ngc',
      file: path.join(dataDir, 'OpenNGC.kscat'),
      description: 'NGC and IC objects (OpenNGC, CC-BY-SA-4.0, as packed by KStars)',
      public: true,
    },
  ];
}
