/**
 * Batch jobs on real Docker through real hubs: outcomes and their reasons (exit code, out of
 * memory, time limit, image missing), cancel, idempotency, output kept in the workspace,
 * fair share and caps with real containers, and a hub closed mid-job whose successor on the
 * same database finds the job and records it once.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import { domain } from '../../src/compute/domainConfig.ts';
import type { HubConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningHub, startHub } from '../../src/server.ts';
import { type Client, createTestDatabase, signUp, testConfig } from '../support.ts';
import { deploymentOf, removeDeployment, waitFor } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const IMAGE = 'orrery/lab:latest';
const MISSING_IMAGE = `orrery/no-such-image-${randomBytes(3).toString('hex')}:none`;
const prefix = `orrery-test-${randomBytes(3).toString('hex')}-`;
/** One port for every hub here, so the users' sessions reach the hub that replaced the last. */
let port = 0;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let config: HubConfig;
let hub: RunningHub;
let alice: Client;
let bob: Client;

function hubConfig(jobs: Partial<HubConfig['jobs']> = {}): HubConfig {
  const base = testConfig(database.url, {
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    compute: {
      domains: [domain('docker', 'docker')],
      namePrefix: prefix,
      images: [IMAGE, MISSING_IMAGE],
    },
  });
  return {
    ...base,
    stateDir: config?.stateDir ?? base.stateDir,
    secretKey: config?.secretKey ?? base.secretKey,
    jobs: { ...base.jobs, pollMs: 200, staleSeconds: 2, ...jobs },
  };
}

const open = (c: HubConfig) => startHub(c, createLogger('warn'));

before(async () => {
  if (skip) return;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  database = await createTestDatabase('jobs_docker');
  config = hubConfig();
  hub = await open(config);
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
});

after(async () => {
  if (skip) return;
  await hub?.close();
  const names = await deploymentOf(database.url, prefix);
  await removeDeployment(names);
  await database.drop();
});

async function submit(client: Client, user: string, body: Record<string, unknown>) {
  const res = await client.post(`/hub/api/users/${user}/jobs`, body);
  assert.equal(res.status, 201, res.text);
  return res.json.id as number;
}

async function ended(client: Client, user: string, id: number, timeoutMs = 60_000) {
  // biome-ignore lint/suspicious/noExplicitAny: the job's JSON as the hub answered it
  let job: any;
  await waitFor(`job ${id} to end`, timeoutMs, async () => {
    job = (await client.get(`/hub/api/users/${user}/jobs/${id}`)).json;
    return !['queued', 'running'].includes(job.status);
  });
  return job;
}

const jobContainers = async () =>
  (
    await run('docker', ['ps', '-a', '--filter', `name=^${prefix}`, '--format', '{{.Names}}'])
  ).stdout
    .split('\n')
    .filter((n) => n.includes('-job-'));

test('a command runs in the workspace; its output is kept; it succeeds', { skip }, async () => {
  const id = await submit(alice, 'alice', {
    command: 'echo hello; echo oops >&2; echo kept > "$ORRERY_JOB_OUTPUT/result.txt"',
    image: IMAGE,
  });
  const job = await ended(alice, 'alice', id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  assert.equal(job.exit_code, 0);
  assert.equal(job.output_folder, `jobs/${id}`);
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.deepEqual(logs, { stdout: 'hello\n', stderr: 'oops\n', complete: true });
  // The next job finds the file in the same workspace, in its working folder.
  const reader = await submit(alice, 'alice', {
    command: 'cat result.txt',
    image: IMAGE,
    working_dir: `jobs/${id}`,
  });
  assert.equal((await ended(alice, 'alice', reader)).status, 'succeeded');
  const read = (await alice.get(`/hub/api/users/alice/jobs/${reader}/logs`)).json;
  assert.equal(read.stdout, 'kept\n');
  assert.deepEqual(await jobContainers(), [], 'ended jobs leave no container');
});

test('a failure says why: exit code, out of memory, image missing', { skip }, async () => {
  const exit = await submit(alice, 'alice', { command: 'exit 3', image: IMAGE });
  const oom = await submit(alice, 'alice', {
    command: 'head -c 200000000 /dev/zero | tail > /dev/null',
    image: IMAGE,
    memory_mb: 16,
  });
  const missing = await submit(alice, 'alice', { command: 'true', image: MISSING_IMAGE });
  const exited = await ended(alice, 'alice', exit);
  assert.equal(exited.status, 'failed');
  assert.equal(exited.failure, 'exit_code');
  assert.equal(exited.exit_code, 3);
  assert.match(exited.message, /status 3/);
  const killed = await ended(alice, 'alice', oom);
  assert.equal(killed.status, 'failed', JSON.stringify(killed));
  assert.equal(killed.failure, 'oom');
  const lost = await ended(alice, 'alice', missing);
  assert.equal(lost.failure, 'image_missing');
  assert.match(lost.message, /not on the host/);
});

test('a job is stopped at its time limit; a running job can be cancelled', { skip }, async () => {
  const slow = await submit(alice, 'alice', {
    command: 'sleep 120',
    image: IMAGE,
    time_limit_seconds: 2,
  });
  const cancelMe = await submit(bob, 'bob', { command: 'echo started; sleep 120', image: IMAGE });
  const timed = await ended(alice, 'alice', slow);
  assert.equal(timed.status, 'timed_out');
  assert.match(timed.message, /time limit of 2 s/);
  await waitFor('bob’s job to run', 30_000, async () => {
    const logs = (await bob.get(`/hub/api/users/bob/jobs/${cancelMe}/logs`)).json;
    return logs.stdout === 'started\n';
  });
  const cancelled = await bob.post(`/hub/api/users/bob/jobs/${cancelMe}/cancel`);
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.status, 'cancelled');
  assert.deepEqual(await jobContainers(), [], 'the cancelled job’s container is gone');
  const again = await bob.post(`/hub/api/users/bob/jobs/${cancelMe}/cancel`);
  assert.equal(again.json.status, 'cancelled', 'cancelling twice is fine');
  const ended409 = await alice.post(`/hub/api/users/alice/jobs/${slow}/cancel`);
  assert.equal(ended409.status, 409);
  // Resubmit: a new job with the old definition.
  const re = await bob.post(`/hub/api/users/bob/jobs/${cancelMe}/resubmit`);
  assert.equal(re.status, 201, re.text);
  assert.equal(re.json.resubmitted_from, cancelMe);
  assert.equal(re.json.command, 'echo started; sleep 120');
  await bob.post(`/hub/api/users/bob/jobs/${re.json.id}/cancel`);
});

