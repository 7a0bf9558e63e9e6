/**
 * An in-memory jobs API behind `IJobsClient` (the contract in docs/jobs.md): jobs per user,
 * byte offsets into their logs, and the hub's refusals (404 for another's job, 409 to cancel an
 * ended one, 400 for a path outside the workspace). Tests move jobs with `advance` and `write`.
 */
import { HubError } from '../src/api.js';
import type {
  HubId,
  IJob,
  IJobLogs,
  IJobsClient,
  INotebookJobRequest,
  INotebookSweepRequest,
  ISweep,
  JobParameters,
  JobStatus,
} from '../src/tokens.js';

interface FakeJob {
  owner: string;
  job: IJob;
  stdout: string;
  stderr: string;
}

const ACTIVE: JobStatus[] = ['queued', 'running'];
const bytes = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

export class FakeJobs {
  jobs = new Map<number, FakeJob>();
  calls: string[] = [];
  /** When set, the next call rejects with it (then it is cleared). */
  failNext: HubError | null = null;
  private nextId = 1;
  private keys = new Map<string, number>();

  clientFor(name: string): IJobsClient {
    return new FakeJobsClient(this, name);
  }

  /** Move a job to `status`, as the dispatcher would. */
  advance(id: number, status: JobStatus, patch: Partial<IJob> = {}): IJob {
    const entry = this.jobs.get(id)!;
    const now = new Date().toISOString();
    entry.job = {
      ...entry.job,
      status,
      queue_position: status === 'queued' ? entry.job.queue_position : null,
      estimated_start_at: status === 'queued' ? entry.job.estimated_start_at : null,
      started_at: status === 'running' ? now : entry.job.started_at,
      finished_at: ACTIVE.includes(status) ? null : now,
      duration_seconds: status === 'queued' ? null : 1,
      ...patch,
    };
    return entry.job;
  }

  /** Append to a job's output. */
  write(id: number, stdout: string, stderr = ''): void {
    const entry = this.jobs.get(id)!;
    entry.stdout += stdout;
    entry.stderr += stderr;
  }

  async enter(user: string, method: string, ...args: unknown[]): Promise<void> {
    this.calls.push([user, method, ...args.map((a) => JSON.stringify(a))].join(' '));
    await Promise.resolve();
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
  }

  mine(user: string, id: HubId): FakeJob {
    const entry = this.jobs.get(Number(id));
    if (!entry || entry.owner !== user) {
      throw new HubError(404, 'not_found', `No job ${id}`);
    }
    return entry;
  }

  add(
    owner: string,
    request: INotebookJobRequest,
    from: number | null = null,
    sweepId: string | null = null,
  ): IJob {
    const id = this.nextId++;
    const name = request.notebook.slice(request.notebook.lastIndexOf('/') + 1);
    const queued = [...this.jobs.values()].filter((j) => j.job.status === 'queued').length;
    const job: IJob = {
      id,
      kind: 'notebook',
      command: null,
      notebook: request.notebook,
      parameters: request.parameters ?? null,
      sweep_id: sweepId,
      image: request.image ?? 'orrery/lab:latest',
      domain: request.domain ?? 'docker',
      working_dir: request.working_dir ?? '',
      cpus: request.cpus ?? 1,
      memory_mb: request.memory_mb ?? 2048,
      time_limit_seconds: request.time_limit_seconds ?? 86400,
      idempotency_key: request.idempotency_key ?? null,
      resubmitted_from: from,
      status: 'queued',
      failure: null,
      message: null,
      exit_code: null,
      attempts: 0,
      queue_position: queued + 1,
      output_folder: `jobs/${id}`,
      output_notebook: `jobs/${id}/${name}`,
      estimated_start_at: null,
      duration_seconds: null,
      submitted_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
    };
    this.jobs.set(id, { owner, job, stdout: '', stderr: '' });
    return job;
  }

