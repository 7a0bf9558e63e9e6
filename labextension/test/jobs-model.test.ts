import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { HubError } from '../src/api.js';
import { formatSeconds, jobProgress, jobTitle } from '../src/jobs/format.js';
import { JobsModel, LOG_KEEP } from '../src/jobs/model.js';
import {
  changedParameters,
  parameterCellOf,
  parseLiteral,
  readAssignments,
} from '../src/jobs/parameters.js';
import { browserPathOf, folderOf, workspacePathOf } from '../src/jobs/paths.js';
import { JobsPoller } from '../src/jobs/poller.js';
import { runJobDefaults, runJobRequest, runRequest } from '../src/jobs/run-form.js';
import { MAX_SWEEP_SETS, readSweep } from '../src/jobs/sweep.js';
import type { IComputeInfo, IJob } from '../src/tokens.js';
import { FakeHub } from './fake-hub.js';
import { FakeJobs } from './fake-jobs.js';

const at = { user: 'alice', workspaceFolder: '' };

describe('workspace paths', () => {
  it('the file browser is rooted at the workspace: a browser path is a workspace path', () => {
    assert.equal(workspacePathOf('a/b.ipynb', at), 'a/b.ipynb');
    assert.equal(workspacePathOf('./a//b.ipynb', at), 'a/b.ipynb');
    assert.equal(workspacePathOf('top.ipynb', at), 'top.ipynb');
  });

  it('my Storage persistent volume seen through the volume view is the workspace too', () => {
    assert.equal(workspacePathOf('volumes/Storage/alice/persistent/x/n.ipynb', at), 'x/n.ipynb');
  });

  it('refuses what jobs cannot see: other volumes, another user’s view, "..", drives, absolute', () => {
    for (const path of [
      'volumes/Storage/bob/persistent/n.ipynb',
      'volumes/Temporary/alice/scratch/n.ipynb',
      'volumes/Storage/alice/other/n.ipynb',
      '../n.ipynb',
      'a/../../n.ipynb',
      'RTC:a/n.ipynb',
      '/etc/n.ipynb',
    ]) {
      assert.equal(workspacePathOf(path, at), null, path);
    }
  });

  it('a browser rooted above the workspace names its folder (workspaceFolder)', () => {
    const work = { user: 'alice', workspaceFolder: 'work' };
    assert.equal(workspacePathOf('work/a/b.ipynb', work), 'a/b.ipynb');
    assert.equal(workspacePathOf('elsewhere/b.ipynb', work), null);
    assert.equal(workspacePathOf('workshop/b.ipynb', work), null);
    assert.equal(browserPathOf('jobs/7/b.ipynb', work), 'work/jobs/7/b.ipynb');
    assert.equal(browserPathOf('jobs/7', at), 'jobs/7');
    assert.equal(folderOf('a/b/c.ipynb'), 'a/b');
    assert.equal(folderOf('c.ipynb'), '');
  });
});

