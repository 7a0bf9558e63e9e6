/**
 * Who may read what in the science database, against the real PostgreSQL server: catalogs
 * readable in SQL exactly by the users RACM lets read them (directly, through a group, the
 * Public group), a query's context, the quota enforced by PostgreSQL's grants, MyScratch and its
 * sweeper, and MyDB shares taken back at once (through a group too). Every SQL refusal is
 * followed by a query showing the session is still the user's own role.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { registerCatalogSchema } from '../src/mydb/catalogLoader.ts';
import { mydbModule } from '../src/mydb/module.ts';
import type { MydbService } from '../src/mydb/service.ts';
import { findResourceByName, may } from '../src/racm/store.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let mydb: MydbService;
let alice: Client;
let bob: Client;
let carol: Client;
let dora: Client;
const roles = new Map<string, string>();

before(async () => {
  hub = await startTestHub('mydbaccess', {
    mydb: { ...loadConfig({}).mydb, quickTimeoutSeconds: 10, scratchMaxAgeHours: 72 },
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  mydb = hub.modules.serviceOf(mydbModule);
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  carol = await signUp(hub.url, 'carol');
  dora = await signUp(hub.url, 'dora');
  for (const [name, client] of [
    ['alice', alice],
    ['bob', bob],
    ['carol', carol],
    ['dora', dora],
  ] as const)
    roles.set(name, (await client.get(`/hub/api/users/${name}/mydb`)).json.role);
  await db.query(`UPDATE users SET admin = true WHERE name = 'dora'`);
  // Two catalogs: one public, one restricted and owned by dora, who shares it through RACM.
  await science(`CREATE SCHEMA catalog_open; CREATE TABLE catalog_open.objects AS
                   SELECT g AS id, g * 1.5 AS mag FROM generate_series(1, 4) g;
                 CREATE SCHEMA catalog_secret; CREATE TABLE catalog_secret.objects AS
                   SELECT g AS id FROM generate_series(1, 3) g`);
  await registerCatalogSchema(db, mydb.science, {
    name: 'open',
    description: 'Open',
    public: true,
  });
  await registerCatalogSchema(db, mydb.science, {
    name: 'secret',
    description: 'Secret',
    public: false,
    ownerId: await idOf('dora'),
  });
});

after(async () => {
  await db.end();
  await hub.stop();
});

const science = (sql: string, values: unknown[] = []) => mydb.science.pool.query(sql, values);

async function idOf(name: string): Promise<number> {
  return Number((await db.query('SELECT id FROM users WHERE name = $1', [name])).rows[0].id);
}

const query = (client: Client, name: string, sql: string, context?: string) =>
  client.post(`/hub/api/users/${name}/mydb/query`, { sql, ...(context ? { context } : {}) });

/** `sql` runs for `name`; the answer's rows. */
async function rows(client: Client, name: string, sql: string, context?: string) {
  const answer = await query(client, name, sql, context);
  assert.equal(answer.status, 200, answer.text);
  return answer.json.rows;
}

/** The user's session after a refusal: their own role, no superuser. */
async function assertStill(client: Client, name: string): Promise<void> {
  assert.deepEqual(
    await rows(
      client,
      name,
      'SELECT current_user::text, session_user::text, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)',
    ),
    [[roles.get(name), roles.get(name), false]],
  );
}

/** PostgreSQL refuses `sql` with `pattern`; the session is still the user's. */
async function assertRefused(
  client: Client,
  name: string,
  sql: string,
  pattern: RegExp,
  context?: string,
): Promise<void> {
  const answer = await query(client, name, sql, context);
  assert.equal(answer.status, 400, answer.text);
  assert.equal(answer.json.rule, 'sql_error');
  assert.match(answer.json.message, pattern);
  await assertStill(client, name);
}

const contextNames = async (client: Client) =>
  (await client.get('/hub/api/mydb/contexts')).json.map((c: { name: string }) => c.name);

