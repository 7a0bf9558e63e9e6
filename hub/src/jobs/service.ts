/**
 * Jobs as the routes use them: submit (with the checks compute makes for servers), read,
 * cancel, resubmit, logs. Every status change goes through status.ts's compare-and-set.
 */
import path from 'node:path';
import { recordActivity } from '../activity/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import type { Compute } from '../compute/orchestrator.ts';
import type { HubConfig } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors.ts';
import { mayUse } from '../racm/use.ts';
import { limitsOf } from './config.ts';
import type { JobContainers } from './containers.ts';
import { type Estimate, estimateStarts } from './estimate.ts';
import { checkNotebookPath, checkWorkingDir, PARAMETER_NAME, parameterValue } from './jobSpec.ts';
import { readLogs, type StreamOffsets } from './logs.ts';
import { FINAL_STATUSES, type JobStatus, transition } from './status.ts';
import {
  domainLoad,
  insertJob,
  insertSweep,
  type JobDefinition,
  type JobRecord,
  keptOutput,
  listJobs,
} from './store.ts';

/** A job's parameters as JSON, at most this long (they travel in the container's environment). */
const MAX_PARAMETERS_BYTES = 64 * 1024;

/** A job as the API shows it: its record and, while queued, its estimated start. */
export type ShownJob = JobRecord & { estimatedStartAt: Date | null };

/** What a submission may leave out, and the defaults it then gets. */
export interface Submission {
  /** Exactly one of command and notebook. */
  command?: string;
  notebook?: string;
  /** A notebook's parameters (notebook jobs only). */
  parameters?: Record<string, unknown>;
  image?: string;
  domain?: string;
  workingDir?: string;
  cpus?: number;
  memoryBytes?: number;
  timeLimitSeconds?: number;
  idempotencyKey?: string;
}

export class JobsService {
  constructor(
    private readonly db: Db,
    private readonly config: HubConfig,
    private readonly compute: Compute,
    /** The Docker host of each compute domain that runs jobs. */
    private readonly domains: ReadonlyMap<string, JobContainers>,
    /** Told when a job was queued or a slot freed on a domain, so this hub claims at once. */
    private readonly queueChanged: (domain: string) => void = () => {},
  ) {}

  /** Queue a job; `created` is false when the idempotency key found an earlier one. */
  async submit(
    user: UserRecord,
    submission: Submission,
    resubmittedFrom?: number,
  ): Promise<{ job: ShownJob; created: boolean }> {
    const definition = await this.check(user, submission);
    if (submission.parameters !== undefined) {
      if (definition.kind !== 'notebook') {
        throw new Invalid(
          'parameters',
          'Only notebook jobs take parameters (a sweep gives a command its parameter sets)',
        );
      }
      definition.parameters = checkParameters(submission.parameters, 'notebook');
    }
    const { id, created } = await insertJob(this.db, {
      ...definition,
      userId: user.id,
      idempotencyKey: submission.idempotencyKey ?? null,
      ...(resubmittedFrom === undefined ? {} : { resubmittedFrom }),
    });
    if (created) {
      await this.logSubmitted(user, [id], definition);
      this.queueChanged(definition.domain);
    }
    return { job: await this.get(user.id, id), created };
  }

  /** The submission in the user's activity log (a sweep is one line); ends are logged by status.ts. */
  private async logSubmitted(
    user: UserRecord,
    ids: number[],
    definition: JobDefinition,
    sweepId?: string,
  ): Promise<void> {
    await recordActivity(this.db, {
      type: 'job.submit',
      userId: user.id,
      payload: {
        ...(sweepId ? { sweep: sweepId, jobs: ids.length, first_job: ids[0] } : { job: ids[0] }),
        kind: definition.kind,
        ...(definition.notebook ? { notebook: definition.notebook } : {}),
        image: definition.image,
        domain: definition.domain,
      },
    });
  }

  /**
   * Queue one job per parameter set, from one definition, all or none: a notebook's
   * parameters, or a command's `ORRERY_PARAM_<NAME>` variables.
   */
  async sweep(
    user: UserRecord,
    submission: Omit<Submission, 'parameters' | 'idempotencyKey'>,
    parameterSets: Record<string, unknown>[],
  ): Promise<{ sweepId: string; jobs: ShownJob[] }> {
    const definition = await this.check(user, submission);
    const sets = parameterSets.map((set) => checkParameters(set, definition.kind));
    const { sweepId, ids } = await insertSweep(this.db, user.id, definition, sets);
    await this.logSubmitted(user, ids, definition, sweepId);
    this.queueChanged(definition.domain);
    const shown = await this.show(
      await listJobs(
        this.db,
        { userId: user.id, sweepId, limit: ids.length },
        this.config.jobs.halfLifeSeconds,
      ),
    );
    return { sweepId, jobs: shown.sort((a, b) => a.id - b.id) };
  }