describe('parameters', () => {
  const notebook = {
    cells: [
      { cell_type: 'markdown', metadata: { tags: ['parameters'] }, source: 'not code' },
      { cell_type: 'code', metadata: {}, source: 'import numpy' },
      {
        cell_type: 'code',
        metadata: { tags: ['x', 'parameters'] },
        source: ['n = 3\n', "name = 'a'"],
      },
    ],
  };

  it('finds the first code cell tagged "parameters"', () => {
    assert.equal(parameterCellOf(notebook), "n = 3\nname = 'a'");
    assert.equal(parameterCellOf({ cells: [] }), null);
    assert.equal(parameterCellOf('garbage'), null);
  });

  it('reads name = value lines: comments, annotations, values over several lines, the last wins', () => {
    const source = [
      '# the defaults',
      'import math',
      'n = 3  # how many',
      "tag: str = 'a # not a comment'",
      'sizes = [1,',
      '         2]  # two',
      'n = 4',
      'x == 1',
      'scale = 2 ** 10',
    ].join('\n');
    assert.deepEqual(readAssignments(source), [
      { name: 'tag', value: "'a # not a comment'" },
      { name: 'sizes', value: '[1,\n         2]' },
      { name: 'n', value: '4' },
      { name: 'scale', value: '2 ** 10' },
    ]);
  });

  it('turns Python literals into JSON', () => {
    const cases: [string, unknown][] = [
      ['42', 42],
      ['-1.5e3', -1500],
      ['1_000', 1000],
      ['.5', 0.5],
      ['True', true],
      ['False', false],
      ['None', null],
      ['"a\\nb"', 'a\nb'],
      ["r'C:\\x'", 'C:\\x'],
      ["'é\\u00e9'", 'éé'],
      ['"""three"""', 'three'],
      ["[1, 'two', [3.0]]", [1, 'two', [3]]],
      ['(1, 2,)', [1, 2]],
      ['{\'a\': 1, "b": [True, None]}', { a: 1, b: [true, null] }],
      ['[]', []],
    ];
    for (const [text, want] of cases) {
      assert.deepEqual(parseLiteral(text), want, text);
    }
  });

  it('refuses what is not a literal, saying where', () => {
    for (const text of ['np.pi', '2 ** 10', 'f(1)', "'open", '[1, 2', '{1: 2}', '1 2', '']) {
      assert.throws(
        () => parseLiteral(text),
        (e: unknown) => e instanceof HubError && e.status === 400,
        text,
      );
    }
  });

  it('sends only what changed from the cell, and new names', () => {
    const defaults = readAssignments("n = 3\nname = 'a'\nscale = 2 ** 10");
    const edited = "n = 5\nname = 'a'\nscale = 2 ** 10\nextra = [1, 2]";
    assert.deepEqual(changedParameters(edited, defaults), { n: 5, extra: [1, 2] });
    assert.deepEqual(changedParameters("n = 3\nname = 'a'", defaults), {});
    // An expression left as it was is the notebook's own; changed, it must be a literal.
    assert.throws(
      () => changedParameters('scale = 2 ** 11', defaults),
      (e: unknown) => e instanceof HubError && /scale/.test(e.message),
    );
    assert.throws(
      () => changedParameters('print(n)', defaults),
      (e: unknown) => e instanceof HubError && /name = value/.test(e.message),
    );
  });
});

const compute: IComputeInfo = {
  domains: [
    { name: 'docker', backend: 'docker' },
    { name: 'big', backend: 'docker' },
  ],
  images: ['orrery/lab:latest', 'orrery/lab:gpu'],
  max_servers: 2,
  idle_cull_seconds: 0,
  cull_warning_seconds: 0,
  limits: { memory_bytes: 4 * 1024 ** 3, cpus: 2, pids: 512 },
};

describe('the Run-as-job form', () => {
  const defaults = runJobDefaults({
    browserPath: 'survey/fit.ipynb',
    mapping: at,
    compute,
    server: { image: 'orrery/lab:gpu', domain: 'big' },
    parameterCell: 'n = 3\nlabel = "x"',
  });

  it('is prefilled from this server, the notebook’s folder, its parameters cell and the limits', () => {
    assert.equal(defaults.notebook, 'survey/fit.ipynb');
    assert.deepEqual(defaults.values, {
      domain: 'big',
      image: 'orrery/lab:gpu',
      workingDir: 'survey',
      parameters: 'n = 3\nlabel = "x"',
      cpus: '2',
      memoryMb: '4096',
      timeLimitMinutes: '',
      sweep: '',
    });
    assert.equal(defaults.hasParameterCell, true);
  });

  it('outside a hub server, the first domain and image', () => {
    const d = runJobDefaults({
      browserPath: 'a.ipynb',
      mapping: at,
      compute,
      server: null,
      parameterCell: null,
    });
    assert.equal(d.values.domain, 'docker');
    assert.equal(d.values.image, 'orrery/lab:latest');
    assert.equal(d.values.workingDir, '');
    assert.equal(d.hasParameterCell, false);
  });

  it('refuses a file that is not a notebook or not in the workspace', () => {
    for (const browserPath of ['a.py', 'volumes/Temporary/alice/scratch/a.ipynb', '../a.ipynb']) {
      assert.throws(
        () =>
          runJobDefaults({ browserPath, mapping: at, compute, server: null, parameterCell: null }),
        (e: unknown) => e instanceof HubError && e.status === 400,
        browserPath,
      );
    }
  });

  it('makes the request: changed parameters, resources, minutes as seconds, the key', () => {
    const request = runJobRequest(
      defaults,
      { ...defaults.values, parameters: 'n = 7\nlabel = "x"', timeLimitMinutes: '30', cpus: '0.5' },
      'key-1',
    );
    assert.deepEqual(request, {
      notebook: 'survey/fit.ipynb',
      parameters: { n: 7 },
      image: 'orrery/lab:gpu',
      domain: 'big',
      working_dir: 'survey',
      cpus: 0.5,
      memory_mb: 4096,
      time_limit_seconds: 1800,
      idempotency_key: 'key-1',
    });
    const bare = runJobRequest(defaults, { ...defaults.values, cpus: '', memoryMb: '' }, 'k');
    assert.equal('parameters' in bare, false, 'unchanged parameters are not sent');
    assert.equal('cpus' in bare, false, 'an empty field takes the hub’s default');
  });

  it('refuses bad numbers, more than a server may have, and a working folder leaving the workspace', () => {
    const bad: Partial<typeof defaults.values>[] = [
      { cpus: 'two' },
      { cpus: '3' },
      { memoryMb: '1.5' },
      { memoryMb: '999999' },
      { timeLimitMinutes: '0' },
      { workingDir: '../elsewhere' },
      { parameters: 'n = oops' },
    ];
    for (const patch of bad) {
      assert.throws(
        () => runJobRequest(defaults, { ...defaults.values, ...patch }, 'k'),
        (e: unknown) => e instanceof HubError && e.status === 400,
        JSON.stringify(patch),
      );
    }
  });
});

