/**
 * Batch queries against the real PostgreSQL server: queued, run by the hub's runner as the
 * user's own role, results always into a MyDB table; statuses, cancels (queued and running),
 * the time limit enforced from outside, queue positions and the fair pick, and the guarantee
 * that a query that did not finish leaves no table. Also the quick query's `into`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { loadConfig, scienceDatabaseUrlOf } from '../src/config.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let science: pg.Pool;
let alice: Client;
let bob: Client;
let aliceRole: string;

before(async () => {
  hub = await startTestHub('mydbbatch', {
    mydb: {
      ...loadConfig({}).mydb,
      quickTimeoutSeconds: 2,
      batchTimeoutSeconds: 60,
      // Two at once in all, two per user: a third waits, and the fair pick shows.
      batchPerUser: 2,
      batchTotal: 2,
      batchPollSeconds: 1,
      batchStaleSeconds: 30,
    },
  });
  science = new pg.Pool({ connectionString: scienceDatabaseUrlOf(hub.hub.config), max: 2 });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  aliceRole = (await alice.get('/hub/api/users/alice/mydb')).json.role;
  await bob.get('/hub/api/users/bob/mydb');
});

after(async () => {
  await science.end();
  await hub.stop();
});

const submit = (client: Client, name: string, body: Record<string, unknown>) =>
  client.post(`/hub/api/users/${name}/mydb/batch`, body);
const batchOf = (client: Client, name: string, id: number) =>
  client.get(`/hub/api/users/${name}/mydb/batch/${id}`);
const cancel = (client: Client, name: string, id: number) =>
  client.post(`/hub/api/users/${name}/mydb/batch/${id}/cancel`);

/** Wait (at most 15 s) until batch query `id` is in one of `statuses`; its last state. */
async function waitFor(client: Client, name: string, id: number, ...statuses: string[]) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const seen = await batchOf(client, name, id);
    assert.equal(seen.status, 200, seen.text);
    if (statuses.includes(seen.json.status)) return seen.json;
    if (Date.now() > deadline)
      throw new Error(`batch query ${id} still ${seen.json.status}, not ${statuses.join('|')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function tableIn(schema: string, table: string): Promise<string | undefined> {
  const { rows } = await science.query(
    'SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2',
    [schema, table],
  );
  return rows[0]?.tableowner;
}

/** Backends of alice's batch query `id` (by the name the runner gives them). */
async function backendsOf(id: number): Promise<number> {
  const { rowCount } = await science.query(
    'SELECT 1 FROM pg_stat_activity WHERE application_name = $1',
    [`orrery-mydb-batch:${id}`],
  );
  return rowCount ?? 0;
}

/** Wait until the runner's backend for query `id` is there (it logs in after the claim). */
async function waitBackend(id: number): Promise<void> {
  const deadline = Date.now() + 6000;
  while ((await backendsOf(id)) === 0) {
    if (Date.now() > deadline) throw new Error(`batch query ${id} has no backend`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitGone(id: number): Promise<void> {
  const deadline = Date.now() + 6000;
  while ((await backendsOf(id)) > 0) {
    if (Date.now() > deadline) throw new Error(`batch query ${id}'s backend still there`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Cancel every queued or running query of the user, so the next test starts with free slots. */
async function cancelAll(client: Client, name: string): Promise<void> {
  const listed = await client.get(`/hub/api/users/${name}/mydb/batch?limit=1000`);
  for (const query of listed.json.queries)
    if (query.status === 'queued' || query.status === 'running')
      await cancel(client, name, query.id);
  for (const query of listed.json.queries) await waitGone(query.id);
}

test('a batch query runs as the user’s role and fills batch_<id>', async () => {
  const submitted = await submit(alice, 'alice', {
    sql: 'SELECT g AS n, g * g AS square FROM generate_series(1, 5) g',
  });
  assert.equal(submitted.status, 202, submitted.text);
  const { id } = submitted.json;
  assert.ok(['queued', 'running', 'finished'].includes(submitted.json.status));
  assert.equal(submitted.json.table, `batch_${id}`);
  assert.equal(submitted.json.context, 'mydb');
  const done = await waitFor(alice, 'alice', id, 'finished', 'failed');
  assert.equal(done.status, 'finished', JSON.stringify(done));
  assert.equal(done.row_count, 5);
  assert.equal(done.error, null);
  assert.equal(done.queue_position, null);
  assert.ok(done.started_at && done.finished_at);
  assert.equal(await tableIn('mydb_alice', `batch_${id}`), aliceRole);
  const read = await alice.post('/hub/api/users/alice/mydb/query', {
    sql: `SELECT sum(square)::int FROM batch_${id}`,
  });
  assert.deepEqual(read.json.rows, [[55]]);
});

test('a named table is folded to lower case; taken and malformed names are refused', async () => {
  const named = await submit(alice, 'alice', { sql: 'VALUES (1), (2)', table: 'Bright' });
  assert.equal(named.status, 202, named.text);
  assert.equal(named.json.table, 'bright');
  assert.equal((await waitFor(alice, 'alice', named.json.id, 'finished')).row_count, 2);
  const taken = await submit(alice, 'alice', { sql: 'VALUES (1)', table: 'bright' });
  assert.equal(taken.status, 409, taken.text);
  assert.equal(taken.json.rule, 'table_exists');
  for (const table of ['a b', '1x', 'batch_7', 'x"; DROP TABLE bright; --', 'mydb_bob.t', ''])
    assert.equal((await submit(alice, 'alice', { sql: 'VALUES (1)', table })).status, 400, table);
  assert.equal(await tableIn('mydb_alice', 'bright'), aliceRole);
});

test('a query that fails says why and where, and leaves no table', async () => {
  const sql = 'SELECT nosuch FROM generate_series(1, 3) g';
  const { json } = await submit(alice, 'alice', { sql, table: 'broken' });
  const failed = await waitFor(alice, 'alice', json.id, 'failed', 'finished');
  assert.equal(failed.status, 'failed');
  assert.match(failed.error.message, /column "nosuch" does not exist/);
  assert.equal(failed.error.position, sql.indexOf('nosuch') + 1);
  assert.equal(await tableIn('mydb_alice', 'broken'), undefined);

  // Rows written before an error are rolled back with the table.
  const late = await submit(alice, 'alice', {
    sql: 'SELECT 1 / (3 - g) FROM generate_series(1, 5) g',
    table: 'halfway',
  });
  const stopped = await waitFor(alice, 'alice', late.json.id, 'failed', 'finished');
  assert.match(stopped.error.message, /division by zero/);
  assert.equal(await tableIn('mydb_alice', 'halfway'), undefined);

  // A script cannot ride out of the CREATE TABLE … AS around it.
  const script = await submit(alice, 'alice', {
    sql: 'SELECT 1 AS x; DROP TABLE bright',
    table: 'script',
  });
  const refused = await waitFor(alice, 'alice', script.json.id, 'failed', 'finished');
  assert.match(refused.error.message, /one query/);
  assert.equal(await tableIn('mydb_alice', 'script'), undefined);
  assert.equal(await tableIn('mydb_alice', 'bright'), aliceRole);
});

test('the time limit is enforced from outside; nothing is left behind', async () => {
  const { json } = await submit(alice, 'alice', {
    sql: "SELECT set_config('statement_timeout', '0', false) FROM pg_sleep(3600)",
    table: 'sleepy',
    timeout_seconds: 2,
  });
  const failed = await waitFor(alice, 'alice', json.id, 'failed', 'finished');
  assert.match(failed.error.message, /time limit of 2 s/);
  await waitGone(json.id);
  assert.equal(await tableIn('mydb_alice', 'sleepy'), undefined);
});

test('cancel: a queued query never starts, a running one stops and leaves no table', async () => {
  const sleep = 'SELECT 1 AS s FROM pg_sleep(3600)';
  const first = (await submit(alice, 'alice', { sql: sleep, table: 'first' })).json.id;
  const second = (await submit(alice, 'alice', { sql: sleep, table: 'second' })).json.id;
  const third = await submit(alice, 'alice', { sql: sleep, table: 'third' });
  await waitFor(alice, 'alice', first, 'running');
  await waitFor(alice, 'alice', second, 'running');
  assert.equal(third.json.status, 'queued');

  const queued = await cancel(alice, 'alice', third.json.id);
  assert.equal(queued.status, 200, queued.text);
  assert.equal(queued.json.status, 'cancelled');
  assert.equal(queued.json.queue_position, null);
  assert.equal(queued.json.started_at, null);

  // A running one: its backend goes, its table is never committed.
  await waitBackend(second);
  const running = await cancel(alice, 'alice', second);
  assert.equal(running.json.status, 'cancelled');
  await waitGone(second);
  assert.equal(await tableIn('mydb_alice', 'second'), undefined);

  // Twice is a conflict; someone else's is not there.
  assert.equal((await cancel(alice, 'alice', second)).status, 409);
  assert.equal((await cancel(bob, 'bob', first)).status, 404);
  assert.equal((await batchOf(bob, 'bob', first)).status, 404);
  assert.equal((await batchOf(bob, 'alice', first)).status, 403);

  await cancelAll(alice, 'alice');
  const never = await batchOf(alice, 'alice', third.json.id);
  assert.equal(never.json.status, 'cancelled');
  assert.equal(await tableIn('mydb_alice', 'third'), undefined);
});

test('queue positions follow the fair order; bob’s one query starts at the next free slot', async () => {
  const sleep = 'SELECT 1 AS s FROM pg_sleep(3600)';
  const ids: number[] = [];
  for (let i = 0; i < 10; i++) ids.push((await submit(alice, 'alice', { sql: sleep })).json.id);
  await waitFor(alice, 'alice', ids[0]!, 'running');
  await waitFor(alice, 'alice', ids[1]!, 'running');
  const waiting = await alice.get('/hub/api/users/alice/mydb/batch?status=queued');
  assert.equal(waiting.json.total, 8);
  // Newest first; positions 1..8 from the oldest.
  assert.deepEqual(
    waiting.json.queries.map((q: { queue_position: number }) => q.queue_position),
    [8, 7, 6, 5, 4, 3, 2, 1],
  );

  const bobs = await submit(bob, 'bob', { sql: 'SELECT 42 AS answer', table: 'answer' });
  assert.equal(bobs.status, 202, bobs.text);
  // Bob has nothing running: his query comes before alice's third.
  assert.equal(bobs.json.queue_position, 1);
  assert.equal((await batchOf(alice, 'alice', ids[2]!)).json.queue_position, 2);

  // A slot frees: bob's starts (and finishes), not alice's third.
  await cancel(alice, 'alice', ids[0]!);
  const done = await waitFor(bob, 'bob', bobs.json.id, 'finished');
  assert.equal(done.row_count, 1);
  const third = await batchOf(alice, 'alice', ids[2]!);
  assert.ok(third.json.status === 'queued' || third.json.started_at > done.started_at);

  await cancelAll(alice, 'alice');
});

test('into: the result saved as a table, all or nothing', async () => {
  const into = (body: Record<string, unknown>) =>
    alice.post('/hub/api/users/alice/mydb/query', body);
  const saved = await into({ sql: 'SELECT g FROM generate_series(1, 7) g', into: 'Seven' });
  assert.equal(saved.status, 200, saved.text);
  assert.equal(saved.json.table, 'seven');
  assert.equal(saved.json.row_count, 7);
  assert.equal(typeof saved.json.elapsed_ms, 'number');
  assert.equal(await tableIn('mydb_alice', 'seven'), aliceRole);

  const again = await into({ sql: 'SELECT 1', into: 'seven' });
  assert.equal(again.status, 409, again.text);
  assert.equal((await into({ sql: 'SELECT 1', into: 'no-dash' })).status, 400);
  assert.equal((await into({ sql: 'SELECT 1', into: 'x"y' })).status, 400);

  const failing = await into({
    sql: 'SELECT 1 / (3 - g) FROM generate_series(1, 5) g',
    into: 'partial',
  });
  assert.equal(failing.status, 400, failing.text);
  assert.equal(failing.json.rule, 'sql_error');
  assert.equal(await tableIn('mydb_alice', 'partial'), undefined);

  const slow = await into({
    sql: "SELECT set_config('statement_timeout', '0', false) FROM pg_sleep(3600)",
    into: 'slow',
  });
  assert.equal(slow.status, 408, slow.text);
  assert.match(slow.json.message, /no table was made/);
  assert.equal(await tableIn('mydb_alice', 'slow'), undefined);

  const script = await into({ sql: 'SELECT 1; SELECT 2', into: 'twice' });
  assert.equal(script.status, 400, script.text);
  assert.equal(script.json.rule, 'one_query');
});

test('the history of batch queries shows their table and status', async () => {
  const history = await alice.get('/hub/api/users/alice/mydb/history?kind=batch&q=nosuch');
  assert.equal(history.status, 200, history.text);
  assert.equal(history.json.total, 1);
  const [entry] = history.json.queries;
  assert.equal(entry.kind, 'batch');
  assert.equal(entry.status, 'failed');
  assert.equal(entry.table, 'broken');
  assert.match(entry.error, /nosuch/);
  assert.equal(typeof entry.duration_ms, 'number');
});

test('submissions and cancels are in the activity log', async () => {
  const db = new pg.Pool({ connectionString: hub.databaseUrl, max: 1 });
  try {
    const { rows } = await db.query(
      `SELECT a.payload FROM activity a JOIN users u ON u.id = a.user_id
        WHERE u.name = 'alice' AND a.type = 'mydb.batch' ORDER BY a.id`,
    );
    const submitted = rows.filter((row) => row.payload.status === 'submitted');
    const cancelled = rows.filter((row) => row.payload.status === 'cancelled');
    assert.ok(submitted.some((row) => row.payload.sql.includes('generate_series(1, 5)')));
    assert.ok(cancelled.some((row) => row.payload.was === 'queued'));
    assert.ok(cancelled.some((row) => row.payload.was === 'running'));
  } finally {
    await db.end();
  }
});