  /** The submission filled in with defaults, or a 4xx naming what is wrong. */
  private async check(user: UserRecord, submission: Submission): Promise<JobDefinition> {
    const { compute: offer } = this.config;
    if ((submission.command === undefined) === (submission.notebook === undefined)) {
      throw new Invalid('job_kind', 'Give exactly one of "command" and "notebook"');
    }
    if (submission.command?.includes('\0')) {
      throw new Invalid('command', 'A command cannot hold a NUL character');
    }
    let notebook: string | null = null;
    if (submission.notebook !== undefined) {
      notebook = checkNotebookPath(submission.notebook);
      if (notebook === null) {
        throw new Invalid(
          'notebook',
          'The notebook must be a .ipynb file inside your workspace, given relative to it',
        );
      }
    }
    const domain = submission.domain ?? this.compute.defaultDomain;
    const image = submission.image ?? offer.images[0];
    if (!this.compute.backends.has(domain)) {
      throw new Invalid('domain_not_offered', `There is no compute domain "${domain}"`);
    }
    if (!this.domains.has(domain) && this.config.jobs.dispatch) {
      throw new Invalid('domain_runs_no_jobs', `The compute domain "${domain}" runs no jobs`);
    }
    if (!image || !offer.images.includes(image)) {
      throw new Invalid('image_not_offered', `The image "${image}" is not offered here`);
    }
    if (!(await mayUse(this.db, user.id, 'DockerImage', image))) {
      throw new Forbidden('image_forbidden', `You may not use the image "${image}"`);
    }
    if (!(await mayUse(this.db, user.id, 'ComputeDomain', domain))) {
      throw new Forbidden('domain_forbidden', `You may not use the compute domain "${domain}"`);
    }
    // A notebook runs in its own folder unless told otherwise, as it does in JupyterLab.
    const notebookFolder = notebook === null ? '' : path.posix.dirname(notebook);
    const workingDir = checkWorkingDir(
      submission.workingDir ?? (notebookFolder === '.' ? '' : notebookFolder),
    );
    if (workingDir === null) {
      throw new Invalid('working_dir', 'The working folder must be a folder inside your workspace');
    }
    const limits = limitsOf(this.config.jobs, domain);
    const timeLimitSeconds = submission.timeLimitSeconds ?? limits.maxSeconds;
    if (timeLimitSeconds > limits.maxSeconds) {
      throw new Invalid(
        'time_limit',
        `The longest run allowed on "${domain}" is ${limits.maxSeconds} seconds`,
      );
    }
    const cpus = submission.cpus ?? offer.limits.cpus;
    const memoryBytes = submission.memoryBytes ?? offer.limits.memoryBytes;
    if (cpus > offer.limits.cpus || memoryBytes > offer.limits.memoryBytes) {
      throw new Invalid(
        'resources',
        `A job may ask for at most ${offer.limits.cpus} CPUs and ${offer.limits.memoryBytes / 1024 / 1024} MiB`,
      );
    }
    return {
      kind: notebook === null ? 'command' : 'notebook',
      command: submission.command ?? null,
      notebook,
      parameters: null,
      image,
      domain,
      workingDir,
      cpus,
      memoryBytes,
      timeLimitSeconds,
    };
  }

  async list(
    userId: number,
    filter: { status?: JobStatus; limit: number; offset: number },
  ): Promise<ShownJob[]> {
    return this.show(
      await listJobs(this.db, { userId, ...filter }, this.config.jobs.halfLifeSeconds),
    );
  }

  async get(userId: number, id: number): Promise<ShownJob> {
    const [job] = await listJobs(this.db, { userId, id }, this.config.jobs.halfLifeSeconds);
    if (!job) throw new NotFound('job', `You have no job ${id}`);
    return (await this.show([job]))[0]!;
  }

