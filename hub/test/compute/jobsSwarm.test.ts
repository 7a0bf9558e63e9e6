/**
 * Batch jobs on a Docker Swarm domain (a one-node swarm on the local daemon, joined by this test
 * if needed and left again), through a hub in a process of its own (jobsFaultHub.ts) so it can
 * be killed: a command job and a notebook job run as one-replica services and write their
 * outputs into the user's Storage folder; a failure reports its exit code (and out of memory,
 * read from the task's container); a job is stopped at its time limit; a cancel removes the service and its network; a job whose
 * hub is killed with SIGKILL is adopted by the next hub and recorded once.
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import pg from 'pg';
import { type Client, createTestDatabase, signUp } from '../support.ts';
import { KillableHub, waitFor } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const IMAGE = 'orrery/lab:latest';
const prefix = `orrery-test-${randomBytes(3).toString('hex')}-`;
const docker = async (...args: string[]) => (await run('docker', args)).stdout.trim();
const lines = (text: string) => text.split('\n').filter(Boolean);

let joinedSwarm = false;
/** Swarm makes this bridge when it is joined and leaves it after: it goes if it was not here. */
let hadGatewayBridge = true;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: pg.Pool;
let hub: KillableHub;
let alice: Client;

/** This test's job services and job networks on the swarm (`<prefix><deployment>-job-<id>`). */
const services = async () =>
  lines(await docker('service', 'ls', '--filter', `name=${prefix}`, '--format', '{{.Name}}'));
const networks = async () =>
  lines(
    await docker('network', 'ls', '--filter', `name=${prefix}`, '--format', '{{.Name}}'),
  ).filter((name) => name.includes('-job-'));

before(async () => {
  if (skip) return;
  if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) !== 'active') {
    hadGatewayBridge = lines(await docker('network', 'ls', '--format', '{{.Name}}')).includes(
      'docker_gwbridge',
    );
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    joinedSwarm = true;
  }
  database = await createTestDatabase('jobs_swarm');
  db = new pg.Pool({ connectionString: database.url, max: 2 });
  hub = new KillableHub({
    databaseUrl: database.url,
    prefix,
    image: IMAGE,
    slots: 4,
    backend: 'swarm',
  });
  await hub.start();
  alice = await signUp(hub.url, 'alice');
});

after(async () => {
  if (skip) return;
  let left: { services: string[]; networks: string[] } | undefined;
  try {
    await hub.kill();
    await db?.end();
    // The swarm may have been left by another test run meanwhile: then there is nothing of it.
    if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) === 'active') {
      left = { services: await services(), networks: await networks() };
      for (const name of left.services) await docker('service', 'rm', name).catch(() => '');
      // Swarm removes a service's task containers, then its network can go.
      await waitFor('the services’ containers to go', 60_000, async () => {
        const tasks = await docker('ps', '-a', '-q', '--filter', `name=^${prefix}`);
        return tasks === '';
      });
      for (const name of await networks()) await docker('network', 'rm', name).catch(() => '');
    }
  } finally {
    await hub.removeLeftovers();
    await database.drop();
    // (Already left, if another run left it meanwhile.)
    if (joinedSwarm) await docker('swarm', 'leave', '--force').catch(() => '');
    if (joinedSwarm && !hadGatewayBridge) await docker('network', 'rm', 'docker_gwbridge');
  }
  assert.deepEqual(
    left ?? { services: [], networks: [] },
    { services: [], networks: [] },
    'the hub left no job service behind',
  );
});

async function submit(body: Record<string, unknown>): Promise<number> {
  const res = await alice.post('/hub/api/users/alice/jobs', { domain: 'swarm', ...body });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.domain, 'swarm');
  return res.json.id;
}

async function ended(id: number, timeoutMs = 120_000) {
  // biome-ignore lint/suspicious/noExplicitAny: the job's JSON as the hub answered it
  let job: any;
  await waitFor(`job ${id} to end`, timeoutMs, async () => {
    job = (await alice.get(`/hub/api/users/alice/jobs/${id}`)).json;
    return !['queued', 'running'].includes(job.status);
  });
  return job;
}