test('an idempotency key returns the same job (200), bad input is a 4xx', { skip }, async () => {
  const body = { command: 'true', image: IMAGE, idempotency_key: 'run-1' };
  const first = await alice.post('/hub/api/users/alice/jobs', body);
  const second = await alice.post('/hub/api/users/alice/jobs', body);
  assert.equal(first.status, 201);
  assert.equal(second.status, 200);
  assert.equal(second.json.id, first.json.id);
  const bad = [
    { command: 'true', image: 'elsewhere/image' },
    { command: 'true', domain: 'nowhere' },
    { command: 'true', working_dir: '../bob' },
    { command: 'true', time_limit_seconds: 10 ** 9 },
    { command: '' },
    { command: 'true', extra: 1 },
  ];
  for (const body of bad) {
    const res = await alice.post('/hub/api/users/alice/jobs', body);
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.status} ${res.text}`);
    assert.ok(res.json.error && res.json.message);
  }
  assert.equal((await alice.post('/hub/api/users/bob/jobs', { command: 'true' })).status, 403);
  assert.equal((await alice.get(`/hub/api/users/alice/jobs/${10 ** 9}`)).status, 404);
  await ended(alice, 'alice', first.json.id);
});

test('fair share and caps with real containers', { skip }, async () => {
  await hub.close();
  hub = await open(
    hubConfig({ defaults: { maxRunning: 1, maxRunningPerUser: 1, maxSeconds: 600 } }),
  );
  // New users: no use of the domain yet, whatever the tests above ran.
  const carol = await signUp(hub.url, 'carol');
  const dave = await signUp(hub.url, 'dave');
  const carols = [];
  for (let i = 0; i < 3; i++)
    carols.push(await submit(carol, 'carol', { command: 'sleep 1', image: IMAGE }));
  const daves = await submit(dave, 'dave', { command: 'sleep 1', image: IMAGE });
  let most = 0;
  const all = [
    ...carols.map((id) => [carol, 'carol', id] as const),
    [dave, 'dave', daves] as const,
  ];
  await waitFor('all four jobs to end', 90_000, async () => {
    const running = (await jobContainers()).length;
    most = Math.max(most, running);
    const jobs = await Promise.all(
      all.map(async ([c, u, id]) => (await c.get(`/hub/api/users/${u}/jobs/${id}`)).json),
    );
    return jobs.every((j) => j.status === 'succeeded');
  });
  assert.ok(most <= 1, `at most one job ran at once (saw ${most})`);
  const started = await Promise.all(
    all.map(async ([c, u, id]) => ({
      id,
      at: Date.parse((await c.get(`/hub/api/users/${u}/jobs/${id}`)).json.started_at),
    })),
  );
  const order = started.sort((a, b) => a.at - b.at).map((s) => s.id);
  assert.equal(order[1], daves, 'dave’s one job started right after carol’s first');
});

test('a hub closed mid-job: the next hub finds the job, records it once, re-queues a lost start', {
  skip,
}, async () => {
  const id = await submit(alice, 'alice', {
    command: 'sleep 3; echo done',
    image: IMAGE,
  });
  await waitFor('the job to run', 30_000, async () => (await jobContainers()).length === 1);
  await hub.close();
  // A start claimed by a hub that died before making the container.
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const { rows } = await db.query(
    `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes, time_limit_seconds,
                       status, dispatcher, heartbeat_at, attempts, started_at, container_name)
     SELECT id, 'echo again', $1, 'docker', 1, 268435456, 60, 'running', 'dead-hub',
            now() - interval '1 hour', 1, now() - interval '1 hour', $2 || 'job-lost'
       FROM users WHERE name = 'alice' RETURNING id::int`,
    [IMAGE, prefix],
  );
  const lost: number = rows[0].id;
  await db.query('UPDATE jobs SET container_name = $1 WHERE id = $2', [
    `${(await deploymentOf(database.url, prefix)).resourcePrefix}job-${lost}`,
    lost,
  ]);
  await db.end();
  assert.equal((await jobContainers()).length, 1, 'the job outlives its hub');
  hub = await open(hubConfig());
  const job = await ended(alice, 'alice', id);
  assert.equal(job.status, 'succeeded');
  assert.equal(job.attempts, 1, 'started once');
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.equal(logs.stdout, 'done\n', 'its output, once');
  const requeued = await ended(alice, 'alice', lost);
  assert.equal(requeued.status, 'succeeded', JSON.stringify(requeued));
  assert.equal(requeued.attempts, 2, 'queued again and started by the new hub');
  assert.deepEqual(await jobContainers(), []);
});