describe('the Sweep field', () => {
  it('reads one set a line: Python literals split at top-level `;`, or a JSON object', () => {
    assert.deepEqual(
      readSweep(
        'n = 1; label = "a;b"\n\n# a comment\nn = 2; xs = [1, (2, 3)]; ok = True\n{"n": 3, "label": null}',
      ),
      [
        { n: 1, label: 'a;b' },
        { n: 2, xs: [1, [2, 3]], ok: true },
        { n: 3, label: null },
      ],
    );
  });

  it('reads a JSON list of sets; empty is no sweep', () => {
    assert.deepEqual(readSweep(' [{"seed": 1}, {"seed": 2, "tag": "x"}] '), [
      { seed: 1 },
      { seed: 2, tag: 'x' },
    ]);
    assert.equal(readSweep('  \n '), null);
  });

  it('refuses what is not a set, a bad name or value, no set, and more than the hub takes', () => {
    const many = Array.from({ length: MAX_SWEEP_SETS + 1 }, (_, i) => `n = ${i}`).join('\n');
    const bad: [string, RegExp][] = [
      ['n = 1\nseed', /line 2: "seed" is not name = value/],
      ['1x = 2', /line 1: "1x = 2" is not name = value/],
      ['n = oops', /line 1, n:/],
      ['{"n": 1', /line 1: not a JSON object/],
      ['{"bad-name": 1}', /"bad-name" is not a parameter name/],
      ['[1, 2]', /set 1: a parameter set is an object/],
      ['[{"n": 1}', /not a JSON list/],
      ['[]', /at least one parameter set/],
      ['# only a comment', /at least one parameter set/],
      [many, /at most 1000 parameter sets \(1001 given\)/],
    ];
    for (const [text, reason] of bad) {
      assert.throws(
        () => readSweep(text),
        (e: unknown) => e instanceof HubError && e.status === 400 && reason.test(e.message),
        text.slice(0, 40),
      );
    }
  });

  const defaults = runJobDefaults({
    browserPath: 'survey/fit.ipynb',
    mapping: at,
    compute,
    server: { image: 'orrery/lab:gpu', domain: 'big' },
    parameterCell: 'n = 3\nlabel = "x"',
  });

  it('makes a sweep request: each set on top of the changed parameters, no idempotency key', () => {
    const request = runRequest(
      defaults,
      { ...defaults.values, parameters: 'n = 3\nlabel = "y"', sweep: 'n = 1\nn = 2; label = "z"' },
      'key-1',
    );
    assert.deepEqual(request, {
      sweep: {
        notebook: 'survey/fit.ipynb',
        image: 'orrery/lab:gpu',
        domain: 'big',
        working_dir: 'survey',
        cpus: 2,
        memory_mb: 4096,
        parameter_sets: [
          { label: 'y', n: 1 },
          { label: 'z', n: 2 },
        ],
      },
    });
    assert.deepEqual(runRequest(defaults, defaults.values, 'key-2'), {
      job: runJobRequest(defaults, defaults.values, 'key-2'),
    });
    assert.throws(
      () => runRequest(defaults, { ...defaults.values, sweep: 'n = ' }, 'k'),
      (e: unknown) => e instanceof HubError && e.status === 400,
    );
  });
});