async function makeGroup(owner: Client, name: string, members: [Client, string][]) {
  const group = await owner.post('/hub/api/groups', { name });
  assert.equal(group.status, 201, group.text);
  for (const [member, username] of members) {
    const invited = await owner.post(`/hub/api/groups/${group.json.id}/invitations`, {
      username,
      role: 'MEMBER',
    });
    assert.equal(invited.status, 201, invited.text);
    const accepted = await member.post(`/hub/api/invitations/${invited.json.id}/accept`);
    assert.equal(accepted.status, 200, accepted.text);
  }
  return group.json.id as number;
}

test('a public catalog is readable in SQL by everyone; grants are each role’s own', async () => {
  for (const [client, name] of [
    [alice, 'alice'],
    [bob, 'bob'],
  ] as const)
    assert.deepEqual(await rows(client, name, 'SELECT count(*) FROM catalog_open.objects'), [
      ['4'],
    ]);
  // Granted to each user's role directly (NOINHERIT roles would not inherit a group's).
  const { rows: acl } = await science(
    `SELECT grantee::regrole::text AS role FROM pg_class c, aclexplode(c.relacl)
      WHERE c.oid = 'catalog_open.objects'::regclass AND privilege_type = 'SELECT'`,
  );
  for (const name of ['alice', 'bob', 'carol', 'dora'])
    assert.ok(
      acl.some((row) => row.role === roles.get(name)),
      `${name} holds SELECT`,
    );
});

test('a restricted catalog is invisible and unreadable until RACM grants it; revoked at once', async () => {
  await assertRefused(
    bob,
    'bob',
    'SELECT * FROM catalog_secret.objects',
    /permission denied for schema catalog_secret/,
  );
  assert.ok(!(await contextNames(bob)).includes('secret'));
  assert.equal((await query(bob, 'bob', 'SELECT 1', 'secret')).status, 404);

  const resource = (await findResourceByName(db, 'DatabaseContext', 'secret'))!;
  const given = await dora.post(`/hub/api/racm/resources/${resource.id}/privileges`, {
    action: 'read',
    user: 'bob',
  });
  assert.equal(given.status, 201, given.text);
  assert.deepEqual(await rows(bob, 'bob', 'SELECT count(*) FROM objects', 'secret'), [['3']]);
  assert.ok((await contextNames(bob)).includes('secret'));
  // Read-only: writing to a catalog is refused by PostgreSQL.
  await assertRefused(
    bob,
    'bob',
    'INSERT INTO objects VALUES (99)',
    /permission denied for table objects/,
    'secret',
  );
  await assertRefused(
    bob,
    'bob',
    'CREATE TABLE catalog_secret.mine (x int)',
    /permission denied for schema catalog_secret/,
  );

  const taken = await dora.delete(
    `/hub/api/racm/resources/${resource.id}/privileges/${given.json.id}`,
  );
  assert.equal(taken.status, 204, taken.text);
  await assertRefused(
    bob,
    'bob',
    'SELECT * FROM catalog_secret.objects',
    /permission denied for schema catalog_secret/,
  );
  assert.equal((await query(bob, 'bob', 'SELECT 1', 'secret')).status, 404);
});

test('a catalog granted to a group is readable by its members until they leave', async () => {
  const groupId = await makeGroup(dora, 'readers', [[carol, 'carol']]);
  const resource = (await findResourceByName(db, 'DatabaseContext', 'secret'))!;
  const given = await dora.post(`/hub/api/racm/resources/${resource.id}/privileges`, {
    action: 'submitQuery',
    group: groupId,
  });
  assert.equal(given.status, 201, given.text);
  // submitQuery opens it to SQL (not to the schema browser, which needs read).
  assert.deepEqual(await rows(carol, 'carol', 'SELECT count(*) FROM objects', 'secret'), [['3']]);
  assert.equal((await carol.get('/hub/api/mydb/contexts/secret/tables')).status, 404);
  const left = await carol.delete(`/hub/api/groups/${groupId}/members/carol`);
  assert.equal(left.status, 204, left.text);
  await assertRefused(
    carol,
    'carol',
    'SELECT * FROM catalog_secret.objects',
    /permission denied for schema catalog_secret/,
  );
});

