/**
 * The dispatcher of one hub process: it claims queued jobs (fair share, caps), starts their
 * containers, watches them and records how each ended. Its state is the database and the
 * containers' names and labels, nothing in memory that a restart would lose:
 * - a heartbeat on the jobs it watches; jobs whose dispatcher went silent are adopted;
 * - a container's exit (Docker's wait) is recorded at once and the next job of its domain
 *   claimed in the same breath, so a slot is handed on after one look at one container; the
 *   round below, every poll, is what makes that safe (a missed exit is found there);
 * - a watched job's container is looked up by name each round: running → kept (or killed at
 *   its time limit), exited → its outcome recorded from the exit code, never created → the
 *   job queued again;
 * - containers of jobs that are not running any more (cancelled meanwhile) are removed.
 */
import { randomUUID } from 'node:crypto';
import { findUserById } from '../accounts/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import type { Db } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { type JobsConfig, limitsOf } from './config.ts';
import { type ContainerState, ImageMissing, type JobContainers } from './containers.ts';
import { buildJobSpec, FAILURE_MARKER, type JobMounts } from './jobSpec.ts';
import { type Failure, transition } from './status.ts';
import {
  adoptStale,
  claimNext,
  heartbeat,
  type JobRecord,
  runningOf,
  statusesOf,
} from './store.ts';

export interface DispatcherOptions {
  db: Db;
  log: Logger;
  config: JobsConfig;
  /** The Docker host of each batch domain. */
  domains: ReadonlyMap<string, JobContainers>;
  /** Container names: `<resource prefix>job-<id>`, the same in every hub of the deployment. */
  containerNameOf(id: number): string;
  /** The label every job container of this deployment carries. */
  deployment: string;
  /**
   * What the user's job container mounts, as their servers do: the named workspace volume, or
   * their Storage folder and volume view (prepared on the domain's hosts first).
   */
  mountsOf(user: UserRecord, domain: string): Promise<JobMounts>;
}

/** The outcome an exited container means. */
export function outcomeOf(state: Extract<ContainerState, { state: 'exited' }>): {
  status: 'succeeded' | 'failed';
  failure?: Failure;
  message?: string;
} {
  if (state.oomKilled)
    return { status: 'failed', failure: 'oom', message: 'Killed: out of memory' };
  if (state.exitCode === 0) return { status: 'succeeded' };
  return {
    status: 'failed',
    failure: 'exit_code',
    message: `The command exited with status ${state.exitCode}`,
  };
}

/** The failure a notebook runner reported on stderr (jobSpec.ts's NOTEBOOK_RUNNER), if any. */
export function notebookFailure(stderr: string): { failure: Failure; message: string } | null {
  const at = stderr.lastIndexOf(`\n${FAILURE_MARKER}`);
  const line = (at >= 0 ? stderr.slice(at + 1) : stderr.startsWith(FAILURE_MARKER) ? stderr : '')
    .split('\n')[0]!
    .slice(FAILURE_MARKER.length);
  try {
    const said = JSON.parse(line) as { failure?: unknown; message?: unknown };
    const failure = said.failure === 'cell_error' ? 'cell_error' : 'notebook_error';
    if (typeof said.message !== 'string') return null;
    return { failure, message: said.message.slice(0, 2000) };
  } catch {
    return null;
  }
}

