/**
 * State of the Jobs panel: my jobs, the one whose log is shown, and the actions on jobs.
 * Talks to the hub only through `IJobsClient` and `IUserClient`, so unit tests run it against
 * an in-memory hub. No timers: `JobsPoller` (poller.ts) decides when to refresh.
 * Actions reject with `HubError`; refresh failures are kept in `error` and shown in the panel.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError, messageOf } from '../api.js';
import type {
  HubId,
  IHubUser,
  IJob,
  IJobsClient,
  INotebookJobRequest,
  INotebookSweepRequest,
  ISweep,
  IUserClient,
} from '../tokens.js';
import { isActive } from './format.js';

/** How many jobs the panel lists (newest first). */
export const LIST_LIMIT = 100;
/** How much of each log stream the panel keeps: the last 1 MiB of characters. */
export const LOG_KEEP = 1024 * 1024;

/** A job's stdout and stderr, followed by byte offsets (the hub's logs route). */
export class JobLog {
  private _stdout = '';
  private _stderr = '';
  private _complete = false;
  private _error: string | null = null;
  private offsets = { stdout: 0, stderr: 0 };
  private busy: Promise<void> | null = null;
  private _changed = new Signal<this, void>(this);

  constructor(
    private readonly client: Pick<IJobsClient, 'logs'>,
    private readonly user: string,
    readonly jobId: number,
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get stdout(): string {
    return this._stdout;
  }
  get stderr(): string {
    return this._stderr;
  }
  /** True once the job has ended and everything was read. */
  get complete(): boolean {
    return this._complete;
  }
  get error(): string | null {
    return this._error;
  }

  /** Ask for what came after the offsets read so far; one question at a time. */
  poll(): Promise<void> {
    if (this._complete) {
      return Promise.resolve();
    }
    this.busy ??= this.ask().finally(() => {
      this.busy = null;
    });
    return this.busy;
  }

  private async ask(): Promise<void> {
    try {
      const got = await this.client.logs(this.user, this.jobId, this.offsets);
      this._stdout = (this._stdout + got.stdout).slice(-LOG_KEEP);
      this._stderr = (this._stderr + got.stderr).slice(-LOG_KEEP);
      this.offsets = { stdout: got.stdout_offset, stderr: got.stderr_offset };
      this._complete = got.complete;
      this._error = null;
    } catch (e) {
      this._error = messageOf(e);
    }
    this._changed.emit();
  }
}

export class JobsModel {
  constructor(
    private readonly client: IJobsClient,
    private readonly users: IUserClient,
  ) {}

  private _user: IHubUser | null = null;
  private _jobs: IJob[] = [];
  private _loading = false;
  private _loaded = false;
  private _error: string | null = null;
  private _log: JobLog | null = null;
  private seq = 0;
  private _changed = new Signal<this, void>(this);
  private _ended = new Signal<this, IJob>(this);

  /** Emitted after any change of state. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  /** Emitted for each job seen queued or running before and ended now. */
  get ended(): ISignal<this, IJob> {
    return this._ended;
  }
  get user(): IHubUser | null {
    return this._user;
  }
  get jobs(): readonly IJob[] {
    return this._jobs;
  }
  get loading(): boolean {
    return this._loading;
  }
  get loaded(): boolean {
    return this._loaded;
  }
  get error(): string | null {
    return this._error;
  }
  /** True while a job of mine is queued or running: the poller then keeps asking. */
  get hasActive(): boolean {
    return this._jobs.some(isActive);
  }
  /** The log shown, if any. */
  get log(): JobLog | null {
    return this._log;
  }

  find(id: HubId): IJob | null {
    return this._jobs.find((j) => String(j.id) === String(id)) ?? null;
  }

  private async me(): Promise<string> {
    this._user ??= await this.users.currentUser();
    return this._user.name;
  }

  /** Reload my jobs; a job that was active and has ended is announced on `ended`. */
  async refresh(): Promise<void> {
    const seq = ++this.seq;
    this._loading = true;
    this._changed.emit();
    try {
      const jobs = await this.client.listJobs(await this.me(), LIST_LIMIT);
      if (seq !== this.seq) {
        return; // A newer refresh is under way; its answer wins.
      }
      const before = new Map(this._jobs.map((j) => [j.id, j]));
      this._jobs = jobs;
      this._error = null;
      this._loaded = true;
      for (const job of jobs) {
        const was = before.get(job.id);
        if (was && isActive(was) && !isActive(job)) {
          this._ended.emit(job);
        }
      }
    } catch (e) {
      if (seq === this.seq) {
        this._error = messageOf(e);
      }
      throw e;
    } finally {
      if (seq === this.seq) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** Put a job the hub just answered with into the list (new ones first). */
  private merge(job: IJob): void {
    const i = this._jobs.findIndex((j) => j.id === job.id);
    if (i >= 0) {
      this._jobs = this._jobs.map((j) => (j.id === job.id ? job : j));
    } else {
      this._jobs = [job, ...this._jobs];
    }
    this._changed.emit();
  }

  async submit(request: INotebookJobRequest): Promise<IJob> {
    const job = await this.client.submitNotebook(await this.me(), request);
    this.merge(job);
    return job;
  }

  /** Queue one job per parameter set (all or none); its jobs join the list. */
  async submitSweep(request: INotebookSweepRequest): Promise<ISweep> {
    const sweep = await this.client.submitSweep(await this.me(), request);
    for (const job of sweep.jobs) {
      this.merge(job);
    }
    return sweep;
  }

  async cancel(id: HubId): Promise<IJob> {
    const job = await this.client.cancelJob(await this.me(), id);
    this.merge(job);
    return job;
  }

  /** A new job from an ended one's definition. */
  async resubmit(id: HubId): Promise<IJob> {
    const job = this.find(id);
    if (job && isActive(job)) {
      throw new HubError(409, 'conflict', `Job ${id} has not ended; cancel it first.`);
    }
    const made = await this.client.resubmitJob(await this.me(), id);
    this.merge(made);
    return made;
  }

  /** Show a job's log, read from the start; null hides it. */
  async showLog(id: HubId | null): Promise<void> {
    if (id === null) {
      this._log = null;
      this._changed.emit();
      return;
    }
    if (this._log && String(this._log.jobId) === String(id)) {
      return;
    }
    this._log = new JobLog(this.client, await this.me(), Number(id));
    this._log.changed.connect(() => this._changed.emit());
    this._changed.emit();
    await this._log.poll();
  }
}
