/**
 * The job queue's rules on real PostgreSQL, without Docker: fair share, caps, idempotency,
 * the status graph's compare-and-set, adoption of a silent dispatcher's jobs, and concurrent
 * claims from several "hubs" (pools) never exceeding the caps nor claiming a job twice.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { migrate } from '../src/db/migrate.ts';
import { createPool, type Db } from '../src/db/pool.ts';
import type { BatchLimits } from '../src/jobs/config.ts';
import { transition } from '../src/jobs/status.ts';
import {
  adoptStale,
  claimNext,
  heartbeat,
  insertJob,
  type JobDefinition,
  listJobs,
} from '../src/jobs/store.ts';
import { createTestDatabase } from './support.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Db;
const users: Record<string, number> = {};
const HALF_LIFE = 3600;
const WIDE: BatchLimits = { maxRunning: 100, maxRunningPerUser: 100, maxSeconds: 3600 };

const definition = (command = 'true'): JobDefinition => ({
  kind: 'command',
  command,
  notebook: null,
  parameters: null,
  image: 'img',
  domain: 'd',
  workingDir: '',
  cpus: 1,
  memoryBytes: 64 * 1024 * 1024,
  timeLimitSeconds: 60,
});

const submit = (user: string, key: string | null = null) =>
  insertJob(db, { ...definition(), userId: users[user]!, idempotencyKey: key });

const claim = (limits: BatchLimits = WIDE, dispatcher = 'hub-a', on: Db = db) =>
  claimNext(on, 'd', limits, HALF_LIFE, dispatcher, (id) => `job-${id}`);

before(async () => {
  database = await createTestDatabase('jobs');
  await migrate(database.url);
  db = createPool(database.url);
  for (const name of ['alice', 'bob', 'carol']) {
    const { rows } = await db.query(
      'INSERT INTO users (name, safe_name) VALUES ($1, $1) RETURNING id::int',
      [name],
    );
    users[name] = rows[0].id;
  }
});

after(async () => {
  await db.end();
  await database.drop();
});

beforeEach(() => db.query('DELETE FROM jobs'));

test('fair share: one job queued after 1,000 of another user starts at the next free slot', async () => {
  const values = Array.from(
    { length: 1000 },
    (_, i) => `(${users.alice}, 'echo ${i}', 'img', 'd', 1, 1, 60)`,
  );
  await db.query(
    `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes, time_limit_seconds)
     VALUES ${values.join(',')}`,
  );
  const limits = { ...WIDE, maxRunning: 2 };
  const first = await claim(limits);
  const second = await claim(limits);
  assert.equal(first?.userId, users.alice);
  assert.equal(second?.userId, users.alice);
  assert.equal(await claim(limits), null, 'both slots are taken');
  const { id: bobs } = await submit('bob');
  const [queued] = await listJobs(db, { id: bobs }, HALF_LIFE);
  assert.equal(queued?.queuePosition, 1, 'bob is next in line');
  await transition(db, first!.id, ['running'], 'succeeded');
  const next = await claim(limits);
  assert.equal(next?.id, bobs, 'bob’s job takes the freed slot before 998 of alice’s');
});

test('fair share: the user with less recent use goes first, each user oldest first', async () => {
  // Alice ran an hour of CPU a minute ago; carol ran a little; bob nothing.
  await db.query(
    `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes, time_limit_seconds,
                       status, started_at, finished_at)
     VALUES ($1, 'x', 'img', 'd', 1, 1, 60, 'succeeded', now() - interval '61 minutes', now() - interval '1 minute'),
            ($2, 'x', 'img', 'd', 1, 1, 60, 'succeeded', now() - interval '2 minutes', now() - interval '1 minute')`,
    [users.alice, users.carol],
  );
  const a1 = (await submit('alice')).id;
  const c1 = (await submit('carol')).id;
  const b1 = (await submit('bob')).id;
  const b2 = (await submit('bob')).id;
  const order = [];
  for (let job = await claim(); job; job = await claim()) order.push(job.id);
  // Use in CPU-seconds: bob 0, then 1 (his first job, just started), carol about 59 (60 s a
  // minute ago, decayed), alice about 3,540. Each user's own jobs go oldest first.
  assert.deepEqual(order, [b1, b2, c1, a1]);
});

test('the claim takes the first job of the full fair order, whatever the history', async () => {
  // The claim reads one candidate per user; queue_position ranks every queued job. Both must
  // agree on who is next: a seeded mix of finished, running and queued jobs of three users.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const names = ['alice', 'bob', 'carol'];
  for (let i = 0; i < 30; i++) {
    const user = users[names[random(3)]!];
    const ran = 1 + random(5000);
    const ago = random(40_000);
    await db.query(
      `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes, time_limit_seconds,
                         status, started_at, finished_at)
       VALUES ($1, 'x', 'img', 'd', $2, 1, 60, 'succeeded',
               now() - make_interval(secs => $3::int + $4::int), now() - make_interval(secs => $4::int))`,
      [user, 1 + random(4), ran, ago],
    );
  }
  for (let i = 0; i < 60; i++) await submit(names[random(3)]!);
  const order: number[] = [];
  for (;;) {
    const queued = await listJobs(db, { status: 'queued', limit: 1000 }, HALF_LIFE);
    if (queued.length === 0) break;
    const first = queued.find((job) => job.queuePosition === 1);
    const job = await claim();
    assert.equal(job?.id, first?.id, `claim ${order.length + 1} takes position 1`);
    order.push(job!.id);
    // Some end at once, the rest keep running (and counting).
    if (random(2) === 0) await transition(db, job!.id, ['running'], 'succeeded');
  }
  assert.equal(order.length, 60);
});

test('caps: per user and overall, and jobs of other users pass a capped one', async () => {
  for (let i = 0; i < 5; i++) await submit('alice');
  const c = (await submit('carol')).id;
  const limits = { maxRunning: 3, maxRunningPerUser: 2, maxSeconds: 60 };
  const claimed = [await claim(limits), await claim(limits), await claim(limits)];
  assert.deepEqual(
    claimed.map((j) => j?.userId).sort(),
    [users.alice, users.alice, users.carol].sort(),
  );
  assert.ok(claimed.some((j) => j?.id === c));
  assert.equal(await claim(limits), null, 'three running: the domain is full');
  await transition(db, c, ['running'], 'succeeded');
  assert.equal(await claim(limits), null, 'alice is at her own cap of two');
});

test('concurrent claims from several hubs never exceed the caps nor take a job twice', async () => {
  for (let i = 0; i < 30; i++) await submit(i % 2 ? 'alice' : 'bob');
  const pools = [createPool(database.url), createPool(database.url), createPool(database.url)];
  try {
    const limits = { maxRunning: 10, maxRunningPerUser: 6, maxSeconds: 60 };
    const claimed = (
      await Promise.all(
        pools.flatMap((pool, p) =>
          Array.from({ length: 8 }, () => claim(limits, `hub-${p}`, pool)),
        ),
      )
    ).filter((job) => job !== null);
    assert.equal(claimed.length, 10);
    assert.equal(new Set(claimed.map((j) => j.id)).size, 10, 'no job claimed twice');
    const { rows } = await db.query(
      `SELECT user_id::int, count(*)::int AS n FROM jobs WHERE status = 'running' GROUP BY user_id`,
    );
    for (const row of rows) assert.ok(row.n <= 6, `user ${row.user_id} runs ${row.n}`);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
});

test('an idempotency key makes one job per user', async () => {
  const first = await submit('alice', 'k1');
  const again = await submit('alice', 'k1');
  const bobs = await submit('bob', 'k1');
  assert.equal(first.created, true);
  assert.deepEqual(again, { id: first.id, created: false });
  assert.equal(bobs.created, true, 'another user’s key is another job');
  assert.notEqual(bobs.id, first.id);
});

test('status changes are compare-and-set along the status graph', async () => {
  const { id } = await submit('alice');
  await assert.rejects(transition(db, id, ['queued'], 'succeeded'), /cannot go from queued/);
  const job = await claim();
  assert.equal(job?.status, 'running');
  assert.equal(job?.attempts, 1);
  const [one, two] = await Promise.all([
    transition(db, id, ['running'], 'succeeded'),
    transition(db, id, ['running'], 'cancelled'),
  ]);
  assert.equal([one, two].filter((x) => x !== null).length, 1, 'exactly one outcome wins');
  assert.equal(await transition(db, id, ['queued', 'running'], 'cancelled'), null);
  await assert.rejects(
    db.query(`UPDATE jobs SET status = 'failed' WHERE id = $1`, [id]),
    /check/,
    'a failure always says why',
  );
});

test('a silent dispatcher’s running jobs are adopted; a live one’s are not', async () => {
  await submit('alice');
  await submit('bob');
  const a = await claim(WIDE, 'hub-a');
  const b = await claim(WIDE, 'hub-b');
  await db.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [a!.id]);
  await heartbeat(db, 'hub-b');
  assert.deepEqual(await adoptStale(db, 'hub-c', ['d'], 30), [a!.id]);
  const [adopted] = await listJobs(db, { id: a!.id }, HALF_LIFE);
  assert.equal(adopted?.dispatcher, 'hub-c');
  const [kept] = await listJobs(db, { id: b!.id }, HALF_LIFE);
  assert.equal(kept?.dispatcher, 'hub-b');
  // A lost start goes back to the queue and is claimed again as attempt 2.
  await transition(db, a!.id, ['running'], 'queued');
  const again = await claim(WIDE, 'hub-c');
  assert.equal(again?.id, a!.id);
  assert.equal(again?.attempts, 2);
});