test('a query’s context comes first in its search_path, then the user’s MyDB, then the spatial functions', async () => {
  assert.deepEqual(await rows(alice, 'alice', 'SHOW search_path', 'open'), [
    ['"catalog_open", "mydb_alice", "orrery"'],
  ]);
  assert.deepEqual(await rows(alice, 'alice', 'SHOW search_path'), [['"mydb_alice", "orrery"']]);
  assert.deepEqual(await rows(alice, 'alice', 'SELECT count(*) FROM objects', 'open'), [['4']]);
  const unknown = await query(alice, 'alice', 'SELECT 1', 'nothing_here');
  assert.equal(unknown.status, 404, unknown.text);
  assert.equal(unknown.json.rule, 'context');
  await assertRefused(
    alice,
    'alice',
    'UPDATE objects SET mag = 0',
    /permission denied for table objects/,
    'open',
  );
});

test('over its quota a MyDB refuses writes (403 quota_exceeded) until it is back under', async () => {
  const quota = 64 * 1024;
  assert.equal(
    (await alice.patch('/hub/api/users/alice/mydb', { quota_bytes: quota })).status,
    403,
    'only platform admins set quotas',
  );
  const set = await dora.patch('/hub/api/users/alice/mydb', { quota_bytes: quota });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.json.quota_bytes, quota);
  assert.equal(set.json.over_quota, false);

  // A statement that would take the MyDB past its quota is refused inside its own transaction:
  // nothing of it is kept.
  const tooBig =
    "CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 2000) g";
  const stopped = await query(alice, 'alice', tooBig);
  assert.equal(stopped.status, 403, stopped.text);
  assert.equal(stopped.json.rule, 'quota_exceeded');
  assert.equal(stopped.json.quota_bytes, quota);
  assert.ok(stopped.json.would_use_bytes > quota, stopped.text);
  assert.equal((await science("SELECT to_regclass('mydb_alice.big') AS t")).rows[0].t, null);
  assert.equal((await alice.get('/hub/api/users/alice/mydb')).json.over_quota, false);
  await assertStill(alice, 'alice');

  // Made under a larger quota, then the quota lowered by an admin: the MyDB is over it.
  await dora.patch('/hub/api/users/alice/mydb', { quota_bytes: 512 * 1024 * 1024 });
  await rows(alice, 'alice', tooBig);
  await dora.patch('/hub/api/users/alice/mydb', { quota_bytes: quota });
  const space = (await alice.get('/hub/api/users/alice/mydb')).json;
  assert.ok(space.used_bytes > quota, `used ${space.used_bytes}`);
  assert.equal(space.over_quota, true);
  const { rows: measured } = await science(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'mydb_alice' AND c.relkind IN ('r', 'm')`,
  );
  assert.equal(space.used_bytes, Number(measured[0].bytes));

  for (const sql of [
    'INSERT INTO big VALUES (0, null)',
    'UPDATE big SET pad = null WHERE id = 1',
    'CREATE TABLE more (x int)',
  ]) {
    const refused = await query(alice, 'alice', sql);
    assert.equal(refused.status, 403, `${sql}: ${refused.text}`);
    assert.equal(refused.json.rule, 'quota_exceeded');
    assert.equal(refused.json.quota_bytes, quota);
    assert.equal(refused.json.used_bytes, space.used_bytes);
    await assertStill(alice, 'alice');
  }
  // An owner may grant itself INSERT back; the grant is gone after that very query.
  await rows(alice, 'alice', 'GRANT INSERT ON big TO CURRENT_USER; SELECT 1');
  assert.equal((await query(alice, 'alice', 'INSERT INTO big VALUES (0, null)')).status, 403);
  // Reading, deleting and truncating still work; back under, writing does again.
  assert.deepEqual(await rows(alice, 'alice', 'SELECT count(*) FROM big'), [['2000']]);
  await rows(alice, 'alice', 'DELETE FROM big WHERE id > 1000');
  await rows(alice, 'alice', 'TRUNCATE big');
  assert.equal((await alice.get('/hub/api/users/alice/mydb')).json.over_quota, false);
  await rows(alice, 'alice', 'INSERT INTO big VALUES (1, null)');
  await rows(alice, 'alice', 'CREATE TABLE more (x int); DROP TABLE more');

  // One statement past the quota again: refused whole (one row stays); the pages its rolled-back
  // rows took stay until VACUUM gives them back.
  const again = await query(
    alice,
    'alice',
    "INSERT INTO big SELECT g, repeat('y', 200) FROM generate_series(1, 2000) g",
  );
  assert.equal(again.status, 403, again.text);
  assert.equal(again.json.rule, 'quota_exceeded');
  assert.deepEqual(await rows(alice, 'alice', 'SELECT count(*) FROM big'), [['1']]);
  await rows(alice, 'alice', 'VACUUM big');
  assert.equal((await alice.get('/hub/api/users/alice/mydb')).json.over_quota, false);
  // An admin raises the quota: the same statement is allowed at once.
  const raised = await dora.patch('/hub/api/users/alice/mydb', { quota_bytes: 512 * 1024 * 1024 });
  assert.equal(raised.json.over_quota, false);
  await rows(
    alice,
    'alice',
    "INSERT INTO big SELECT g, repeat('y', 200) FROM generate_series(1, 2000) g; DROP TABLE big",
  );
});

test('an index or a COPY past the quota is undone; the quota trigger cannot be dropped or disabled', async () => {
  await rows(
    alice,
    'alice',
    'CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 1000) g',
  );
  const { rows: triggers } = await science(
    `SELECT t.tgname, t.tgenabled FROM pg_trigger t WHERE t.tgrelid = 'mydb_alice.wide'::regclass
        AND NOT t.tgisinternal`,
  );
  assert.deepEqual(triggers, [{ tgname: 'orrery_mydb_quota', tgenabled: 'O' }]);
  const used = (await alice.get('/hub/api/users/alice/mydb')).json.used_bytes;
  await dora.patch('/hub/api/users/alice/mydb', { quota_bytes: used + 16 * 1024 });
  try {
    // An index of ~300 KiB on a MyDB with 16 KiB left: refused, no index left behind.
    const index = await query(alice, 'alice', 'CREATE INDEX wide_pad ON wide (pad)');
    assert.equal(index.status, 403, index.text);
    assert.equal(index.json.rule, 'quota_exceeded');
    assert.equal((await science("SELECT to_regclass('mydb_alice.wide_pad') AS i")).rows[0].i, null);
    // An import whose COPY fills past it: refused whole, no table.
    // 10 KB of CSV (under the 16 KiB left) that PostgreSQL stores in ~180 KiB (a row header each).
    const csv = `x\n${'1\n'.repeat(5000)}`;
    const imported = await alice.request(
      'POST',
      '/hub/api/users/alice/mydb/tables/padded/import?format=csv',
      csv,
      { 'content-type': 'text/csv' },
    );
    assert.equal(imported.status, 429, imported.text);
    assert.equal(imported.json.rule, 'mydb_quota');
    assert.equal((await science("SELECT to_regclass('mydb_alice.padded') AS t")).rows[0].t, null);
    // The trigger is the user's table's, but dropping or disabling it is refused.
    for (const sql of [
      'DROP TRIGGER orrery_mydb_quota ON wide',
      'ALTER TABLE wide DISABLE TRIGGER orrery_mydb_quota',
      'ALTER TABLE wide DISABLE TRIGGER USER',
    ]) {
      const refused = await query(alice, 'alice', sql);
      assert.equal(refused.status, 400, `${sql}: ${refused.text}`);
      assert.match(refused.json.message, /may not be dropped or disabled/, sql);
    }
    const { rows: still } = await science(
      `SELECT t.tgenabled FROM pg_trigger t WHERE t.tgrelid = 'mydb_alice.wide'::regclass
          AND t.tgname = 'orrery_mydb_quota'`,
    );
    assert.deepEqual(still, [{ tgenabled: 'O' }]);
    // A table moved in from MyScratch (which has no quota) gets the trigger on the way.
    await rows(
      alice,
      'alice',
      'CREATE TABLE myscratch_alice.moved (x int); ALTER TABLE myscratch_alice.moved SET SCHEMA mydb_alice',
    );
    const { rows: moved } = await science(
      `SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = 'mydb_alice.moved'::regclass AND NOT t.tgisinternal`,
    );
    assert.deepEqual(moved, [{ tgname: 'orrery_mydb_quota' }]);
    await rows(alice, 'alice', 'DROP TABLE moved');
  } finally {
    await dora.patch('/hub/api/users/alice/mydb', { quota_bytes: 512 * 1024 * 1024 });
    await rows(alice, 'alice', 'DROP TABLE wide');
  }
});

test('MyScratch: a context of its own, no quota, tables swept when older than the maximum age', async () => {
  const contexts = (await bob.get('/hub/api/mydb/contexts')).json;
  assert.deepEqual(
    contexts
      .slice(0, 2)
      .map((c: { name: string; kind: string; schema: string }) => [c.name, c.kind, c.schema]),
    [
      ['mydb', 'mydb', 'mydb_bob'],
      ['myscratch', 'myscratch', 'myscratch_bob'],
    ],
  );
  await rows(bob, 'bob', 'CREATE TABLE temp_result AS SELECT 1 AS x', 'myscratch');
  await rows(bob, 'bob', 'CREATE TABLE kept AS SELECT 1 AS x');
  assert.deepEqual(await rows(bob, 'bob', 'SELECT x FROM myscratch_bob.temp_result'), [[1]]);
  // Alice cannot see into bob's scratch.
  await assertRefused(
    alice,
    'alice',
    'SELECT * FROM myscratch_bob.temp_result',
    /permission denied for schema myscratch_bob/,
  );
  const hour = 3600 * 1000;
  const later = (hours: number) => new Date(Date.now() + hours * hour);
  assert.deepEqual((await mydb.scratch.sweep({ now: later(71) })).dropped, []);
  assert.deepEqual((await mydb.scratch.sweep({ now: later(73) })).dropped, [
    'myscratch_bob.temp_result',
  ]);
  await assertRefused(
    bob,
    'bob',
    'SELECT * FROM myscratch_bob.temp_result',
    /relation "myscratch_bob.temp_result" does not exist/,
  );
  assert.deepEqual(await rows(bob, 'bob', 'SELECT x FROM kept'), [[1]]);
});

test('a shared table is readable by the grantee, read-only, until the share is taken back', async () => {
  await rows(
    alice,
    'alice',
    'CREATE TABLE shared_t AS SELECT 1 AS x; CREATE TABLE private_t AS SELECT 2 AS y',
  );
  assert.equal(
    (await alice.post('/hub/api/users/alice/mydb/shares', { table: 'no_such', user: 'bob' }))
      .status,
    404,
  );
  assert.equal(
    (await bob.post('/hub/api/users/alice/mydb/shares', { table: 'shared_t', user: 'bob' })).status,
    403,
  );
  const share = await alice.post('/hub/api/users/alice/mydb/shares', {
    table: 'shared_t',
    user: 'bob',
  });
  assert.equal(share.status, 201, share.text);
  assert.deepEqual(
    { ...share.json, id: 0, granted_at: '' },
    { id: 0, table: 'shared_t', user: 'bob', group: null, public: false, granted_at: '' },
  );
  const listed = (await alice.get('/hub/api/users/alice/mydb/shares')).json.shares;
  assert.deepEqual(
    listed.map((s: { id: number }) => s.id),
    [share.json.id],
  );

  const shared = (await bob.get('/hub/api/mydb/contexts')).json.find(
    (c: { kind: string }) => c.kind === 'shared',
  );
  assert.deepEqual(shared, {
    name: 'mydb:alice',
    kind: 'shared',
    schema: 'mydb_alice',
    description: "alice's MyDB (shared tables: shared_t)",
    actions: ['read'],
  });
  const browsed = (await bob.get('/hub/api/mydb/contexts/mydb:alice/tables')).json;
  assert.deepEqual(
    browsed.map((t: { name: string }) => t.name),
    ['shared_t'],
  );
  assert.deepEqual(await rows(bob, 'bob', 'SELECT x FROM shared_t', 'mydb:alice'), [[1]]);
  await assertRefused(
    bob,
    'bob',
    'SELECT * FROM mydb_alice.private_t',
    /permission denied for table private_t/,
  );
  await assertRefused(
    bob,
    'bob',
    'INSERT INTO mydb_alice.shared_t VALUES (5)',
    /permission denied for table shared_t/,
  );
  assert.equal((await query(carol, 'carol', 'SELECT 1', 'mydb:alice')).status, 404);

  // A grant alice makes herself, outside RACM, is taken back after her query.
  await rows(
    alice,
    'alice',
    'GRANT SELECT ON private_t TO PUBLIC; GRANT SELECT (y) ON private_t TO CURRENT_USER',
  );
  await assertRefused(
    carol,
    'carol',
    'SELECT * FROM mydb_alice.private_t',
    /permission denied for schema mydb_alice/,
  );
  await assertRefused(
    bob,
    'bob',
    'SELECT * FROM mydb_alice.private_t',
    /permission denied for table private_t/,
  );

  const removed = await alice.delete(`/hub/api/users/alice/mydb/shares/${share.json.id}`);
  assert.equal(removed.status, 204, removed.text);
  await assertRefused(
    bob,
    'bob',
    'SELECT * FROM mydb_alice.shared_t',
    /permission denied for schema mydb_alice/,
  );
  assert.ok(!(await contextNames(bob)).includes('mydb:alice'));
  assert.equal(
    (await alice.delete(`/hub/api/users/alice/mydb/shares/${share.json.id}`)).status,
    404,
  );
});

test('a whole MyDB shared with a group: tables made later too, refused once a member leaves', async () => {
  const groupId = await makeGroup(alice, 'alice-friends', [[carol, 'carol']]);
  assert.equal(
    (await alice.post('/hub/api/users/alice/mydb/shares', { group: 999_999 })).status,
    404,
  );
  const share = await alice.post('/hub/api/users/alice/mydb/shares', { group: groupId });
  assert.equal(share.status, 201, share.text);
  assert.deepEqual(share.json.group, { id: groupId, name: 'alice-friends' });
  await rows(alice, 'alice', 'CREATE TABLE made_later AS SELECT 3 AS z');
  assert.deepEqual(await rows(carol, 'carol', 'SELECT z FROM made_later', 'mydb:alice'), [[3]]);
  assert.deepEqual(await rows(carol, 'carol', 'SELECT y FROM mydb_alice.private_t'), [[2]]);
  const left = await carol.delete(`/hub/api/groups/${groupId}/members/carol`);
  assert.equal(left.status, 204, left.text);
  await assertRefused(
    carol,
    'carol',
    'SELECT * FROM mydb_alice.made_later',
    /permission denied for schema mydb_alice/,
  );
  assert.equal((await query(carol, 'carol', 'SELECT 1', 'mydb:alice')).status, 404);
  assert.equal(
    (await alice.delete(`/hub/api/users/alice/mydb/shares/${share.json.id}`)).status,
    204,
  );
});

test('a public MyDB is readable by everyone until it is unpublished', async () => {
  const share = await alice.post('/hub/api/users/alice/mydb/shares', { public: true });
  assert.equal(share.status, 201, share.text);
  assert.equal(share.json.public, true);
  assert.deepEqual(await rows(dora, 'dora', 'SELECT y FROM private_t', 'mydb:alice'), [[2]]);
  assert.deepEqual(await rows(bob, 'bob', 'SELECT y FROM mydb_alice.private_t'), [[2]]);
  assert.equal(
    (await alice.delete(`/hub/api/users/alice/mydb/shares/${share.json.id}`)).status,
    204,
  );
  await assertRefused(
    dora,
    'dora',
    'SELECT * FROM mydb_alice.private_t',
    /permission denied for schema mydb_alice/,
  );
});

test('the account’s removal takes its MyScratch and shares with it', async () => {
  const erin = await signUp(hub.url, 'erin');
  assert.equal((await erin.get('/hub/api/users/erin/mydb')).status, 200);
  await rows(erin, 'erin', 'CREATE TABLE t AS SELECT 1 AS x', 'myscratch');
  await rows(erin, 'erin', 'CREATE TABLE s AS SELECT 1 AS x');
  assert.equal((await erin.post('/hub/api/users/erin/mydb/shares', { user: 'bob' })).status, 201);
  const erinId = await idOf('erin');
  assert.equal((await dora.delete('/hub/api/users/erin')).status, 204);
  const { rows: left } = await science(
    "SELECT nspname FROM pg_namespace WHERE nspname IN ('mydb_erin', 'myscratch_erin')",
  );
  assert.deepEqual(left, []);
  const { rows: resources } = await db.query('SELECT 1 FROM racm_resources WHERE owner_id = $1', [
    erinId,
  ]);
  assert.deepEqual(resources, []);
  assert.ok(!(await contextNames(bob)).includes('mydb:erin'));
});

/** Does each user's role hold USAGE on the schema exactly when RACM lets the user read `context`? */
async function assertMirrorsRacm(context: string): Promise<void> {
  const resource = (await findResourceByName(db, 'DatabaseContext', context))!;
  for (const name of ['alice', 'bob', 'carol', 'dora']) {
    const allowed = await may(db, await idOf(name), 'read', resource.id);
    const { rows: held } = await science(
      'SELECT has_schema_privilege($1, $2, $3) AS usage, has_table_privilege($1, $4, $5) AS select',
      [roles.get(name), `catalog_${context}`, 'USAGE', `catalog_${context}.objects`, 'SELECT'],
    );
    assert.deepEqual(held[0], { usage: allowed, select: allowed }, `${name} on ${context}`);
  }
}

test('RACM changes racing each other leave PostgreSQL exactly as RACM says', async () => {
  const resource = (await findResourceByName(db, 'DatabaseContext', 'secret'))!;
  const path = `/hub/api/racm/resources/${resource.id}/privileges`;
  const given = await Promise.all(
    ['alice', 'bob', 'carol'].map((user) => dora.post(path, { action: 'read', user })),
  );
  for (const answer of given) assert.equal(answer.status, 201, answer.text);
  await assertMirrorsRacm('secret');
  const taken = await Promise.all(
    given.slice(0, 2).map((answer) => dora.delete(`${path}/${answer.json.id}`)),
  );
  for (const answer of taken) assert.equal(answer.status, 204, answer.text);
  await assertMirrorsRacm('secret');
  assert.equal((await dora.delete(`${path}/${given[2]!.json.id}`)).status, 204);
});

test('reconciling at start repairs grants changed behind the hub’s back', async () => {
  await science(
    `GRANT USAGE ON SCHEMA catalog_secret TO ${pg.escapeIdentifier(roles.get('bob')!)};
     GRANT SELECT ON catalog_secret.objects TO ${pg.escapeIdentifier(roles.get('bob')!)};
     REVOKE SELECT ON catalog_open.objects FROM ${pg.escapeIdentifier(roles.get('alice')!)}`,
  );
  await mydb.reconcile();
  await assertMirrorsRacm('secret');
  await assertMirrorsRacm('open');
});
