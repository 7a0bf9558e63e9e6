/**
 * MyDB spaces against the real PostgreSQL server: made on first use, once, in the science
 * database; the user's role logs in there (and nowhere else), writes only its own schema, and
 * goes with the account. The test server trusts local connections, so the derived SCRAM
 * password is set but not checked here (docs/mydb.md, "Testing").
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { scienceDatabaseUrlOf } from '../src/config.ts';
import { mydbModule } from '../src/mydb/module.ts';
import type { MydbService } from '../src/mydb/service.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let science: pg.Pool;
let mydb: MydbService;
let admin: Client;
const roleClients: pg.Client[] = [];

before(async () => {
  hub = await startTestHub('mydb');
  db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  science = new pg.Pool({ connectionString: scienceDatabaseUrlOf(hub.hub.config), max: 2 });
  mydb = hub.modules.serviceOf(mydbModule);
  admin = await signUp(hub.url, 'mod');
  await db.query(`UPDATE users SET admin = true WHERE name = 'mod'`);
});

after(async () => {
  for (const client of roleClients) await client.end().catch(() => {});
  await science.end();
  await db.end();
  await hub.stop();
});

const idOf = async (name: string): Promise<number> =>
  (await db.query('SELECT id FROM users WHERE name = $1', [name])).rows[0].id;

/** A connection that logged in as the user's own role, with its derived password. */
async function connectAs(name: string, database = mydb.science.name): Promise<pg.Client> {
  const space = (await db.query('SELECT role_name FROM mydb_spaces WHERE user_id = $1', [
    await idOf(name),
  ])) as pg.QueryResult<{ role_name: string }>;
  const url = new URL(scienceDatabaseUrlOf(hub.hub.config));
  url.username = space.rows[0]!.role_name;
  url.password = mydb.passwordOf(await idOf(name));
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => {});
  roleClients.push(client);
  await client.connect();
  return client;
}

