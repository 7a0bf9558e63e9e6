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
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import { domain } from '../../src/compute/domainConfig.ts';
import { computeModule } from '../../src/compute/module.ts';
import type { HubConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningHub, startHub } from '../../src/server.ts';
import { type Client, createTestDatabase, releaseViews, signUp, testConfig } from '../support.ts';
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
    // The same root volumes too: users' workspaces are Storage folders of the first hub.
    files: config?.files ?? base.files,
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
  // No lab outlives the test (the cull test starts one).
  for (const backend of hub?.modules.serviceOf(computeModule).backends.values() ?? [])
    for (const server of await backend.listManaged().catch(() => []))
      await backend.stop(server.state).catch(() => undefined);
  await hub?.close();
  await releaseViews(config);
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

/** A file of the user's Storage `persistent` volume, the folder their servers mount as work/. */
async function workspaceFile(client: Client, user: string, file: string): Promise<string | null> {
  const res = await client.get(
    `/hub/api/files/Storage/${user}/persistent/content?path=${encodeURIComponent(file)}`,
  );
  return res.status === 200 ? res.text : null;
}

async function putWorkspaceFile(client: Client, volume: string, file: string, text: string) {
  const folder = path.posix.dirname(file);
  if (folder !== '.') {
    const made = await client.post(`/hub/api/files/${volume}/folders`, {
      path: folder,
      parents: true,
    });
    assert.ok([201, 409].includes(made.status), made.text);
  }
  const res = await client.request(
    'PUT',
    `/hub/api/files/${volume}/content?path=${encodeURIComponent(file)}&overwrite=true`,
    text,
    { 'content-type': 'application/octet-stream' },
  );
  assert.ok([200, 201].includes(res.status), res.text);
}

/** A Python notebook: a `parameters` cell, then `cells` (sources). */
function notebook(parameters: string, ...cells: string[]): string {
  const cell = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source,
  });
  return JSON.stringify({
    cells: [cell(parameters, ['parameters']), ...cells.map((c) => cell(c))],
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  });
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
  assert.deepEqual(logs, {
    stdout: 'hello\n',
    stderr: 'oops\n',
    complete: true,
    stdout_offset: 6,
    stderr_offset: 5,
  });
  assert.ok(job.duration_seconds >= 0);
  // Its outputs are files of the user's Storage workspace: what their servers show as work/.
  assert.equal(await workspaceFile(alice, 'alice', `jobs/${id}/result.txt`), 'kept\n');
  assert.equal(await workspaceFile(alice, 'alice', `jobs/${id}/stdout.txt`), 'hello\n');
  assert.equal(await workspaceFile(alice, 'alice', `jobs/${id}/stderr.txt`), 'oops\n');
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
  // Waiting behind one slot, with the jobs above as history: an estimated start; no duration.
  const waiting = (await dave.get(`/hub/api/users/dave/jobs/${daves}`)).json;
  if (waiting.status === 'queued') {
    assert.ok(waiting.queue_position >= 1);
    assert.ok(Date.parse(waiting.estimated_start_at) >= Date.parse(waiting.submitted_at) - 1000);
    assert.equal(waiting.duration_seconds, null);
  }
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

