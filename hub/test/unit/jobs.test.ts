/** The pure parts of batch jobs: limits parsing, the container body, log frames, outcomes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadJobsConfig, parseJobDomains } from '../../src/jobs/config.ts';
import { demultiplex } from '../../src/jobs/containers.ts';
import { outcomeOf } from '../../src/jobs/dispatcher.ts';
import { buildJobSpec, checkWorkingDir, JOB_LABELS } from '../../src/jobs/jobSpec.ts';
import type { JobRecord } from '../../src/jobs/store.ts';

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
  assert.ok(!spec.Cmd?.join(' ').includes('rm -rf'));
  assert.ok(spec.Env?.includes('ORRERY_JOB_COMMAND=echo "$HOME"; rm -rf /'));
  assert.ok(spec.Env?.includes('ORRERY_JOB_CWD=/home/jovyan/work/data'));
  assert.throws(
    () =>
      buildJobSpec({ ...job, workingDir: '../x' } as JobRecord, {
        name: 'n',
        deployment: 'd',
        owner: 'o',
        workspaceVolume: 'v',
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
  assert.deepEqual(demultiplex(raw), { stdout: 'out1 out2', stderr: 'err' });
  assert.deepEqual(demultiplex(Buffer.alloc(0)), { stdout: '', stderr: '' });
});

test('an exited container’s outcome: success, exit status, out of memory', () => {
  assert.deepEqual(outcomeOf({ state: 'exited', exitCode: 0, oomKilled: false }), {
    status: 'succeeded',
  });
  assert.equal(outcomeOf({ state: 'exited', exitCode: 2, oomKilled: false }).failure, 'exit_code');
  assert.equal(outcomeOf({ state: 'exited', exitCode: 137, oomKilled: true }).failure, 'oom');
});