  submit(owner: string, request: INotebookJobRequest): IJob {
    if (request.notebook.startsWith('/') || request.notebook.split('/').includes('..')) {
      throw new HubError(400, 'invalid', 'The notebook must be inside your workspace');
    }
    const key = request.idempotency_key && `${owner}\n${request.idempotency_key}`;
    if (key && this.keys.has(key)) {
      return this.jobs.get(this.keys.get(key)!)!.job;
    }
    const job = this.add(owner, request);
    if (key) {
      this.keys.set(key, job.id);
    }
    return job;
  }

  /** A sweep: one job per set, all or none (1 to 1,000 sets), in the sets' order. */
  sweep(owner: string, request: INotebookSweepRequest): ISweep {
    const { parameter_sets: sets, ...definition } = request;
    if (sets.length < 1 || sets.length > 1000) {
      throw new HubError(400, 'invalid', 'parameter_sets: 1 to 1,000 sets');
    }
    const sweepId = `00000000-0000-4000-8000-${String(this.nextId).padStart(12, '0')}`;
    const jobs = sets.map((parameters) =>
      this.add(owner, { ...definition, parameters }, null, sweepId),
    );
    return { sweep_id: sweepId, jobs };
  }

  logs(user: string, id: HubId, offsets: { stdout: number; stderr: number }): IJobLogs {
    const entry = this.mine(user, id);
    const out = bytes(entry.stdout);
    const err = bytes(entry.stderr);
    return {
      stdout: decode(out.slice(offsets.stdout)),
      stderr: decode(err.slice(offsets.stderr)),
      stdout_offset: out.length,
      stderr_offset: err.length,
      complete: !ACTIVE.includes(entry.job.status),
    };
  }
}

class FakeJobsClient implements IJobsClient {
  constructor(
    private readonly hub: FakeJobs,
    readonly name: string,
  ) {}

  private check(user: string): void {
    if (user !== this.name) {
      throw new HubError(403, 'forbidden', 'Only your own jobs');
    }
  }

  async submitNotebook(user: string, request: INotebookJobRequest): Promise<IJob> {
    await this.hub.enter(user, 'submitNotebook', request);
    this.check(user);
    return this.hub.submit(user, request);
  }

  async submitSweep(user: string, request: INotebookSweepRequest): Promise<ISweep> {
    await this.hub.enter(user, 'submitSweep', request);
    this.check(user);
    return this.hub.sweep(user, request);
  }

  async listJobs(user: string, limit = 100): Promise<IJob[]> {
    await this.hub.enter(user, 'listJobs');
    this.check(user);
    return [...this.hub.jobs.values()]
      .filter((e) => e.owner === user)
      .map((e) => e.job)
      .sort((a, b) => b.id - a.id)
      .slice(0, limit);
  }

  async getJob(user: string, id: HubId): Promise<IJob> {
    await this.hub.enter(user, 'getJob', id);
    this.check(user);
    return this.hub.mine(user, id).job;
  }

  async cancelJob(user: string, id: HubId): Promise<IJob> {
    await this.hub.enter(user, 'cancelJob', id);
    this.check(user);
    const entry = this.hub.mine(user, id);
    if (!ACTIVE.includes(entry.job.status)) {
      throw new HubError(409, 'conflict', `Job ${id} has already ended`);
    }
    return this.hub.advance(entry.job.id, 'cancelled');
  }

  async resubmitJob(user: string, id: HubId): Promise<IJob> {
    await this.hub.enter(user, 'resubmitJob', id);
    this.check(user);
    const { job } = this.hub.mine(user, id);
    if (ACTIVE.includes(job.status)) {
      throw new HubError(409, 'conflict', `Job ${id} has not ended`);
    }
    return this.hub.add(
      user,
      {
        notebook: job.notebook!,
        ...(job.parameters ? { parameters: job.parameters as JobParameters } : {}),
        image: job.image,
        domain: job.domain,
        working_dir: job.working_dir,
      },
      job.id,
    );
  }

  async logs(user: string, id: HubId, offsets = { stdout: 0, stderr: 0 }): Promise<IJobLogs> {
    await this.hub.enter(user, 'logs', id, offsets);
    this.check(user);
    return this.hub.logs(user, id, offsets);
  }
}
