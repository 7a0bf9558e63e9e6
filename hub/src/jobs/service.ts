/**
 * Jobs as the routes use them: submit (with the checks compute makes for servers), read,
 * cancel, resubmit, logs. Every status change goes through status.ts's compare-and-set.
 */
import type { UserRecord } from '../auth/principal.ts';
import type { Compute } from '../compute/orchestrator.ts';
import type { HubConfig } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors.ts';
import { mayUse } from '../racm/use.ts';
import { limitsOf } from './config.ts';
import type { JobContainers } from './containers.ts';
import { checkWorkingDir } from './jobSpec.ts';
import { FINAL_STATUSES, type JobStatus, transition } from './status.ts';
import { insertJob, type JobDefinition, type JobRecord, listJobs } from './store.ts';

/** What a submission may leave out, and the defaults it then gets. */
export interface Submission {
  command: string;
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
  ) {}

  /** Queue a job; `created` is false when the idempotency key found an earlier one. */
  async submit(
    user: UserRecord,
    submission: Submission,
    resubmittedFrom?: number,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const definition = await this.check(user, submission);
    const { id, created } = await insertJob(this.db, {
      ...definition,
      userId: user.id,
      idempotencyKey: submission.idempotencyKey ?? null,
      ...(resubmittedFrom === undefined ? {} : { resubmittedFrom }),
    });
    return { job: await this.get(user.id, id), created };
  }

  /** The submission filled in with defaults, or a 4xx naming what is wrong. */
  private async check(user: UserRecord, submission: Submission): Promise<JobDefinition> {
    const { compute: offer } = this.config;
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
    const workingDir = checkWorkingDir(submission.workingDir ?? '');
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
      command: submission.command,
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
  ): Promise<JobRecord[]> {
    return listJobs(this.db, { userId, ...filter }, this.config.jobs.halfLifeSeconds);
  }

  async get(userId: number, id: number): Promise<JobRecord> {
    const [job] = await listJobs(this.db, { userId, id }, this.config.jobs.halfLifeSeconds);
    if (!job) throw new NotFound('job', `You have no job ${id}`);
    return job;
  }

  /**
   * Cancel a queued or running job. A running one's container is killed (its output so far
   * kept); an ended job cannot be cancelled (409).
   */
  async cancel(userId: number, id: number): Promise<JobRecord> {
    const job = await this.get(userId, id);
    const containers = this.domains.get(job.domain);
    const logs =
      job.status === 'running' && containers && job.containerName
        ? await containers.logs(job.containerName)
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
    return this.get(userId, id);
  }

  /** A new job from an ended one's definition, checked again as a new submission. */
  async resubmit(user: UserRecord, id: number): Promise<JobRecord> {
    const old = await this.get(user.id, id);
    if (!FINAL_STATUSES.includes(old.status)) {
      throw new Conflict('job_not_ended', `Job ${id} is still ${old.status}`);
    }
    // Its definition only: not its idempotency key, which names the old job.
    const { command, image, domain, workingDir, cpus, memoryBytes, timeLimitSeconds } = old;
    const { job } = await this.submit(
      user,
      { command, image, domain, workingDir, cpus, memoryBytes, timeLimitSeconds },
      old.id,
    );
    return job;
  }

  /** The job's output: live from its container while it runs, else what was kept. */
  async logs(
    userId: number,
    id: number,
  ): Promise<{ stdout: string; stderr: string; complete: boolean }> {
    const job = await this.get(userId, id);
    const containers = this.domains.get(job.domain);
    if (job.status === 'running' && containers && job.containerName) {
      return { ...(await containers.logs(job.containerName)), complete: false };
    }
    const { rows } = await this.db.query('SELECT stdout, stderr FROM jobs WHERE id = $1', [id]);
    return {
      stdout: rows[0]?.stdout ?? '',
      stderr: rows[0]?.stderr ?? '',
      complete: job.status !== 'queued',
    };
  }
}