test('with no poll due, a job queued here starts at once and a freed slot is handed on at once', {
  skip,
}, async () => {
  await hub.close();
  // Polls an hour apart: only this hub's own hints (a job queued here, a container's exit) can
  // start these jobs.
  hub = await open(
    hubConfig({
      pollMs: 3_600_000,
      defaults: { maxRunning: 2, maxRunningPerUser: 2, maxSeconds: 600 },
    }),
  );
  const erin = await signUp(hub.url, 'erin');
  const frank = await signUp(hub.url, 'frank');
  assert.equal((await frank.post('/hub/api/volumes/Storage', { name: 'late' })).status, 201);
  await putWorkspaceFile(frank, 'Storage/frank/late', 'note.txt', 'shared later\n');
  const first = await submit(erin, 'erin', { command: 'sleep 4; echo one', image: IMAGE });
  await waitFor('the first job to run', 30_000, async () => {
    const job = (await erin.get(`/hub/api/users/erin/jobs/${first}`)).json;
    return job.status === 'running';
  });
  // Shared while her first job runs: the second starts on the view the first keeps applied,
  // and sees the share there (the view is live: it appears without a restart).
  const shared = await frank.request('PUT', '/hub/api/volumes/Storage/frank/late/shares', {
    user: 'erin',
    access: 'read',
  });
  assert.equal(shared.status, 200, shared.text);
  const note = 'volumes/Storage/frank/late/note.txt';
  const second = await submit(erin, 'erin', {
    command: `for i in $(seq 100); do [ -f ${note} ] && break; sleep 0.1; done; cat ${note}; sleep 2`,
    image: IMAGE,
  });
  // Both slots taken: this one starts when one of them exits.
  const third = await submit(erin, 'erin', { command: 'echo three', image: IMAGE });
  const outputs = [];
  for (const id of [first, second, third]) {
    const job = await ended(erin, 'erin', id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    outputs.push((await erin.get(`/hub/api/users/erin/jobs/${id}/logs`)).json.stdout);
  }
  assert.deepEqual(outputs, ['one\n', 'shared later\n', 'three\n']);
  await hub.close();
  hub = await open(hubConfig());
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
  // Removed right after their ends are recorded, off the path that frees the slot.
  await waitFor('their containers to be removed', 30_000, async () => {
    return (await jobContainers()).length === 0;
  });
});

test('a job sees the files and volumes the user’s servers see, with the access RACM gives', {
  skip,
}, async () => {
  await putWorkspaceFile(alice, 'Storage/alice/persistent', 'in/data.txt', 'from the lab\n');
  // Alice's own volume (read-write) and bob's, shared with her read-only.
  assert.equal((await alice.post('/hub/api/volumes/Storage', { name: 'survey' })).status, 201);
  assert.equal((await bob.post('/hub/api/volumes/Storage', { name: 'catalog' })).status, 201);
  await putWorkspaceFile(bob, 'Storage/bob/catalog', 'stars.csv', 'ra,dec\n');
  const shared = await bob.request('PUT', '/hub/api/volumes/Storage/bob/catalog/shares', {
    user: 'alice',
    access: 'read',
  });
  assert.equal(shared.status, 200, shared.text);
  const id = await submit(alice, 'alice', {
    command: [
      'cat in/data.txt',
      'cat volumes/Storage/bob/catalog/stars.csv',
      'echo mine > /home/jovyan/volumes/Storage/alice/survey/new.txt && echo wrote-mine',
      'touch /home/jovyan/volumes/Storage/bob/catalog/x 2>/dev/null || echo refused-theirs',
    ].join('; '),
    image: IMAGE,
  });
  const job = await ended(alice, 'alice', id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.equal(logs.stdout, 'from the lab\nra,dec\nwrote-mine\nrefused-theirs\n', logs.stderr);
  const written = await alice.get('/hub/api/files/Storage/alice/survey/content?path=new.txt');
  assert.equal(written.text, 'mine\n');
});

test('a notebook job runs with its parameters; its executed notebook is in the output folder', {
  skip,
}, async () => {
  await putWorkspaceFile(
    alice,
    'Storage/alice/persistent',
    'nb/square.ipynb',
    notebook(
      'n = 1\nname = "nobody"',
      'print("square", n * n, "of", name)',
      'open("here.txt", "w").write("cwd is the notebook folder")',
    ),
  );
  const parameters = { n: 7, name: 'O\'Brien "$(whoami)"' };
  const res = await alice.post('/hub/api/users/alice/jobs', {
    notebook: 'nb/square.ipynb',
    parameters,
    image: IMAGE,
  });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.kind, 'notebook');
  assert.equal(res.json.command, null);
  assert.equal(res.json.working_dir, 'nb');
  assert.deepEqual(res.json.parameters, parameters);
  const id = res.json.id;
  assert.equal(res.json.output_notebook, `jobs/${id}/square.ipynb`);
  const job = await ended(alice, 'alice', id, 120_000);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  const logs = (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json;
  assert.match(logs.stdout, /square 49 of O'Brien "\$\(whoami\)"/);
  const executed = JSON.parse((await workspaceFile(alice, 'alice', job.output_notebook)) ?? '{}');
  const injected = executed.cells.find((c: { metadata: { tags?: string[] } }) =>
    c.metadata.tags?.includes('injected-parameters'),
  );
  assert.ok(injected, 'papermill injected the parameters');
  assert.equal(executed.cells.indexOf(injected), 1, 'right after the parameters cell');
  const printed = JSON.stringify(executed.cells[2].outputs);
  assert.match(printed, /square 49 of O'Brien/);
  assert.deepEqual(
    JSON.parse((await workspaceFile(alice, 'alice', `jobs/${id}/parameters.json`)) ?? 'null'),
    parameters,
  );
  assert.equal(await workspaceFile(alice, 'alice', 'nb/here.txt'), 'cwd is the notebook folder');
});

test('a notebook that fails says which cell raised what; a missing one says so', {
  skip,
}, async () => {
  await putWorkspaceFile(
    alice,
    'Storage/alice/persistent',
    'bad.ipynb',
    notebook('x = 1', 'y = x + 1', 'raise ValueError(f"bad value {y}")'),
  );
  const bad = await submit(alice, 'alice', { notebook: 'bad.ipynb', image: IMAGE });
  const missing = await submit(alice, 'alice', { notebook: 'nowhere/gone.ipynb', image: IMAGE });
  const failed = await ended(alice, 'alice', bad, 120_000);
  assert.equal(failed.status, 'failed', JSON.stringify(failed));
  assert.equal(failed.failure, 'cell_error');
  assert.match(failed.message, /Cell \[3\] raised ValueError: bad value 2/);
  assert.equal(failed.exit_code, 1);
  // The executed notebook is kept, with the traceback in the failing cell.
  assert.match((await workspaceFile(alice, 'alice', failed.output_notebook)) ?? '', /bad value 2/);
  const lost = await ended(alice, 'alice', missing, 120_000);
  assert.equal(lost.failure, 'notebook_error', JSON.stringify(lost));
  assert.match(lost.message, /nowhere\/gone\.ipynb is not in your workspace/);
});

test('bad notebook and sweep submissions are 400s', { skip }, async () => {
  const bad = [
    { notebook: '../bob/x.ipynb' },
    { notebook: '/etc/x.ipynb' },
    { notebook: 'a.py' },
    { command: 'true', notebook: 'a.ipynb' },
    {},
    { command: 'true', parameters: { a: 1 } },
    { notebook: 'a.ipynb', parameters: { 'not a name': 1 } },
    { notebook: 'a.ipynb', parameters: { big: 'x'.repeat(70_000) } },
  ];
  for (const body of bad) {
    const res = await alice.post('/hub/api/users/alice/jobs', { image: IMAGE, ...body });
    // Parameters over 64 KiB meet the hub's body limit first (413) unless it was raised.
    const expected = JSON.stringify(body).length > 64 * 1024 ? 413 : 400;
    assert.equal(res.status, expected, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
    assert.ok(res.json.error && res.json.message);
  }
  const badSweeps = [
    { command: 'true', parameter_sets: [] },
    { command: 'true', parameter_sets: [{ 'A-B': 1 }] },
    { command: 'true', parameter_sets: [{ ok: 1 }, { ['1st']: 2 }] },
    { command: 'true', parameter_sets: [{ a: 'nul\u0000' }] },
    { command: 'true', parameter_sets: [{ a: 1 }], idempotency_key: 'k' },
    { notebook: 'a.ipynb', parameter_sets: Array.from({ length: 1001 }, () => ({})) },
  ];
  const before = (await alice.get('/hub/api/users/alice/jobs?limit=1000')).json.jobs.length;
  for (const body of badSweeps) {
    const res = await alice.post('/hub/api/users/alice/jobs/sweeps', { image: IMAGE, ...body });
    assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
  }
  const after = (await alice.get('/hub/api/users/alice/jobs?limit=1000')).json.jobs.length;
  assert.equal(after, before, 'a refused sweep queues nothing');
  assert.equal(
    (await alice.post('/hub/api/users/bob/jobs/sweeps', { command: 'true', parameter_sets: [{}] }))
      .status,
    403,
  );
});

test('a sweep queues one job per parameter set, in order; a command gets ORRERY_PARAM_', {
  skip,
}, async () => {
  const sets = [
    { seed: 1, label: 'a b' },
    { seed: 2, label: '$(id)' },
    { seed: 3, label: null },
  ];
  const res = await alice.post('/hub/api/users/alice/jobs/sweeps', {
    command: 'echo "$ORRERY_PARAM_seed:$ORRERY_PARAM_label"',
    image: IMAGE,
    parameter_sets: sets,
  });
  assert.equal(res.status, 201, res.text);
  const { sweep_id: sweep, jobs } = res.json;
  assert.equal(jobs.length, 3);
  assert.deepEqual(
    jobs.map((j: { parameters: unknown }) => j.parameters),
    sets,
  );
  assert.ok(jobs.every((j: { sweep_id: string }) => j.sweep_id === sweep));
  const outputs = [];
  for (const job of jobs) {
    const done = await ended(alice, 'alice', job.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    outputs.push((await alice.get(`/hub/api/users/alice/jobs/${job.id}/logs`)).json.stdout);
  }
  assert.deepEqual(outputs, ['1:a b\n', '2:$(id)\n', '3:null\n']);
  // A sweep job resubmitted keeps its parameter set.
  const again = await alice.post(`/hub/api/users/alice/jobs/${jobs[1].id}/resubmit`);
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(again.json.parameters, sets[1]);
  const redone = await ended(alice, 'alice', again.json.id);
  const redoneLogs = (await alice.get(`/hub/api/users/alice/jobs/${redone.id}/logs`)).json;
  assert.equal(redoneLogs.stdout, '2:$(id)\n');
});

test('logs are followed by byte offsets while the job runs', { skip }, async () => {
  const id = await submit(alice, 'alice', {
    command:
      'echo one; printf "é2\\n" >&2; while [ ! -e "$ORRERY_JOB_OUTPUT/go" ]; do sleep 0.2; done; echo two',
    image: IMAGE,
  });
  let stdout = '';
  let stderr = '';
  const offsets = { stdout: 0, stderr: 0 };
  const follow = async () => {
    const res = await alice.get(
      `/hub/api/users/alice/jobs/${id}/logs?stdout_offset=${offsets.stdout}&stderr_offset=${offsets.stderr}`,
    );
    assert.equal(res.status, 200, res.text);
    stdout += res.json.stdout;
    stderr += res.json.stderr;
    offsets.stdout = res.json.stdout_offset;
    offsets.stderr = res.json.stderr_offset;
    return res.json.complete as boolean;
  };
  await waitFor('the first line', 60_000, async () => {
    await follow();
    return stdout === 'one\n' && stderr === 'é2\n';
  });
  assert.deepEqual(offsets, { stdout: 4, stderr: 4 }, 'offsets count bytes');
  // Let it go on: a file in its output folder, written through a second job? No: the
  // workspace is the user's Storage folder, written here through the files API.
  await putWorkspaceFile(alice, 'Storage/alice/persistent', `jobs/${id}/go`, '');
  await waitFor('the job to end and its logs to be complete', 60_000, follow);
  assert.equal(stdout, 'one\ntwo\n');
  assert.equal(stderr, 'é2\n');
  const bad = await alice.get(`/hub/api/users/alice/jobs/${id}/logs?stdout_offset=-1`);
  assert.equal(bad.status, 400);
});

test('a job keeps running across an idle cull of the user’s server, and counts as activity', {
  skip,
}, async () => {
  const compute = hub.modules.serviceOf(computeModule);
  const started = await alice.post('/hub/api/users/alice/servers/lab', {});
  assert.equal(started.status, 202, started.text);
  await waitFor('alice’s lab to run', 180_000, async () => {
    const user = (await alice.get('/hub/api/users/alice')).json;
    return user.servers?.lab?.ready === true;
  });
  const id = await submit(alice, 'alice', {
    command: 'while [ ! -e "$ORRERY_JOB_OUTPUT/go" ]; do sleep 0.2; done; echo survived',
    image: IMAGE,
  });
  await waitFor('the job to run', 60_000, async () => {
    const job = (await alice.get(`/hub/api/users/alice/jobs/${id}`)).json;
    return job.status === 'running';
  });
  // The server has been idle for long: the culler stops it. The job runs on.
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  try {
    await db.query(
      `UPDATE servers SET last_activity_at = now() - interval '10 days'
        WHERE user_id = (SELECT id FROM users WHERE name = 'alice')`,
    );
    await db.query(
      `UPDATE users SET last_login_at = now() - interval '10 days' WHERE name = 'alice'`,
    );
    assert.ok((await compute.cullIdle()) >= 1, 'the idle server was culled');
    await waitFor('the lab to be gone', 60_000, async () => {
      const user = (await alice.get('/hub/api/users/alice')).json;
      return !user.servers?.lab;
    });
    assert.equal((await alice.get(`/hub/api/users/alice/jobs/${id}`)).json.status, 'running');
    // The running job is the user's latest activity: newer than their 10-day-old sign-in.
    const user = (await alice.get('/hub/api/users/alice')).json;
    assert.ok(
      Date.now() - Date.parse(user.last_activity) < 24 * 3600 * 1000,
      `last_activity ${user.last_activity}`,
    );
    await putWorkspaceFile(alice, 'Storage/alice/persistent', `jobs/${id}/go`, '');
    const job = await ended(alice, 'alice', id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(
      (await alice.get(`/hub/api/users/alice/jobs/${id}/logs`)).json.stdout,
      'survived\n',
    );
    const { rows } = await db.query(
      `SELECT type, payload FROM activity
        WHERE type LIKE 'job.%' AND (payload->>'job')::int = $1 ORDER BY id`,
      [id],
    );
    assert.deepEqual(
      rows.map((r) => [r.type, r.payload.status ?? null]),
      [
        ['job.submit', null],
        ['job.end', 'succeeded'],
      ],
    );
  } finally {
    await db.end();
  }
});