const rolesNamed = async (role: string) =>
  (await science.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount;
const schemasNamed = async (schema: string) =>
  (await science.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount;

test('the first call makes the space in the science database; the second returns the same', async () => {
  const alice = await signUp(hub.url, 'alice');
  const first = await alice.get('/hub/api/users/alice/mydb');
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.schema, 'mydb_alice');
  assert.match(first.json.role, /^orrery_[0-9a-f]{8}_u_\d+$/);
  assert.equal(first.json.quota_bytes, 512 * 1024 * 1024);
  assert.equal(first.json.used_bytes, 0);
  const second = await alice.get('/hub/api/users/alice/mydb');
  assert.deepEqual(second.json, first.json);

  // The science database is not the hub's and holds no hub state.
  const hubName = (await db.query('SELECT current_database() AS n')).rows[0].n;
  assert.notEqual(mydb.science.name, hubName);
  assert.equal((await science.query("SELECT to_regclass('public.users') AS t")).rows[0].t, null);
  assert.equal(await schemasNamed('mydb_alice'), 1);
  assert.equal(
    (await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'mydb_alice'")).rowCount,
    0,
  );

  const { rows } = await science.query(
    `SELECT r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit,
            r.rolreplication, r.rolbypassrls, r.rolpassword LIKE 'SCRAM-SHA-256$%' AS scram,
            pg_get_userbyid(n.nspowner) AS owner, s.setconfig
       FROM pg_authid r
       JOIN pg_namespace n ON n.nspname = 'mydb_alice'
       JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
      WHERE r.rolname = $1`,
    [first.json.role],
  );
  assert.deepEqual(rows[0], {
    rolcanlogin: true,
    rolsuper: false,
    rolcreatedb: false,
    rolcreaterole: false,
    rolinherit: false,
    rolreplication: false,
    rolbypassrls: false,
    scram: true,
    // The schema is the hub's (its role here is postgres): the user could otherwise grant itself
    // back what the quota takes; the user's role has USAGE and CREATE on it.
    owner: 'postgres',
    setconfig: ['temp_file_limit=1024MB', 'work_mem=64MB', 'statement_timeout=28800s'],
  });
});

test('two first calls at once make one role and one schema', async () => {
  const dave = await signUp(hub.url, 'dave');
  const answers = await Promise.all([
    dave.get('/hub/api/users/dave/mydb'),
    dave.get('/hub/api/users/dave/mydb'),
  ]);
  for (const answer of answers) assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(answers[0]!.json, answers[1]!.json);
  assert.equal(await rolesNamed(answers[0]!.json.role), 1);
  assert.equal(await schemasNamed('mydb_dave'), 1);
  const id = await idOf('dave');
  assert.equal((await db.query('SELECT 1 FROM mydb_spaces WHERE user_id = $1', [id])).rowCount, 1);
});

test('the role logs in to the science database and writes its own schema, and no other', async () => {
  const carl = await signUp(hub.url, 'carl');
  const bea = await signUp(hub.url, 'bea');
  assert.equal((await carl.get('/hub/api/users/carl/mydb')).status, 200);
  assert.equal((await bea.get('/hub/api/users/bea/mydb')).status, 200);

  const asCarl = await connectAs('carl');
  await asCarl.query('CREATE TABLE mydb_carl.stars (id bigint PRIMARY KEY, ra float8, dec float8)');
  await asCarl.query('INSERT INTO mydb_carl.stars SELECT g, g, g FROM generate_series(1, 1000) g');
  const after = await carl.get('/hub/api/users/carl/mydb');
  assert.ok(after.json.used_bytes > 0, `used_bytes ${after.json.used_bytes}`);

  await assert.rejects(asCarl.query('CREATE TABLE mydb_bea.mine (x int)'), {
    code: '42501',
    message: /permission denied for schema mydb_bea/,
  });
  await assert.rejects(asCarl.query('CREATE TABLE public.mine (x int)'), { code: '42501' });
  const superuser = await asCarl.query('SHOW is_superuser');
  assert.equal(superuser.rows[0].is_superuser, 'off');
});

test('a user’s role cannot connect to the hub’s database', async () => {
  const hubName = (await db.query('SELECT current_database() AS n')).rows[0].n;
  await assert.rejects(connectAs('carl', hubName), {
    code: '42501',
    message: `permission denied for database "${hubName}"`,
    detail: 'User does not have CONNECT privilege.',
  });
});

test('bob cannot see or make alice’s MyDB through the API', async () => {
  const bob = await signUp(hub.url, 'bob');
  const answer = await bob.get('/hub/api/users/alice/mydb');
  assert.equal(answer.status, 403, answer.text);
  const nobody = await bob.get('/hub/api/users/nobody/mydb');
  assert.equal(nobody.status, 403, nobody.text);
  // An admin asking about a user who does not exist learns so, with the rule.
  const missing = await admin.get('/hub/api/users/nobody/mydb');
  assert.equal(missing.status, 404, missing.text);
  assert.equal(missing.json.rule, 'user');
});

test('deleting the account drops its schema and role, even with a session of it open', async () => {
  const erin = await signUp(hub.url, 'erin');
  const space = (await erin.get('/hub/api/users/erin/mydb')).json;
  // A quick query first, so the hub knows erin's space when the account goes.
  const whoFirst = await erin.post('/hub/api/users/erin/mydb/query', {
    sql: 'SELECT current_user',
  });
  assert.deepEqual(whoFirst.json.rows, [[space.role]]);
  const asErin = await connectAs('erin');
  await asErin.query('CREATE TABLE mydb_erin.t (x int)');
  // An open transaction holding a lock on the table: the drop must end it, not wait for it.
  await asErin.query('BEGIN');
  await asErin.query('SELECT * FROM mydb_erin.t');

  const deleted = await admin.delete('/hub/api/users/erin');
  assert.equal(deleted.status, 204, deleted.text);
  assert.equal(await rolesNamed(space.role), 0);
  assert.equal(await schemasNamed('mydb_erin'), 0);
  const pending = await db.query('SELECT last_error FROM account_removals WHERE name = $1', [
    'erin',
  ]);
  assert.equal(pending.rowCount, 0, `removal pending: ${pending.rows[0]?.last_error}`);
  assert.equal(
    (await db.query("SELECT 1 FROM mydb_spaces WHERE schema_name = 'mydb_erin'")).rowCount,
    0,
  );
  // A new account of the same name queries a space of its own, under a role of its own.
  const again = await signUp(hub.url, 'erin');
  const who = await again.post('/hub/api/users/erin/mydb/query', {
    sql: "SELECT current_user, to_regclass('mydb_erin.t') IS NULL AS fresh",
  });
  assert.equal(who.status, 200, who.text);
  assert.notEqual(who.json.rows[0][0], space.role);
  assert.equal(who.json.rows[0][1], true);
});
