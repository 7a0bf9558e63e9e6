/**
 * Quick-query sessions and the query history against the real PostgreSQL server: a temp table
 * and a SET made by one query are there for the next in the same session and nowhere else; a
 * session closes on DELETE, when idle, and when its query overran (backend terminated); a user
 * holds at most a few. The history records every quick query, searchable, newest first.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { loadConfig, scienceDatabaseUrlOf } from '../src/config.ts';
import { mydbModule } from '../src/mydb/module.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

const IDLE_SECONDS = 4;

let hub: TestHub;
let db: pg.Pool;
let science: pg.Pool;
let alice: Client;
let bob: Client;
let aliceRole: string;

before(async () => {
  hub = await startTestHub('mydbsessions', {
    mydb: {
      ...loadConfig({}).mydb,
      quickTimeoutSeconds: 2,
      sessionIdleSeconds: IDLE_SECONDS,
      sessionsPerUser: 2,
    },
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl, max: 2 });
  science = new pg.Pool({ connectionString: scienceDatabaseUrlOf(hub.hub.config), max: 2 });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  aliceRole = (await alice.get('/hub/api/users/alice/mydb')).json.role;
});

after(async () => {
  await science.end();
  await db.end();
  await hub.stop();
});

const query = (client: Client, name: string, body: Record<string, unknown>) =>
  client.post(`/hub/api/users/${name}/mydb/query`, body);
const closeSession = (client: Client, name: string, session: string) =>
  client.delete(`/hub/api/users/${name}/mydb/sessions/${session}`);

/** alice's session backends (the hub names them orrery-mydb-session). */
async function sessionBackends(): Promise<number> {
  const { rowCount } = await science.query(
    `SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND application_name = 'orrery-mydb-session'`,
    [aliceRole],
  );
  return rowCount ?? 0;
}

async function waitBackends(count: number): Promise<void> {
  const deadline = Date.now() + 8000;
  while ((await sessionBackends()) !== count) {
    if (Date.now() > deadline) throw new Error(`alice's session backends never became ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a temp table and a SET made in a session are there for its next query only', async () => {
  const made = await query(alice, 'alice', {
    sql: "CREATE TEMP TABLE picks AS SELECT 7 AS x; SET TimeZone = 'Asia/Tokyo'; SELECT count(*)::int FROM picks",
    session: 'work',
  });
  assert.equal(made.status, 200, made.text);
  assert.deepEqual(made.json.rows, [[1]]);
  const next = await query(alice, 'alice', {
    sql: "SELECT x, current_setting('TimeZone') FROM picks",
    session: 'work',
  });
  assert.equal(next.status, 200, next.text);
  assert.deepEqual(next.json.rows, [[7, 'Asia/Tokyo']]);
  assert.equal(await sessionBackends(), 1);

  // Another session, and a query without one, start clean.
  const other = await query(alice, 'alice', { sql: 'SELECT x FROM picks', session: 'other' });
  assert.equal(other.status, 400, other.text);
  assert.match(other.json.message, /"picks" does not exist/);
  const none = await query(alice, 'alice', { sql: "SELECT current_setting('TimeZone')" });
  assert.deepEqual(none.json.rows, [['UTC']]);

  // The same session name is another session for another user.
  const bobs = await query(bob, 'bob', { sql: 'SELECT x FROM picks', session: 'work' });
  assert.equal(bobs.status, 400, bobs.text);

  // `into` in the session reads the session's temp table.
  const saved = await query(alice, 'alice', {
    sql: 'SELECT x * 2 AS y FROM picks',
    session: 'work',
    into: 'from_session',
  });
  assert.equal(saved.status, 200, saved.text);
  assert.deepEqual(saved.json.table, 'from_session');
  assert.equal(saved.json.row_count, 1);
});

test('a third session is refused; closing one frees its place and its temp tables go', async () => {
  // alice holds "work" and "other" from the test above.
  const third = await query(alice, 'alice', { sql: 'SELECT 1', session: 'third' });
  assert.equal(third.status, 429, third.text);
  assert.equal(third.json.rule, 'mydb_sessions_open');

  const closed = await closeSession(alice, 'alice', 'work');
  assert.equal(closed.status, 204, closed.text);
  // Closing one that is not open is fine; someone else's is not yours to close.
  assert.equal((await closeSession(alice, 'alice', 'never-opened')).status, 204);
  assert.equal((await closeSession(bob, 'alice', 'other')).status, 403);
  assert.equal((await closeSession(alice, 'alice', 'bad name!')).status, 400);

  const reopened = await query(alice, 'alice', { sql: 'SELECT x FROM picks', session: 'work' });
  assert.equal(reopened.status, 400, reopened.text);
  assert.match(reopened.json.message, /"picks" does not exist/);
});

test('an idle session closes by itself, its temp tables with it', async () => {
  await closeSession(alice, 'alice', 'work');
  await closeSession(alice, 'alice', 'other');
  await waitBackends(0);
  const made = await query(alice, 'alice', {
    sql: 'CREATE TEMP TABLE brief AS SELECT 1 AS b',
    session: 'idle',
  });
  assert.equal(made.status, 200, made.text);
  assert.equal(await sessionBackends(), 1);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000 + 500));
  await waitBackends(0);
  const fresh = await query(alice, 'alice', { sql: 'SELECT b FROM brief', session: 'idle' });
  assert.equal(fresh.status, 400, fresh.text);
  assert.match(fresh.json.message, /"brief" does not exist/);
  assert.equal((await closeSession(alice, 'alice', 'idle')).status, 204);
});

test('a session query past the time limit ends the session, and says so', async () => {
  const prepared = await query(alice, 'alice', {
    sql: 'CREATE TEMP TABLE kept AS SELECT 1 AS k',
    session: 'slow',
  });
  assert.equal(prepared.status, 200, prepared.text);
  const slow = await query(alice, 'alice', {
    sql: 'SET statement_timeout = 0; SELECT pg_sleep(3600)',
    session: 'slow',
  });
  assert.equal(slow.status, 408, slow.text);
  assert.match(slow.json.message, /session "slow" was closed/);
  const after = await query(alice, 'alice', { sql: 'SELECT k FROM kept', session: 'slow' });
  assert.equal(after.status, 400, after.text);
  assert.match(after.json.message, /"kept" does not exist/);
  const { rows } = await science.query(
    `SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep(3600)%'`,
    [aliceRole],
  );
  assert.equal(rows.length, 0);
});

