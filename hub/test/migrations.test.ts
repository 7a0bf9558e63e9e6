import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { MIGRATIONS_DIR, migrate, migrationNames, pendingMigrations } from '../src/db/migrate.ts';
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

test('0023 rewrites activity payloads’ keys in snake_case, values untouched; again is harmless; down restores them', async () => {
  const names = migrationNames();
  const since = names.length - names.indexOf('0023_activity_snake_case');
  await migrate(database.url, 'down', since);
  const db = createPool(database.url, 1);
  const rows: [string, object][] = [
    ['files.link_use', { volume: 'home/alice/v', linkId: 7, redeemedBy: 3 }],
    ['group.update', { groupId: 1, name: 'keepCase', nested: { fooBar: 1 } }],
    ['shares.code_revoke', { server: 'alice/', code_hash: 'kept', codeHash: 'older' }],
    ['job.end', { job: 5, status: 'succeeded', exit_code: 0 }],
  ];
  for (const [type, payload] of rows)
    await db.query('INSERT INTO activity (type, payload) VALUES ($1, $2)', [type, payload]);
  const payloads = async () =>
    (await db.query('SELECT payload FROM activity ORDER BY id')).rows.map((row) => row.payload);
  const snake = [
    { volume: 'home/alice/v', link_id: 7, redeemed_by: 3 },
    { group_id: 1, name: 'keepCase', nested: { fooBar: 1 } },
    { server: 'alice/', code_hash: 'kept' },
    { job: 5, status: 'succeeded', exit_code: 0 },
  ];

  await migrate(database.url);
  assert.deepEqual(await payloads(), snake);
  const file = readFileSync(`${MIGRATIONS_DIR}/0023_activity_snake_case.sql`, 'utf8');
  await db.query(file.split('-- Down Migration')[0]!);
  assert.deepEqual(await payloads(), snake, 'a second run changes nothing');

  await migrate(database.url, 'down', since);
  assert.deepEqual(await payloads(), [
    { volume: 'home/alice/v', linkId: 7, redeemedBy: 3 },
    { groupId: 1, name: 'keepCase', nested: { fooBar: 1 } },
    { server: 'alice/', codeHash: 'kept' },
    { job: 5, status: 'succeeded', exit_code: 0 },
  ]);
  await migrate(database.url);
  assert.deepEqual(await payloads(), snake);
  await db.query('DELETE FROM activity');
  await db.end();
});

test('the committed schema dump matches what the migrations produce', () => {
  const committed = readFileSync(SCHEMA_DUMP_PATH, 'utf8');
  assert.equal(
    dumpSchema(database.url),
    committed,
    'schema/schema.sql is stale: run "npm run schema:dump"',
  );
});