/** A file of alice's Storage `persistent` volume (her workspace), or null. */
async function workspaceFile(file: string): Promise<string | null> {
  const res = await alice.get(
    `/hub/api/files/Storage/alice/persistent/content?path=${encodeURIComponent(file)}`,
  );
  return res.status === 200 ? res.text : null;
}

async function putWorkspaceFile(file: string, text: string): Promise<void> {
  const made = await alice.post('/hub/api/files/Storage/alice/persistent/folders', {
    path: path.posix.dirname(file),
    parents: true,
  });
  assert.ok([201, 409].includes(made.status), made.text);
  const res = await alice.request(
    'PUT',
    `/hub/api/files/Storage/alice/persistent/content?path=${encodeURIComponent(file)}&overwrite=true`,
    text,
    { 'content-type': 'application/octet-stream' },
  );
  assert.ok([200, 201].includes(res.status), res.text);
}

/** The job's service while it runs: its labels and its task's network. */
async function serviceOf(id: number) {
  let name: string | undefined;
  await waitFor(`job ${id}'s service`, 60_000, async () => {
    name = (await services()).find((service) => service.endsWith(`-job-${id}`));
    return name !== undefined;
  });
  const [spec] = JSON.parse(await docker('service', 'inspect', name!));
  return spec;
}