test('the history holds every quick query: searchable, newest first, paged', async () => {
  const marker = `marker_${Date.now()}`;
  for (let i = 0; i < 3; i++) await query(alice, 'alice', { sql: `SELECT ${i} AS ${marker}` });
  await query(alice, 'alice', { sql: `SELECT no_such_column AS ${marker}` });
  const all = await alice.get(`/hub/api/users/alice/mydb/history?q=${marker.toUpperCase()}`);
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.total, 4);
  const [failed, ...ok] = all.json.queries;
  assert.equal(failed.status, 'failed');
  assert.match(failed.error, /no_such_column/);
  assert.equal(failed.row_count, null);
  assert.deepEqual(
    ok.map((entry: { sql: string }) => entry.sql),
    [2, 1, 0].map((i) => `SELECT ${i} AS ${marker}`),
  );
  for (const entry of ok) {
    assert.equal(entry.kind, 'quick');
    assert.equal(entry.status, 'finished');
    assert.equal(entry.row_count, 1);
    assert.equal(entry.context, 'mydb');
    assert.equal(typeof entry.duration_ms, 'number');
  }
  const page = await alice.get(`/hub/api/users/alice/mydb/history?q=${marker}&limit=2&offset=1`);
  assert.equal(page.json.total, 4);
  assert.deepEqual(
    page.json.queries.map((entry: { id: number }) => entry.id),
    all.json.queries.slice(1, 3).map((entry: { id: number }) => entry.id),
  );

  // Sessions, `into`, time limits are in it as they ended.
  const slow = await alice.get('/hub/api/users/alice/mydb/history?q=pg_sleep(3600)');
  assert.equal(slow.json.queries[0].status, 'timed_out');
  assert.equal(slow.json.queries[0].session, 'slow');
  const saved = await alice.get('/hub/api/users/alice/mydb/history?q=x * 2');
  assert.equal(saved.json.queries[0].table, 'from_session');
  assert.equal(saved.json.queries[0].row_count, 1);

  // `%` and `_` are searched for as themselves; the search is alice's own.
  assert.equal((await alice.get('/hub/api/users/alice/mydb/history?q=%25')).json.total, 0);
  assert.equal((await bob.get(`/hub/api/users/bob/mydb/history?q=${marker}`)).json.total, 0);
  assert.equal((await bob.get('/hub/api/users/alice/mydb/history')).status, 403);
  assert.equal((await alice.get('/hub/api/users/alice/mydb/history?kind=other')).status, 400);
});

test('the account’s history and sessions go with it', async () => {
  const carol = await signUp(hub.url, 'carol');
  assert.equal((await query(carol, 'carol', { sql: 'SELECT 1', session: 's' })).status, 200);
  const submitted = await carol.post('/hub/api/users/carol/mydb/batch', {
    sql: 'SELECT 1 AS s FROM pg_sleep(3600)',
  });
  assert.equal(submitted.status, 202, submitted.text);
  await hub.modules.serviceOf(mydbModule).recordsWritten();
  const { rows: before } = await db.query(
    `SELECT count(*)::int AS n FROM mydb_queries q JOIN users u ON u.id = q.user_id WHERE u.name = 'carol'`,
  );
  assert.equal(before[0].n, 2);
  const admin = await signUp(hub.url, 'dave');
  await db.query(`UPDATE users SET admin = true WHERE name = 'dave'`);
  const removed = await admin.delete('/hub/api/users/carol');
  assert.ok(removed.status < 300, removed.text);
  const { rows: left } = await db.query(
    'SELECT count(*)::int AS n FROM mydb_queries WHERE user_id NOT IN (SELECT id FROM users)',
  );
  assert.equal(left[0].n, 0);
});

test('a query is answered even when its history cannot be written', async () => {
  await db.query('ALTER TABLE mydb_queries RENAME TO mydb_queries_away');
  try {
    const answer = await query(alice, 'alice', { sql: 'SELECT 41 + 1 AS answer' });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json.rows, [[42]]);
  } finally {
    await db.query('ALTER TABLE mydb_queries_away RENAME TO mydb_queries');
  }
  assert.ok(hub.logLines.some((line) => line.includes('could not record a MyDB query')));
});

test('a session whose backend was ended from outside is lost cleanly, then opened afresh', async () => {
  const made = await query(alice, 'alice', {
    sql: 'CREATE TEMP TABLE doomed AS SELECT 1 AS d',
    session: 'cut',
  });
  assert.equal(made.status, 200, made.text);
  await science.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE usename = $1 AND application_name = 'orrery-mydb-session'`,
    [aliceRole],
  );
  const next = await query(alice, 'alice', { sql: 'SELECT d FROM doomed', session: 'cut' });
  // Either the hub saw the connection end first (a fresh session, no table: 400), or the query
  // found it dead (503); never a 500.
  assert.ok([400, 503].includes(next.status), next.text);
  const fresh = await query(alice, 'alice', { sql: 'SELECT 1 AS ok', session: 'cut' });
  assert.equal(fresh.status, 200, fresh.text);
  await closeSession(alice, 'alice', 'cut');
});
