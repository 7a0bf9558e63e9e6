/**
 * Quick queries' kept connections (rolePool.ts) against the real PostgreSQL server: a connection
 * kept logged in as a user's role serves that user's next quick query on the same backend, and
 * nothing one query left there reaches the next (temporary tables, settings, prepared
 * statements, cursors, LISTEN, advisory locks, an open transaction). A failed query's connection
 * is closed, not reused; another user's query never gets it; the account's removal closes it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { computeModule } from '../src/compute/module.ts';
import { loadConfig, scienceDatabaseUrlOf } from '../src/config.ts';
import { jobsModule } from '../src/jobs/module.ts';
import { MODULES } from '../src/modules.ts';
import { mydbModule } from '../src/mydb/module.ts';
import type { MydbService } from '../src/mydb/service.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let science: pg.Pool;
let mydb: MydbService;
let alice: Client;
let bob: Client;
let aliceRole: string;
let bobRole: string;

before(async () => {
  // No servers here: the hub runs without compute and jobs (their start-up probes are slow).
  hub = await startTestHub(
    'mydbpool',
    { mydb: { ...loadConfig({}).mydb, quickKeptPerUser: 1, quickKeptIdleSeconds: 600 } },
    MODULES.filter((module) => module !== computeModule && module !== jobsModule),
  );
  db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  science = new pg.Pool({ connectionString: scienceDatabaseUrlOf(hub.hub.config), max: 2 });
  mydb = hub.modules.serviceOf(mydbModule);
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  aliceRole = (await alice.get('/hub/api/users/alice/mydb')).json.role;
  bobRole = (await bob.get('/hub/api/users/bob/mydb')).json.role;
});

after(async () => {
  await science.end();
  await db.end();
  await hub.stop();
});

async function rows(client: Client, name: string, sql: string): Promise<unknown[][]> {
  const answer = await client.post(`/hub/api/users/${name}/mydb/query`, { sql });
  assert.equal(answer.status, 200, answer.text);
  return answer.json.rows;
}

/** Wait until the pool keeps `count` connections (a connection goes back once it is reset). */
async function kept(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (mydb.rolePool.size !== count) {
    if (Date.now() > deadline) throw new Error(`the pool kept ${mydb.rolePool.size}, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The role's backends, as PostgreSQL lists them. */
async function backendsOf(role: string): Promise<number[]> {
  const { rows: found } = await science.query(
    'SELECT pid FROM pg_stat_activity WHERE usename = $1 ORDER BY pid',
    [role],
  );
  return found.map((row) => row.pid);
}

async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rowCount } = await science.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
      pid,
    ]);
    if (!rowCount) return;
    if (Date.now() > deadline) throw new Error(`backend ${pid} is still there`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a query sees of its session's state, and the backend it runs on. */
const STATE = `SELECT pg_backend_pid(),
  to_regclass('pg_temp.leak') IS NULL AS no_temp_table,
  current_setting('work_mem') AS work_mem,
  current_setting('search_path') AS search_path,
  current_setting('TimeZone') AS time_zone,
  (SELECT count(*)::int FROM pg_prepared_statements) AS prepared,
  (SELECT count(*)::int FROM pg_cursors WHERE name <> '') AS cursors,
  (SELECT count(*)::int FROM pg_listening_channels()) AS listening,
  (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory,
  coalesce(current_setting('orrery_test.secret', true), '') AS secret,
  current_user::text AS role`;

test('the next quick query runs on the kept backend and finds nothing the last one left', async () => {
  const [fresh] = (await rows(alice, 'alice', STATE)) as [unknown[]];
  const pid = fresh![0];
  await kept(1);
  // Everything a session can keep, made by one quick query (a script, so all of it commits).
  const [[made]] = (await rows(
    alice,
    'alice',
    `CREATE TEMP TABLE leak (x int);
     SET work_mem = '7MB';
     SET TimeZone = 'Asia/Tokyo';
     SET search_path = pg_catalog;
     SET orrery_test.secret = 'hunter2';
     PREPARE leaked AS SELECT 1;
     DECLARE held CURSOR WITH HOLD FOR SELECT 1;
     LISTEN leaked_channel;
     SELECT pg_advisory_lock(4242);
     SELECT pg_backend_pid()`,
  )) as [[unknown]];
  assert.equal(made, pid, 'the script ran on the kept backend');
  await kept(1);
  const [after] = (await rows(alice, 'alice', STATE)) as [unknown[]];
  assert.equal(after![0], pid, 'the same backend, reset');
  assert.deepEqual(after, fresh, 'nothing the script set or made is there');
  assert.deepEqual(fresh!.slice(1), [true, '64MB', fresh![3], 'UTC', 0, 0, 0, 0, '', aliceRole]);
});

test('a transaction a script left open is rolled back before the connection serves again', async () => {
  await kept(1);
  const [[pid]] = (await rows(
    alice,
    'alice',
    `BEGIN; SELECT pg_advisory_xact_lock(77); CREATE TABLE half_made (x int);
     SELECT pg_backend_pid()`,
  )) as [[unknown]];
  await kept(1);
  const [state] = (await rows(
    alice,
    'alice',
    `SELECT pg_backend_pid(), to_regclass('half_made') IS NULL,
       (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())`,
  )) as [unknown[]];
  assert.deepEqual(state, [pid, true, 0]);
});

test('a failed query’s connection is closed, not kept', async () => {
  await kept(1);
  const [[pid]] = (await rows(alice, 'alice', 'SELECT pg_backend_pid()')) as [[unknown]];
  await kept(1);
  const failed = await alice.post('/hub/api/users/alice/mydb/query', {
    sql: 'SELECT 1 / (pg_backend_pid() - pg_backend_pid())',
  });
  assert.equal(failed.status, 400, failed.text);
  await waitGone(pid as number);
  const [[next]] = (await rows(alice, 'alice', 'SELECT pg_backend_pid()')) as [[unknown]];
  assert.notEqual(next, pid);
});

test('another user’s query never gets a kept connection of alice’s role', async () => {
  await kept(1);
  const [alicePid] = await backendsOf(aliceRole);
  assert.ok(alicePid, 'alice has a kept backend');
  const [bobs] = (await rows(
    bob,
    'bob',
    'SELECT pg_backend_pid(), current_user::text, session_user::text',
  )) as [unknown[]];
  assert.notEqual(bobs![0], alicePid);
  assert.deepEqual(bobs!.slice(1), [bobRole, bobRole]);
  // And alice's kept backend is still alice's, idle.
  assert.deepEqual(await backendsOf(aliceRole), [alicePid]);
});

test('removing the account closes its kept connections', async () => {
  const carol = await signUp(hub.url, 'carol');
  const carolRole = (await carol.get('/hub/api/users/carol/mydb')).json.role;
  const before = mydb.rolePool.size;
  await rows(carol, 'carol', 'SELECT 1');
  await kept(before + 1);
  assert.equal((await backendsOf(carolRole)).length, 1);
  const admin = await signUp(hub.url, 'dave');
  await db.query(`UPDATE users SET admin = true WHERE name = 'dave'`);
  const removed = await admin.delete('/hub/api/users/carol');
  assert.ok(removed.status < 300, removed.text);
  await kept(before);
  const deadline = Date.now() + 10_000;
  while ((await backendsOf(carolRole)).length) {
    if (Date.now() > deadline) throw new Error('carol’s backend is still there');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

test('a change of privileges closes every kept connection', async () => {
  await rows(alice, 'alice', 'SELECT 1');
  await kept(2);
  const pids = await backendsOf(aliceRole);
  assert.ok(pids.length);
  await mydb.accessChanged();
  assert.equal(mydb.rolePool.size, 0);
  for (const pid of pids) await waitGone(pid);
});