  /** Jobs with their estimated starts: one look at each domain their queued ones wait in. */
  private async show(jobs: JobRecord[]): Promise<ShownJob[]> {
    const estimates = new Map<string, Estimate>();
    for (const domain of new Set(jobs.filter((j) => j.status === 'queued').map((j) => j.domain))) {
      estimates.set(
        domain,
        estimateStarts(
          await domainLoad(this.db, domain),
          limitsOf(this.config.jobs, domain).maxRunning,
          new Date(),
        ),
      );
    }
    return jobs.map((job) => ({
      ...job,
      estimatedStartAt:
        job.status === 'queued' && job.queuePosition !== null
          ? (estimates.get(job.domain)?.(job.queuePosition) ?? null)
          : null,
    }));
  }

  /**
   * Cancel a queued or running job. A running one's container is killed (its output so far
   * kept); an ended job cannot be cancelled (409).
   */
  async cancel(userId: number, id: number): Promise<ShownJob> {
    const job = await this.get(userId, id);
    const containers = this.domains.get(job.domain);
    const logs =
      job.status === 'running' && containers && job.containerName
        ? await containers.keptLogs(job.containerName)
        : {};
    const moved = await transition(this.db, id, ['queued', 'running'], 'cancelled', {
      message: 'Cancelled by its owner',
      ...logs,
    });
    if (moved === null) {
      const now = await this.get(userId, id);
      if (now.status === 'cancelled') return now;
      throw new Conflict('job_ended', `Job ${id} has ended (${now.status})`);
    }
    if (job.containerName && containers) await containers.remove(job.containerName);
    this.queueChanged(job.domain);
    return this.get(userId, id);
  }

  /** A new job from an ended one's definition, checked again as a new submission. */
  async resubmit(user: UserRecord, id: number): Promise<ShownJob> {
    const old = await this.get(user.id, id);
    if (!FINAL_STATUSES.includes(old.status)) {
      throw new Conflict('job_not_ended', `Job ${id} is still ${old.status}`);
    }
    // Its definition only: not its idempotency key, which names the old job.
    const { image, domain, workingDir, cpus, memoryBytes, timeLimitSeconds } = old;
    const definition = await this.check(user, {
      ...(old.command === null ? {} : { command: old.command }),
      ...(old.notebook === null ? {} : { notebook: old.notebook }),
      image,
      domain,
      workingDir,
      cpus,
      memoryBytes,
      timeLimitSeconds,
    });
    // Its parameters too (a sweep command job's set included), checked as new ones.
    if (old.parameters) definition.parameters = checkParameters(old.parameters, old.kind);
    const { id: newId } = await insertJob(this.db, {
      ...definition,
      userId: user.id,
      idempotencyKey: null,
      resubmittedFrom: old.id,
    });
    await this.logSubmitted(user, [newId], definition);
    this.queueChanged(definition.domain);
    return this.get(user.id, newId);
  }

  /**
   * The job's output after the given byte offsets: from its container while it runs, then the
   * tail kept in the database (docs/jobs.md, "Logs").
   */
  async logs(userId: number, id: number, offsets: StreamOffsets) {
    const job = await this.get(userId, id);
    const containers = this.domains.get(job.domain);
    if (job.status === 'running' && containers && job.containerName) {
      return readLogs(await containers.logs(job.containerName), offsets, false);
    }
    if (job.status === 'queued') return readLogs(null, offsets, false);
    return readLogs(await keptOutput(this.db, id), offsets, true);
  }
}

/**
 * A parameter set checked: names usable as Python identifiers and environment names, the whole
 * small enough for a container's environment, a command's values free of NUL.
 */
function checkParameters(
  parameters: Record<string, unknown>,
  kind: JobDefinition['kind'],
): Record<string, unknown> {
  for (const [name, value] of Object.entries(parameters)) {
    if (!PARAMETER_NAME.test(name)) {
      throw new Invalid(
        'parameter_name',
        `"${name.slice(0, 100)}" is not a parameter name: letters, digits and _, not starting with a digit`,
      );
    }
    if (kind === 'command' && parameterValue(value).includes('\0')) {
      throw new Invalid('parameter_value', `The parameter ${name} holds a NUL character`);
    }
  }
  if (Buffer.byteLength(JSON.stringify(parameters)) > MAX_PARAMETERS_BYTES) {
    throw new Invalid(
      'parameters_size',
      `Parameters may take at most ${MAX_PARAMETERS_BYTES / 1024} KiB as JSON`,
    );
  }
  return parameters;
}