export class JobDispatcher {
  /** This dispatcher's name in `jobs.dispatcher`; a new one per hub process. */
  readonly id = randomUUID();
  /** Jobs whose container this process is creating right now. */
  private readonly starting = new Map<number, Promise<void>>();
  /** Jobs whose container this process waits on (Docker's wait), to act as soon as it exits. */
  private readonly waiting = new Set<number>();
  /** Containers of recorded jobs being removed, off the path that frees their slots. */
  private readonly removing = new Set<Promise<void>>();
  /** Jobs whose exit is being recorded off the round. */
  private readonly settling = new Map<number, Promise<void>>();
  /**
   * What this process is doing with each job, one thing at a time: the round killing a job at
   * its time limit and the exit that kill causes must not both record an end (the first would
   * win: "failed" instead of "timed out").
   */
  private readonly handling = new Map<number, Promise<void>>();
  /**
   * Jobs whose end this process recorded, until their container is removed: a look queued
   * behind the one that recorded it (the round's, with the job as it was) has nothing to do.
   */
  private readonly ended = new Set<number>();
  /** Claims made off the round (a job queued on this hub), so that stop can wait for them. */
  private readonly nudges = new Set<Promise<void>>();
  /**
   * Each user's mounts on a domain while a job of theirs started by this process runs there:
   * their view stays applied and is kept current by the files module while a job of theirs runs
   * (onViewChanged reaches users with running jobs), so the next job of a sweep binds the same
   * folders without applying the view again (a script run on every mount host).
   */
  private readonly mounts = new Map<string, { mounts: Promise<JobMounts>; jobs: Set<number> }>();
  /** Each domain's claims under way here, and the domains asked to claim again after them. */
  private readonly claiming = new Map<string, Promise<void>>();
  private readonly claimAgain = new Set<string>();
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private inRound = false;
  /** A container ended during a round: run another right after it. */
  private again = false;
  private stopped = false;

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.started = true;
    this.tick();
  }

  /**
   * A job was queued on `domain` (or a slot freed there) through this hub: claim now rather than
   * at the next poll. Other hubs' dispatchers find it at their poll.
   */
  nudge(domain: string): void {
    if (!this.started || this.stopped || !this.options.domains.has(domain)) return;
    const claimed = this.claimIn(domain)
      .catch((err) => this.options.log.warn({ domain, err: String(err) }, 'job claim failed'))
      .finally(() => this.nudges.delete(claimed));
    this.nudges.add(claimed);
  }

  private readonly tick = (): void => {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.inRound = true;
    this.round = this.runRound()
      .catch((err) => this.options.log.error({ err: String(err) }, 'job dispatch round failed'))
      .finally(() => {
        this.inRound = false;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.tick();
        } else this.timer = setTimeout(this.tick, this.options.config.pollMs);
      });
  };

  /** Run a round now (or right after the one under way) rather than at the next poll. */
  private wake(): void {
    if (this.stopped) return;
    if (this.inRound) this.again = true;
    else this.tick();
  }

  /** Wait on a running job's container in the background; its exit is settled at once. */
  private follow(job: JobRecord): void {
    if (this.waiting.has(job.id) || this.stopped) return;
    this.waiting.add(job.id);
    this.containersOf(job)
      .wait(job.containerName!)
      .then(
        () => {
          this.waiting.delete(job.id);
          this.settle(job);
        },
        // The poll still finds the exit; a broken wait only costs its promptness.
        () => this.waiting.delete(job.id),
      )
      .finally(() => this.releaseMounts(job));
  }

  /**
   * A job's container ended: record how (one look at its container) and claim the next job of
   * its domain, without the rest of a round. A failure here is logged and left to the round.
   */
  private settle(job: JobRecord): void {
    if (this.stopped || this.settling.has(job.id)) return;
    const settled = this.inTurn(job.id, () => this.watch(job))
      .then(() => this.claimIn(job.domain))
      .catch((err) => {
        this.options.log.warn({ job: job.id, err: String(err) }, 'job exit not settled');
        this.wake();
      })
      .finally(() => this.settling.delete(job.id));
    this.settling.set(job.id, settled);
  }

  /**
   * Stop claiming and watching. Containers keep running: the next dispatcher (this hub
   * restarted, or another) adopts their jobs once this one's heartbeat is stale.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await Promise.allSettled([...this.settling.values(), ...this.nudges]);
    await Promise.allSettled(this.starting.values());
    await Promise.allSettled(this.removing);
  }

  /** One pass: heartbeat, adopt, watch, sweep, then start what may start. */
  async runRound(): Promise<void> {
    const { db, config, domains } = this.options;
    await heartbeat(db, this.id);
    await adoptStale(db, this.id, [...domains.keys()], config.staleSeconds);
    // Each job's look is its own (and a slow Docker call for one does not hold up the rest).
    const watched = (await runningOf(db, this.id)).filter((job) => !this.starting.has(job.id));
    await Promise.all(
      watched.map((job) =>
        this.inTurn(job.id, () => this.watch(job)).catch((err) =>
          this.options.log.warn({ job: job.id, err: String(err) }, 'job watch failed'),
        ),
      ),
    );
    await this.sweep();
    for (const [domain] of domains) await this.claimIn(domain);
  }

  /** Run `action` on a job after what this process is already doing with it. */
  private inTurn(jobId: number, action: () => Promise<void>): Promise<void> {
    const next = (this.handling.get(jobId) ?? Promise.resolve()).catch(() => {}).then(action);
    this.handling.set(jobId, next);
    const forget = () => {
      if (this.handling.get(jobId) === next) this.handling.delete(jobId);
    };
    next.then(forget, forget);
    return next;
  }

  /**
   * Claim and launch jobs of `domain` while its caps allow. One claimer per domain in this
   * process (a burst of submissions or exits does not queue a claim each on the domain's lock);
   * asked again meanwhile, it claims once more when done.
   */
  private claimIn(domain: string): Promise<void> {
    const under = this.claiming.get(domain);
    if (under) {
      this.claimAgain.add(domain);
      return under;
    }
    this.claimAgain.delete(domain);
    const claims = this.claimWhileFree(domain).finally(() => {
      this.claiming.delete(domain);
      // Asked while claiming (a slot may have freed after the last claim looked): once more.
      if (this.claimAgain.has(domain)) this.nudge(domain);
    });
    this.claiming.set(domain, claims);
    return claims;
  }

  /** Claim and launch jobs of `domain` until its caps are reached or its queue is empty. */
  private async claimWhileFree(domain: string): Promise<void> {
    const { db, config } = this.options;
    while (!this.stopped) {
      const job = await claimNext(
        db,
        domain,
        limitsOf(config, domain),
        config.halfLifeSeconds,
        this.id,
        this.options.containerNameOf,
      );
      if (!job) return;
      this.launch(job);
    }
  }

  private containersOf(job: JobRecord): JobContainers {
    const containers = this.options.domains.get(job.domain);
    if (!containers) throw new Error(`compute domain ${job.domain} runs no jobs here`);
    return containers;
  }

  /** Start the claimed job's container in the background; a start that fails ends the job. */
  private launch(job: JobRecord): void {
    const started = this.startContainer(job)
      .catch(async (err) => {
        const missing = err instanceof ImageMissing;
        this.options.log.warn({ job: job.id, err: String(err) }, 'job container did not start');
        await transition(this.options.db, job.id, ['running'], 'failed', {
          failure: missing ? 'image_missing' : 'start_failed',
          message: missing ? err.message : `The container did not start: ${String(err)}`,
        });
        this.releaseMounts(job);
        await this.containersOf(job).remove(job.containerName!);
      })
      .catch((err) =>
        this.options.log.error({ job: job.id, err: String(err) }, 'job start cleanup failed'),
      )
      .finally(() => this.starting.delete(job.id));
    this.starting.set(job.id, started);
  }

  private async startContainer(job: JobRecord): Promise<void> {
    const user = await findUserById(this.options.db, job.userId);
    if (!user) throw new Error(`the job's user ${job.userId} is gone`);
    const containers = this.containersOf(job);
    const mounts = await this.mountsFor(user, job);
    // A workspace bound from the user's Storage folder needs no volume (as for servers).
    if (!mounts.workspaceHostPath) await containers.ensureVolume(mounts.workspaceVolume, user.name);
    await containers.start(
      buildJobSpec(job, {
        name: job.containerName!,
        deployment: this.options.deployment,
        owner: user.name,
        ...mounts,
      }),
    );
    this.follow(job);
  }

  /** The user's mounts for `job`: those of a job of theirs running on its domain, or made now. */
  private mountsFor(user: UserRecord, job: JobRecord): Promise<JobMounts> {
    const key = `${user.id}/${job.domain}`;
    let held = this.mounts.get(key);
    if (!held) {
      const made = { mounts: this.options.mountsOf(user, job.domain), jobs: new Set<number>() };
      // A failed preparation is not kept for the next job to reuse.
      made.mounts.catch(() => {
        if (this.mounts.get(key) === made) this.mounts.delete(key);
      });
      this.mounts.set(key, made);
      held = made;
    }
    held.jobs.add(job.id);
    return held.mounts;
  }

  /** The job's container runs no more (or never started): its user's mounts may go stale. */
  private releaseMounts(job: JobRecord): void {
    const key = `${job.userId}/${job.domain}`;
    const held = this.mounts.get(key);
    if (!held?.jobs.delete(job.id)) return;
    if (held.jobs.size === 0) this.mounts.delete(key);
  }

  /** Look at a running job's container and act on what it says. */
  private async watch(job: JobRecord): Promise<void> {
    if (this.ended.has(job.id)) return;
    const containers = this.containersOf(job);
    const name = job.containerName!;
    const found = await containers.inspect(name);
    switch (found.state) {
      case 'missing':
        // Claimed, but the container never came to be (its hub died first): queue it again.
        await transition(this.options.db, job.id, ['running'], 'queued', {
          message: 'Queued again: its start was lost',
        });
        return;
      case 'created':
        // Created by a hub that died before starting it.
        this.launch(job);
        return;
      case 'running': {
        this.follow(job);
        const ranFor = (Date.now() - job.startedAt!.getTime()) / 1000;
        if (ranFor <= job.timeLimitSeconds) return;
        await containers.kill(name);
        await this.finish(job, 'timed_out', {
          message: `Stopped at its time limit of ${job.timeLimitSeconds} s`,
        });
        return;
      }
      case 'exited': {
        const { status, ...why } = outcomeOf(found);
        await this.finish(job, status, { exitCode: found.exitCode, ...why });
        return;
      }
      case 'rejected':
        // Swarm would not run its task (the image is not on the node, a mount is missing).
        await this.finish(job, 'failed', {
          failure: found.imageMissing ? 'image_missing' : 'start_failed',
          message: found.imageMissing
            ? `The image ${job.image} is not on the host: ${found.message}`
            : `The container did not start: ${found.message}`,
        });
        return;
    }
  }

  /** Record the end with the container's output, then remove the container. */
  private async finish(
    job: JobRecord,
    status: 'succeeded' | 'failed' | 'timed_out',
    change: { exitCode?: number; failure?: Failure; message?: string },
  ): Promise<void> {
    const containers = this.containersOf(job);
    const logs = await containers.keptLogs(job.containerName!);
    // A notebook that failed says why on its last line of stderr (the runner's marker).
    const why =
      job.kind === 'notebook' && change.failure === 'exit_code'
        ? notebookFailure(logs.stderr)
        : null;
    const moved = await transition(this.options.db, job.id, ['running'], status, {
      ...change,
      ...(why ?? {}),
      ...logs,
    });
    // Only the one who recorded the end removes the container (after the round, so the slot
    // is free for the next claim at once); the sweep catches the rest.
    if (moved === null) return;
    this.ended.add(job.id);
    const removal = containers
      .remove(job.containerName!)
      .catch((err) =>
        this.options.log.warn({ job: job.id, err: String(err) }, 'job container removal failed'),
      )
      .finally(() => {
        this.removing.delete(removal);
        this.ended.delete(job.id);
      });
    this.removing.add(removal);
  }

  /**
   * Remove job containers of this deployment whose job has ended (or is gone). A queued job's
   * container stays: it is one a dead hub created after its job was re-queued as a lost start,
   * and the next claim adopts it by name (create answers 409) instead of running the command
   * a second time.
   */
  private async sweep(): Promise<void> {
    for (const containers of this.options.domains.values()) {
      const found = await containers.list();
      if (found.length === 0) continue;
      const statuses = await statusesOf(
        this.options.db,
        found.map((c) => c.jobId),
      );
      for (const { name, jobId } of found) {
        const status = statuses.get(jobId);
        if (status !== 'running' && status !== 'queued') await containers.remove(name);
      }
    }
  }
}