test('a command job runs as a one-replica service and writes into the user’s Storage folder', {
  skip,
}, async () => {
  await putWorkspaceFile('data/in.txt', 'from the workspace');
  const id = await submit({
    command:
      'cat in.txt; echo oops >&2; cp in.txt "$ORRERY_JOB_OUTPUT/copy.txt"; ' +
      'cat /proc/net/route > "$ORRERY_JOB_OUTPUT/route.txt"; sleep 2',
    image: IMAGE,
    working_dir: 'data',
  });
  const service = await serviceOf(id);
  assert.equal(service.Spec.Mode.Replicated.Replicas, 1);
  assert.deepEqual(service.Spec.TaskTemplate.RestartPolicy.Condition, 'none');
  assert.equal(service.Spec.Labels['org.orrery.job'], String(id));
  assert.equal(service.Spec.TaskTemplate.ContainerSpec.User, '1000:1000');
  const job = await ended(id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  assert.equal(job.exit_code, 0);
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.deepEqual(logs, {
    stdout: 'from the workspace',
    stderr: 'oops\n',
    complete: true,
    stdout_offset: 18,
    stderr_offset: 5,
  });
  assert.equal(await workspaceFile(`jobs/${id}/copy.txt`), 'from the workspace');
  assert.equal(await workspaceFile(`jobs/${id}/stderr.txt`), 'oops\n');
  // Its own internal network: an interface, no default route (no gateway) out of it.
  const routes = lines((await workspaceFile(`jobs/${id}/route.txt`)) ?? '').slice(1);
  assert.ok(routes.length > 0, 'the task has its network');
  assert.ok(
    routes.every((route) => route.split(/\s+/)[1] !== '00000000'),
    `no default route: ${routes.join(' | ')}`,
  );
  await waitFor('the service and its network to go', 30_000, async () => {
    return (await services()).length === 0 && (await networks()).length === 0;
  });
});

test('a notebook job runs papermill in a service; its executed notebook is in the workspace', {
  skip,
}, async () => {
  const cell = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source,
  });
  await putWorkspaceFile(
    'nb/square.ipynb',
    JSON.stringify({
      cells: [
        cell('n = 1', ['parameters']),
        cell('print("square", n * n)'),
        cell('open("square.txt", "w").write(str(n * n))'),
      ],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  const id = await submit({ notebook: 'nb/square.ipynb', parameters: { n: 12 }, image: IMAGE });
  const job = await ended(id, 240_000);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.match(logs.stdout, /square 144/);
  const executed = JSON.parse((await workspaceFile(`jobs/${id}/square.ipynb`)) ?? '{}');
  assert.ok(
    executed.cells.some((c: { metadata: { tags?: string[] } }) =>
      c.metadata.tags?.includes('injected-parameters'),
    ),
    'papermill injected the parameters',
  );
  assert.equal(await workspaceFile('nb/square.txt'), '144');
});

test('a failure reports its exit code, out of memory from the task’s container, its time limit', {
  skip,
}, async () => {
  const exit = await submit({ command: 'echo failing; exit 3', image: IMAGE });
  const slow = await submit({
    command: 'echo slow; sleep 120',
    image: IMAGE,
    time_limit_seconds: 5,
  });
  const oom = await submit({
    command: 'head -c 200000000 /dev/zero | tail > /dev/null',
    image: IMAGE,
    memory_mb: 16,
  });
  const exited = await ended(exit);
  assert.equal(exited.status, 'failed', JSON.stringify(exited));
  assert.equal(exited.failure, 'exit_code');
  assert.equal(exited.exit_code, 3);
  assert.match(exited.message, /status 3/);
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${exit}/logs`)).json;
  assert.equal(logs.stdout, 'failing\n');
  const killed = await ended(oom);
  assert.equal(killed.status, 'failed', JSON.stringify(killed));
  assert.equal(killed.failure, 'oom');
  // Stopped (scaled to none) at its time limit, its output kept, its service removed.
  const timed = await ended(slow);
  assert.equal(timed.status, 'timed_out', JSON.stringify(timed));
  assert.match(timed.message, /time limit of 5 s/);
  const slowLogs = (await alice.get(`/hub/api/users/alice/jobs/${slow}/logs`)).json;
  assert.equal(slowLogs.stdout, 'slow\n');
  await waitFor('the timed-out job’s service to go', 30_000, async () =>
    (await services()).every((name) => !name.endsWith(`-job-${slow}`)),
  );
});

test('cancel stops the job: its service and network are removed', { skip }, async () => {
  const id = await submit({ command: 'echo started; sleep 300', image: IMAGE });
  await serviceOf(id);
  await waitFor('the job to print', 60_000, async () => {
    const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
    return logs.stdout === 'started\n';
  });
  const cancelled = await alice.post(`/hub/api/users/alice/jobs/${id}/cancel`);
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.status, 'cancelled');
  assert.deepEqual(await services(), [], 'the cancelled job’s service is gone at once');
  await waitFor('its network to go', 30_000, async () => (await networks()).length === 0);
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.equal(logs.stdout, 'started\n', 'its output so far is kept');
});

test('a job whose hub is killed is adopted by the next hub and recorded once', {
  skip,
}, async () => {
  const id = await submit({
    command: 'echo begun; sleep 6; echo line >> "$ORRERY_JOB_OUTPUT/ran.txt"; echo finished',
    image: IMAGE,
  });
  const service = await serviceOf(id);
  await waitFor('the job to run', 60_000, async () => {
    const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
    return logs.stdout === 'begun\n';
  });
  const before = (await db.query('SELECT dispatcher FROM jobs WHERE id = $1', [id])).rows[0];
  await hub.kill();
  assert.deepEqual(await services(), [service.Spec.Name], 'the service outlives its hub');
  await hub.start();
  alice = await hub.signIn('alice');
  const job = await ended(id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  assert.equal(job.attempts, 1, 'adopted, not started again');
  const row = (await db.query('SELECT dispatcher, stdout FROM jobs WHERE id = $1', [id])).rows[0];
  assert.equal(row.stdout, 'begun\nfinished\n');
  const changes = (
    await db.query(
      `SELECT count(*)::int AS n FROM activity WHERE type = 'job.end' AND payload->>'job' = $1`,
      [String(id)],
    )
  ).rows[0].n;
  assert.equal(changes, 1, 'its end is recorded once');
  assert.notEqual(before.dispatcher, null);
  assert.equal(await workspaceFile(`jobs/${id}/ran.txt`), 'line\n', 'the command ran once');
  await waitFor('the service to go', 30_000, async () => (await services()).length === 0);
});