/** A hand-advanced clock: `tick` runs the timeouts that are due. */
class FakeClock {
  now = 0;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private next = 1;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  async tick(ms: number): Promise<void> {
    this.now += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.at <= this.now) {
        this.timers.delete(id);
        t.callback();
      }
    }
    // Let the refresh the timer started settle.
    for (let i = 0; i < 20; i++) {
      await Promise.resolve();
    }
  }
}

describe('JobsModel', () => {
  let jobs: FakeJobs;
  let model: JobsModel;

  beforeEach(() => {
    const hub = new FakeHub().addUser('alice', 'bob');
    jobs = new FakeJobs();
    model = new JobsModel(jobs.clientFor('alice'), hub.clientFor('alice'));
  });

  it('lists my jobs only, newest first', async () => {
    jobs.submit('bob', { notebook: 'b.ipynb' });
    await model.submit({ notebook: 'a.ipynb' });
    await model.submit({ notebook: 'c.ipynb' });
    await model.refresh();
    assert.deepEqual(
      model.jobs.map((j) => j.notebook),
      ['c.ipynb', 'a.ipynb'],
    );
    assert.equal(model.hasActive, true);
    assert.equal(model.loaded, true);
  });

  it('announces a job once when it ends, not jobs that had ended before the first look', async () => {
    const old = jobs.submit('alice', { notebook: 'old.ipynb' });
    jobs.advance(old.id, 'succeeded');
    const a = jobs.submit('alice', { notebook: 'a.ipynb' });
    const ended: IJob[] = [];
    model.ended.connect((_, job) => ended.push(job));
    await model.refresh();
    jobs.advance(a.id, 'running');
    await model.refresh();
    assert.equal(ended.length, 0);
    jobs.advance(a.id, 'failed', { message: 'exit 1' });
    await model.refresh();
    await model.refresh();
    assert.deepEqual(
      ended.map((j) => `${j.id}:${j.status}`),
      [`${a.id}:failed`],
    );
    assert.equal(model.hasActive, false);
  });

  it('keeps a failed refresh in error and the last list', async () => {
    await model.submit({ notebook: 'a.ipynb' });
    await model.refresh();
    jobs.failNext = new HubError(503, 'unavailable', 'The hub is restarting');
    await assert.rejects(model.refresh(), HubError);
    assert.equal(model.error, 'The hub is restarting');
    assert.equal(model.jobs.length, 1);
    await model.refresh();
    assert.equal(model.error, null);
  });

  it('submits a sweep: its jobs join the list, newest first, under one sweep id', async () => {
    const sweep = await model.submitSweep({
      notebook: 'fit.ipynb',
      parameter_sets: [{ n: 1 }, { n: 2 }, { n: 3 }],
    });
    assert.equal(sweep.jobs.length, 3);
    assert.deepEqual(
      model.jobs.map((j) => [j.parameters, j.sweep_id]),
      [
        [{ n: 3 }, sweep.sweep_id],
        [{ n: 2 }, sweep.sweep_id],
        [{ n: 1 }, sweep.sweep_id],
      ],
    );
    assert.match(jobs.calls.at(-1)!, /^alice submitSweep /);
  });

  it('cancels an active job; resubmits only an ended one', async () => {
    const job = await model.submit({ notebook: 'a.ipynb', parameters: { n: 2 } });
    await assert.rejects(model.resubmit(job.id), (e: unknown) => (e as HubError).status === 409);
    const cancelled = await model.cancel(job.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(model.find(job.id)?.status, 'cancelled');
    await assert.rejects(model.cancel(job.id), (e: unknown) => (e as HubError).status === 409);
    const again = await model.resubmit(job.id);
    assert.equal(again.resubmitted_from, job.id);
    assert.deepEqual(again.parameters, { n: 2 });
    assert.equal(model.jobs[0]?.id, again.id, 'the new job comes first');
  });

  it('submitting twice with one idempotency key makes one job', async () => {
    const a = await model.submit({ notebook: 'a.ipynb', idempotency_key: 'k' });
    const b = await model.submit({ notebook: 'a.ipynb', idempotency_key: 'k' });
    assert.equal(a.id, b.id);
    assert.equal(model.jobs.length, 1);
  });

  it('follows a log by offsets: each poll appends only what is new, multi-byte text intact', async () => {
    const job = await model.submit({ notebook: 'a.ipynb' });
    jobs.advance(job.id, 'running');
    jobs.write(job.id, 'héllo\n', 'warn\n');
    await model.showLog(job.id);
    const log = model.log!;
    assert.equal(log.stdout, 'héllo\n');
    jobs.write(job.id, 'wörld\n');
    await log.poll();
    assert.equal(log.stdout, 'héllo\nwörld\n');
    assert.equal(log.stderr, 'warn\n');
    assert.equal(log.complete, false);
    assert.match(jobs.calls.at(-1)!, /"stdout":7,"stderr":5/, 'asked from the byte offsets');
    jobs.advance(job.id, 'succeeded');
    await log.poll();
    assert.equal(log.complete, true);
    const asked = jobs.calls.length;
    await log.poll();
    assert.equal(jobs.calls.length, asked, 'a complete log is not asked again');
  });

  it('keeps at most the last LOG_KEEP characters of a stream', async () => {
    const job = await model.submit({ notebook: 'a.ipynb' });
    jobs.advance(job.id, 'running');
    jobs.write(job.id, `${'x'.repeat(LOG_KEEP)}tail`);
    await model.showLog(job.id);
    assert.equal(model.log!.stdout.length, LOG_KEEP);
    assert.ok(model.log!.stdout.endsWith('tail'));
  });
});

describe('JobsPoller', () => {
  it('asks while a job is queued or running or the shown log is open, then stops', async () => {
    const hub = new FakeHub().addUser('alice');
    const jobs = new FakeJobs();
    const model = new JobsModel(jobs.clientFor('alice'), hub.clientFor('alice'));
    const clock = new FakeClock();
    const poller = new JobsPoller({ model, intervalSeconds: 3, clock });
    await poller.kick();
    assert.equal(poller.scheduled, false, 'nothing moving: no polling');

    const job = await model.submit({ notebook: 'a.ipynb' });
    await poller.kick();
    assert.equal(poller.scheduled, true);
    const lists = () => jobs.calls.filter((c) => c.includes('listJobs')).length;
    const before = lists();
    await clock.tick(2999);
    assert.equal(lists(), before, 'not before the interval');
    await clock.tick(1);
    assert.equal(lists(), before + 1);

    jobs.advance(job.id, 'running');
    await model.showLog(job.id);
    jobs.advance(job.id, 'succeeded');
    await clock.tick(3000);
    assert.equal(model.hasActive, false);
    assert.equal(model.log?.complete, true, 'the same round read the rest of the log');
    assert.equal(poller.scheduled, false, 'all ended and read: polling stops');
    assert.equal(clock.pending, 0);

    poller.intervalSeconds = 0;
    await model.submit({ notebook: 'b.ipynb' });
    await poller.kick();
    assert.equal(poller.scheduled, false, 'interval 0: only on request');
    poller.dispose();
  });
});

describe('format', () => {
  const base = {
    id: 9,
    notebook: 'dir/fit.ipynb',
    command: null,
    queue_position: 2,
    estimated_start_at: new Date(600_000).toISOString(),
    duration_seconds: null,
    time_limit_seconds: 3600,
    message: null,
    failure: null,
  };
  it('says where a queued job is and when it should start; how long one ran', () => {
    const job = { ...base, status: 'queued' } as unknown as IJob;
    assert.equal(jobTitle(job), 'fit.ipynb');
    assert.equal(jobProgress(job, 0), '#2 in the queue, starts in about 10 min 00 s');
    assert.equal(jobProgress(job, 700_000), '#2 in the queue, starts soon');
    const done = { ...base, status: 'succeeded', duration_seconds: 3725 } as unknown as IJob;
    assert.equal(jobProgress(done, 0), 'took 1 h 2 min');
    assert.equal(formatSeconds(59.6), '1 min 00 s');
    assert.equal(formatSeconds(90000), '1 d 1 h');
  });
});
