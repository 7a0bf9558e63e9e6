/** The pure parts of batch jobs: limits parsing, the container body, log frames, outcomes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadJobsConfig, parseJobDomains } from '../../src/jobs/config.ts';
import { demultiplex, LOG_TAIL_BYTES, tailText } from '../../src/jobs/containers.ts';
import { notebookFailure, outcomeOf } from '../../src/jobs/dispatcher.ts';
import { estimateStarts } from '../../src/jobs/estimate.ts';
import {
  buildJobSpec,
  checkNotebookPath,
  checkWorkingDir,
  FAILURE_MARKER,
  JOB_LABELS,
  outputNotebookOf,
} from '../../src/jobs/jobSpec.ts';
import { CHUNK_BYTES, characterEnd, readLogs } from '../../src/jobs/logs.ts';
import type { JobRecord } from '../../src/jobs/store.ts';
import { taskOutcome } from '../../src/jobs/swarmContainers.ts';

test('batch limits per domain parse, and a typo names itself', () => {
  assert.deepEqual(parseJobDomains('docker=8/2/86400; big=32/4/600'), {
    docker: { maxRunning: 8, maxRunningPerUser: 2, maxSeconds: 86400 },
    big: { maxRunning: 32, maxRunningPerUser: 4, maxSeconds: 600 },
  });
  assert.throws(() => parseJobDomains('docker=8/2'), /docker: "8\/2"/);
  assert.throws(() => parseJobDomains('docker=0/2/5'), /all positive/);
  assert.throws(() => parseJobDomains('a=1/1/1;a=2/2/2'), /twice/);
  assert.equal(loadJobsConfig({ ORRERY_JOBS: '0' }).dispatch, false);
  assert.deepEqual(loadJobsConfig({}).defaults, {
    maxRunning: 4,
    maxRunningPerUser: 2,
    maxSeconds: 86400,
  });
});

test('a working folder stays inside the workspace', () => {
  assert.equal(checkWorkingDir(''), '');
  assert.equal(checkWorkingDir('a/b/'), 'a/b');
  assert.equal(checkWorkingDir('a/../b'), 'b');
  for (const bad of ['/etc', '..', '../x', 'a/../../x']) assert.equal(checkWorkingDir(bad), null);
});

const job = {
  id: 7,
  kind: 'command',
  notebook: null,
  parameters: null,
  command: 'echo "$HOME"; rm -rf /',
  image: 'img',
  workingDir: 'data',
  cpus: 0.5,
  memoryBytes: 64 * 1024 * 1024,
} as JobRecord;

test('the job container is hardened and its command reaches no shell of ours', () => {
  const spec = buildJobSpec(job, {
    name: 'p-job-7',
    deployment: 'p-',
    owner: 'alice',
    workspaceVolume: 'p-alice-work',
    bindRoots: [],
  });
  assert.equal(spec.User, '1000:1000');
  assert.deepEqual(spec.HostConfig?.CapDrop, ['ALL']);
  assert.deepEqual(spec.HostConfig?.SecurityOpt, ['no-new-privileges']);
  assert.equal(spec.HostConfig?.Privileged, false);
  assert.equal(spec.HostConfig?.NetworkMode, 'none');
  assert.equal(spec.HostConfig?.Memory, spec.HostConfig?.MemorySwap);
  assert.equal(spec.HostConfig?.NanoCpus, 5e8);
  assert.deepEqual(
    spec.HostConfig?.Mounts?.map((m) => [m.Type, m.Source]),
    [['volume', 'p-alice-work']],
  );
  assert.equal(spec.Labels?.[JOB_LABELS.job], '7');
  // The command is data in the environment; the container's own script is constant.
  assert.ok(!spec.Cmd?.join(' ').includes('rm -rf /'));
  assert.ok(spec.Env?.includes('ORRERY_JOB_COMMAND=echo "$HOME"; rm -rf /'));
  assert.ok(spec.Env?.includes('ORRERY_JOB_CWD=/home/jovyan/work/data'));
  assert.throws(
    () =>
      buildJobSpec({ ...job, workingDir: '../x' } as JobRecord, {
        name: 'n',
        deployment: 'd',
        owner: 'o',
        workspaceVolume: 'v',
        bindRoots: [],
      }),
    /leaves the workspace/,
  );
});

test('Docker log frames split into stdout and stderr', () => {
  const frame = (stream: number, text: string) => {
    const body = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };
  const raw = Buffer.concat([frame(1, 'out1 '), frame(2, 'err'), frame(1, 'out2')]);
  const split = demultiplex(raw);
  assert.deepEqual([split.stdout.toString(), split.stderr.toString()], ['out1 out2', 'err']);
  const none = demultiplex(Buffer.alloc(0));
  assert.deepEqual([none.stdout.length, none.stderr.length], [0, 0]);
});

test('an exited container’s outcome: success, exit status, out of memory', () => {
  assert.deepEqual(outcomeOf({ state: 'exited', exitCode: 0, oomKilled: false }), {
    status: 'succeeded',
  });
  assert.equal(outcomeOf({ state: 'exited', exitCode: 2, oomKilled: false }).failure, 'exit_code');
  assert.equal(outcomeOf({ state: 'exited', exitCode: 137, oomKilled: true }).failure, 'oom');
});

const mounts = {
  name: 'p-job-7',
  deployment: 'p-',
  owner: 'alice',
  workspaceVolume: 'p-alice-work',
  bindRoots: ['/srv/storage', '/srv/views'],
};

test('a job binds the Storage workspace and the volume view exactly as a server does', () => {
  const spec = buildJobSpec(job, {
    ...mounts,
    workspaceHostPath: '/srv/storage/3/9',
    volumesViewHostPath: '/srv/views/3',
  });
  assert.deepEqual(spec.HostConfig?.Mounts, [
    { Type: 'bind', Source: '/srv/storage/3/9', Target: '/home/jovyan/work', ReadOnly: false },
    {
      Type: 'bind',
      Source: '/srv/views/3',
      Target: '/home/jovyan/volumes',
      ReadOnly: false,
      BindOptions: { Propagation: 'rslave' },
    },
  ]);
  assert.ok(spec.Env?.includes('ORRERY_VOLUMES_LINK=../volumes'));
  // Binds only from the bind roots, as the spawner checks for servers.
  for (const bad of ['/var/run/docker.sock', '/srv/storage/../etc', '/srv/storagex/1']) {
    assert.throws(
      () => buildJobSpec(job, { ...mounts, workspaceHostPath: bad }),
      /workspaceHostPath/,
    );
  }
});

test('a notebook job: paths inside the workspace, parameters as JSON in the environment', () => {
  assert.equal(checkNotebookPath('a/b.ipynb'), 'a/b.ipynb');
  assert.equal(checkNotebookPath('./a/../b.ipynb'), 'b.ipynb');
  for (const bad of ['', '/etc/x.ipynb', '../x.ipynb', 'a/../../x.ipynb', 'a.py', 'a/', '.'])
    assert.equal(checkNotebookPath(bad), null, bad);
  assert.equal(outputNotebookOf(9, 'a/b c.ipynb'), 'jobs/9/b c.ipynb');
  const notebook = {
    ...job,
    kind: 'notebook',
    command: null,
    notebook: 'a/run.ipynb',
    parameters: { n: 3, name: "x'; touch /tmp/owned #", list: [1, { a: null }] },
  } as JobRecord;
  const spec = buildJobSpec(notebook, mounts);
  const env = Object.fromEntries(
    spec.Env!.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  assert.equal(env.ORRERY_JOB_KIND, 'notebook');
  assert.equal(env.ORRERY_JOB_NOTEBOOK, '/home/jovyan/work/a/run.ipynb');
  assert.equal(env.ORRERY_JOB_OUTPUT_NOTEBOOK, '/home/jovyan/work/jobs/7/run.ipynb');
  assert.deepEqual(JSON.parse(env.ORRERY_JOB_PARAMETERS!), notebook.parameters);
  assert.ok(!spec.Cmd?.join(' ').includes('owned'), 'parameters never reach a command line');
  assert.equal(env.ORRERY_JOB_COMMAND, undefined);
});

test('a sweep command job gets its parameters as ORRERY_PARAM_ variables', () => {
  const spec = buildJobSpec(
    { ...job, parameters: { seed: 4, name: 'a b', flag: true, x: null } } as JobRecord,
    mounts,
  );
  for (const entry of [
    'ORRERY_PARAM_seed=4',
    'ORRERY_PARAM_name=a b',
    'ORRERY_PARAM_flag=true',
    'ORRERY_PARAM_x=null',
  ])
    assert.ok(spec.Env?.includes(entry), entry);
  assert.throws(
    () => buildJobSpec({ ...job, parameters: { 'A=B': 1 } } as JobRecord, mounts),
    /parameter name/,
  );
});

test('a notebook failure is read from the runner’s last stderr line', () => {
  const line = (o: unknown) => `${FAILURE_MARKER}${JSON.stringify(o)}`;
  assert.deepEqual(
    notebookFailure(`noise\n${line({ failure: 'cell_error', message: 'Cell [2] raised E: x' })}\n`),
    { failure: 'cell_error', message: 'Cell [2] raised E: x' },
  );
  assert.deepEqual(notebookFailure(line({ failure: 'weird', message: 'm' })), {
    failure: 'notebook_error',
    message: 'm',
  });
  assert.equal(notebookFailure('Traceback ...\n'), null);
  assert.equal(notebookFailure(`${FAILURE_MARKER}{not json`), null);
});

test('logs from byte offsets: chunks, character boundaries, the kept tail, completeness', () => {
  const none = readLogs(null, { stdout: 0, stderr: 0 }, false);
  assert.deepEqual(none, {
    stdout: '',
    stderr: '',
    complete: false,
    stdout_offset: 0,
    stderr_offset: 0,
  });
  // While running: a character half written waits for the next answer.
  const half = Buffer.from('ab€', 'utf8').subarray(0, 4); // "ab" and 2 of the euro's 3 bytes
  assert.equal(characterEnd(half), 2);
  const live = readLogs(
    { stdout: half, stderr: Buffer.from('e') },
    { stdout: 0, stderr: 0 },
    false,
  );
  assert.deepEqual(
    [live.stdout, live.stdout_offset, live.stderr, live.complete],
    ['ab', 2, 'e', false],
  );
  const next = readLogs(
    { stdout: Buffer.from('ab€!', 'utf8'), stderr: Buffer.from('e') },
    { stdout: live.stdout_offset, stderr: live.stderr_offset },
    false,
  );
  assert.deepEqual([next.stdout, next.stdout_offset, next.stderr], ['€!', 6, '']);
  // Ended, only the tail kept: bytes before it are gone, the offsets still count them.
  const kept = { stdout: 'tail', stderr: '', stdoutBytes: 1000, stderrBytes: 0 };
  const fromStart = readLogs(kept, { stdout: 0, stderr: 0 }, true);
  assert.deepEqual(
    [fromStart.stdout, fromStart.stdout_offset, fromStart.complete],
    ['tail', 1000, true],
  );
  const fromMiddle = readLogs(kept, { stdout: 998, stderr: 0 }, true);
  assert.deepEqual([fromMiddle.stdout, fromMiddle.complete], ['il', true]);
  const beyond = readLogs(kept, { stdout: 5000, stderr: 9 }, true);
  assert.deepEqual([beyond.stdout, beyond.stdout_offset, beyond.stderr_offset], ['', 1000, 0]);
  // A long stream comes in chunks; complete only with the last.
  const long = Buffer.alloc(CHUNK_BYTES + 10, 'x');
  const first = readLogs({ stdout: long, stderr: '' }, { stdout: 0, stderr: 0 }, true);
  assert.equal(first.stdout.length, CHUNK_BYTES);
  assert.equal(first.complete, false);
  const rest = readLogs(
    { stdout: long, stderr: '' },
    { stdout: first.stdout_offset, stderr: 0 },
    true,
  );
  assert.deepEqual([rest.stdout.length, rest.complete], [10, true]);
});

test('the kept tail starts on a character boundary', () => {
  const text = Buffer.concat([Buffer.from('€'), Buffer.alloc(LOG_TAIL_BYTES - 1, 'y')]);
  const tail = tailText(text);
  assert.ok(!tail.includes('\ufffd'));
  assert.equal(Buffer.byteLength(tail), LOG_TAIL_BYTES - 1);
});

test('estimated start: slots free at the typical run time, jobs ahead take it each', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  const at = (s: number) => new Date(now.getTime() + s * 1000);
  // Two slots, both busy: one 40 s into a typical 100 s, one past it (ends any moment).
  const busy = estimateStarts(
    {
      running: [
        { startedAt: ago(40), timeLimitSeconds: 3600 },
        { startedAt: ago(500), timeLimitSeconds: 3600 },
      ],
      typicalSeconds: 100,
    },
    2,
    now,
  );
  assert.deepEqual([1, 2, 3, 4].map(busy), [at(0), at(60), at(100), at(160)]);
  // A free slot: the next job starts now, even without any history.
  const free = estimateStarts(
    { running: [{ startedAt: ago(5), timeLimitSeconds: 60 }], typicalSeconds: null },
    2,
    now,
  );
  assert.deepEqual(free(1), now);
  assert.equal(free(2), null, 'unknown without a typical run time');
  // A time limit caps the expected end.
  const capped = estimateStarts(
    { running: [{ startedAt: ago(10), timeLimitSeconds: 20 }], typicalSeconds: 1000 },
    1,
    now,
  );
  assert.deepEqual(capped(1), at(10));
  // More running than slots (limit lowered): a slot frees only with the second end.
  const over = estimateStarts(
    {
      running: [
        { startedAt: ago(90), timeLimitSeconds: 3600 },
        { startedAt: ago(50), timeLimitSeconds: 3600 },
      ],
      typicalSeconds: 100,
    },
    1,
    now,
  );
  assert.deepEqual(over(1), at(50));
});

test('a Swarm task’s outcome: running, its exit status, or a start that never ran', () => {
  const task = (State: string, extra: { Err?: string; ExitCode?: number } = {}) => ({
    Status: {
      State,
      ...(extra.Err ? { Err: extra.Err } : {}),
      ContainerStatus: extra.ExitCode === undefined ? {} : { ExitCode: extra.ExitCode },
    },
  });
  assert.deepEqual(taskOutcome(undefined), { state: 'running' }, 'no task yet');
  for (const state of ['pending', 'assigned', 'preparing', 'starting', 'running'])
    assert.deepEqual(taskOutcome(task(state)), { state: 'running' }, state);
  assert.deepEqual(taskOutcome(task('complete')), { state: 'exited', exitCode: 0 });
  assert.deepEqual(taskOutcome(task('failed', { Err: 'task: non-zero exit (3)', ExitCode: 3 })), {
    state: 'exited',
    exitCode: 3,
  });
  assert.deepEqual(
    taskOutcome(task('shutdown', { Err: 'task: non-zero exit (137)', ExitCode: 137 })),
    { state: 'exited', exitCode: 137 },
  );
  assert.deepEqual(taskOutcome(task('rejected', { Err: 'No such image: orrery/x:none' })), {
    state: 'rejected',
    imageMissing: true,
    message: "Swarm's task is rejected: No such image: orrery/x:none",
  });
  const mount = taskOutcome(
    task('failed', { Err: 'starting container failed: invalid mount config', ExitCode: 0 }),
  );
  assert.equal(mount.state, 'rejected', 'failed before it ran');
  assert.equal(mount.state === 'rejected' && mount.imageMissing, false);
  assert.equal(taskOutcome(task('orphaned')).state, 'rejected', 'lost with its node');
});
