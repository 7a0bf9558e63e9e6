/**
 * Several hubs on one database: a hub killed (SIGKILL) while it ran a batch query has that query
 * found by another hub through its stale heartbeat, marked failed ("the hub stopped while it
 * ran"), its backend ended and no table left. Then the per-user cap across the queue.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { scienceDatabaseUrlOf } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { type RunningHub, startHub } from '../src/server.ts';
import { batchTestMydb } from './mydbBatchRecovery.config.ts';
import { Client, createTestDatabase, signUp, testConfig } from './support.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let child: ChildProcess | undefined;
let second: RunningHub | undefined;
let science: pg.Pool | undefined;
const secretKey = randomBytes(32).toString('base64url');

before(async () => {
  database = await createTestDatabase('mydbrecovery');
});

after(async () => {
  child?.kill('SIGKILL');
  await science?.end();
  await second?.close();
  await database.drop();
});

/** Start the hub process on the test database; its URL once it listens. */
async function startChild(): Promise<string> {
  child = spawn(
    process.execPath,
    ['--import', 'tsx', 'hub/test/mydbBatchHub.ts', database.url, secretKey],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return JSON.parse(line).url;
}

async function waitFor(client: Client, name: string, id: number, ...statuses: string[]) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const seen = await client.get(`/hub/api/users/${name}/mydb/batch/${id}`);
    assert.equal(seen.status, 200, seen.text);
    if (statuses.includes(seen.json.status)) return seen.json;
    if (Date.now() > deadline)
      throw new Error(`batch query ${id} still ${seen.json.status}, not ${statuses.join('|')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function login(url: string, name: string): Promise<Client> {
  const client = new Client(url);
  const answer = await client.post('/hub/api/login', { username: name, password: 'correct horse' });
  assert.equal(answer.status, 200, answer.text);
  return client;
}

test('a query of a hub killed mid-run is failed by another hub; no backend, no table', async () => {
  const firstUrl = await startChild();
  const alice = await signUp(firstUrl, 'alice');
  const submitted = await alice.post('/hub/api/users/alice/mydb/batch', {
    sql: 'SELECT 1 AS s FROM pg_sleep(3600)',
    table: 'orphan',
  });
  assert.equal(submitted.status, 202, submitted.text);
  const { id } = submitted.json;
  await waitFor(alice, 'alice', id, 'running');

  child!.kill('SIGKILL');
  await once(child!, 'exit');
  child = undefined;

  second = await startHub(
    testConfig(database.url, { secretKey, mydb: batchTestMydb() }),
    createLogger('warn'),
  );
  science = new pg.Pool({ connectionString: scienceDatabaseUrlOf(second.hub.config), max: 2 });
  const again = await login(second.url, 'alice');
  const failed = await waitFor(again, 'alice', id, 'failed', 'finished', 'cancelled');
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.message, 'The hub stopped while it ran; submit it again');
  const deadline = Date.now() + 8000;
  for (;;) {
    const { rowCount } = await science.query(
      'SELECT 1 FROM pg_stat_activity WHERE application_name = $1',
      [`orrery-mydb-batch:${id}`],
    );
    if (!rowCount) break;
    if (Date.now() > deadline) throw new Error('the killed hub’s backend is still running');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { rowCount } = await science.query(
    "SELECT 1 FROM pg_tables WHERE schemaname = 'mydb_alice' AND tablename = 'orphan'",
  );
  assert.equal(rowCount, 0);
});

test('one running per user here: the second waits first in line, another user runs', async () => {
  const alice = await login(second!.url, 'alice');
  const bob = await signUp(second!.url, 'bob');
  const sleep = { sql: 'SELECT 1 AS s FROM pg_sleep(3600)' };
  const first = (await alice.post('/hub/api/users/alice/mydb/batch', sleep)).json.id;
  await waitFor(alice, 'alice', first, 'running');
  const waiting = await alice.post('/hub/api/users/alice/mydb/batch', sleep);
  assert.equal(waiting.json.status, 'queued');
  assert.equal(waiting.json.queue_position, 1);
  const bobs = await bob.post('/hub/api/users/bob/mydb/batch', sleep);
  await waitFor(bob, 'bob', bobs.json.id, 'running');
  // Still waiting: alice's cap, not the hub's, holds it.
  const still = await alice.get(`/hub/api/users/alice/mydb/batch/${waiting.json.id}`);
  assert.equal(still.json.status, 'queued');
  await alice.post(`/hub/api/users/alice/mydb/batch/${first}/cancel`);
  await waitFor(alice, 'alice', waiting.json.id, 'running');
  for (const [client, name, id] of [
    [alice, 'alice', waiting.json.id],
    [bob, 'bob', bobs.json.id],
  ] as const)
    assert.equal((await client.post(`/hub/api/users/${name}/mydb/batch/${id}/cancel`)).status, 200);
});

test('two hubs on one database share the caps: never more running than the total', async () => {
  const other = await startHub(
    testConfig(database.url, { secretKey, mydb: batchTestMydb() }),
    createLogger('warn'),
  );
  try {
    const sleep = { sql: 'SELECT 1 AS s FROM pg_sleep(3600)' };
    const submitted: [Client, string, number][] = [];
    // Four users, one query each, half through each hub: the total cap (3) holds one back.
    for (const [index, name] of ['carol', 'dave', 'erin', 'frank'].entries()) {
      const url = index % 2 ? other.url : second!.url;
      const client = await signUp(url, name);
      const answer = await client.post(`/hub/api/users/${name}/mydb/batch`, sleep);
      assert.equal(answer.status, 202, answer.text);
      submitted.push([client, name, answer.json.id]);
    }
    const statuses = async () =>
      Promise.all(
        submitted.map(
          async ([client, name, id]) =>
            (await client.get(`/hub/api/users/${name}/mydb/batch/${id}`)).json.status as string,
        ),
      );
    const deadline = Date.now() + 10_000;
    while ((await statuses()).filter((status) => status === 'running').length < 3) {
      if (Date.now() > deadline) throw new Error('three queries never ran');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Both runners poll every second; give them several chances to overrun the cap.
    for (let i = 0; i < 30; i++) {
      const now = await statuses();
      assert.equal(now.filter((status) => status === 'running').length, 3, now.join());
      assert.equal(now.filter((status) => status === 'queued').length, 1, now.join());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [client, name, id] of submitted)
      await client.post(`/hub/api/users/${name}/mydb/batch/${id}/cancel`);
  } finally {
    await other.close();
  }
});
