import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { migrate, migrationNames, pendingMigrations } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { dumpSchema, SCHEMA_DUMP_PATH } from '../src/db/schemaDump.ts';
import { PendingMigrationsError, startHub } from '../src/server.ts';
import { createTestDatabase } from './support.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
before(async () => {
  database = await createTestDatabase('migrations');
});
after(async () => {
  await database.drop();
});

test('the hub refuses to start on a database with pending migrations unless told to migrate', async () => {
  const config = {
    ...loadConfig({ DATABASE_URL: database.url, ORRERY_PORT: '0' }),
    logLevel: 'silent',
  };
  await assert.rejects(
    startHub(config),
    (err: unknown) =>
      err instanceof PendingMigrationsError && /pending migration/.test(String(err)),
  );
  const db = createPool(database.url, 1);
  assert.deepEqual(await pendingMigrations(db), migrationNames());
  await db.end();
});

test('an empty database migrates; migrating again does nothing and harms nothing', async () => {
  assert.deepEqual(await migrate(database.url), migrationNames());
  assert.deepEqual(await migrate(database.url), []);
  const db = createPool(database.url, 1);
  assert.deepEqual(await pendingMigrations(db), []);
  const publicGroups = await db.query(
    `SELECT count(*)::int AS n FROM groups WHERE kind = 'public'`,
  );
  assert.equal(publicGroups.rows[0].n, 1, 'exactly one Public group after two runs');
  await db.end();
});

test('every migration goes down and up again', async () => {
  const names = migrationNames();
  assert.deepEqual(await migrate(database.url, 'down', names.length), [...names].reverse());
  assert.deepEqual(await migrate(database.url), names);
});

test('the committed schema dump matches what the migrations produce', () => {
  const committed = readFileSync(SCHEMA_DUMP_PATH, 'utf8');
  assert.equal(
    dumpSchema(database.url),
    committed,
    'schema/schema.sql is stale: run "npm run schema:dump"',
  );
});
