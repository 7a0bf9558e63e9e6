/**
 * Job containers on a Docker Swarm domain (docs/jobs.md, "Swarm domains"): each job is a
 * one-replica service that runs once (`RestartPolicy.Condition: none`), named and labelled as a
 * job container is, on its own internal overlay network of the same name (no gateway, nothing
 * else on it: Swarm has no "no network" for tasks). Its outcome is its task's: `complete` or
 * `failed` with the container's exit code, `rejected` (the node would not run it) as a failed
 * start. Found by name and label like the Docker containers, so a hub that restarts adopts them.
 */
import { buildJobServiceSpec, type DockerClient, isAlreadyGone, isNotFound } from '@orrery/spawner';
import type { ContainerCreateOptions } from 'dockerode';
import {
  type ContainerState,
  demultiplex,
  ensureWorkspaceVolume,
  type JobContainers,
  type JobOutput,
  keptTail,
} from './containers.ts';
import { JOB_LABELS } from './jobSpec.ts';

/** The fields of a task read here (dockerode leaves tasks untyped). */
export interface Task {
  NodeID?: string;
  CreatedAt?: string;
  Status?: {
    State?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

/** Task states before its container has ended: the job is running as far as the hub goes. */
const NOT_ENDED = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
]);

/** How a node says that it has no such image (it does not pull a local-only one). */
const IMAGE_MISSING =
  /no such image|pull access denied|manifest unknown|repository does not exist/i;

/** How often `wait` looks at a task whose container it cannot wait on (another node's). */
const WAIT_POLL_MS = 1000;

/**
 * What a job's task says of it, OOM aside: running (no task yet, or one not ended), exited with
 * its container's status, or rejected (it never ran: refused by the node, failed to start,
 * lost with its node). Pure.
 */
export function taskOutcome(
  task: Task | undefined,
):
  | { state: 'running' }
  | { state: 'exited'; exitCode: number }
  | { state: 'rejected'; imageMissing: boolean; message: string } {
  const state = task?.Status?.State ?? 'new';
  if (NOT_ENDED.has(state)) return { state: 'running' };
  const said = task?.Status?.Err ?? '';
  // `complete` is a zero exit, whether or not the (omit-empty) code is there.
  const exitCode =
    task?.Status?.ContainerStatus?.ExitCode ?? (state === 'complete' ? 0 : undefined);
  const exited =
    state === 'complete' ||
    (exitCode !== undefined && (state === 'shutdown' || said.startsWith('task: non-zero exit')));
  if (!exited || exitCode === undefined) {
    return {
      state: 'rejected',
      imageMissing: IMAGE_MISSING.test(said),
      message: `Swarm's task is ${state}${said ? `: ${said}` : ''}`,
    };
  }
  return { state: 'exited', exitCode };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

export class SwarmJobContainers implements JobContainers {
  private managerNode: Promise<string> | undefined;

  /**
   * @param docker a manager of the swarm
   * @param deployment the label every job of this deployment carries
   * @param bindRoots host folders a job's bind may come from (checked again in the service spec)
   */
  constructor(
    private readonly docker: DockerClient,
    private readonly deployment: string,
    private readonly bindRoots: string[],
  ) {}

  ensureVolume(name: string, owner: string): Promise<void> {
    return ensureWorkspaceVolume(this.docker, name, owner);
  }

  /**
   * The network, then the service; either existing already (a start the last hub began) is
   * adopted. Swarm starts a service's one task by itself: there is no "created" to resume. A
   * job that binds host folders (its Storage folder and volume view, which the hub prepares on
   * the manager's host) is placed on the manager's node.
   */
  async start(spec: ContainerCreateOptions): Promise<void> {
    const name = spec.name!;
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'overlay',
        Internal: true,
        CheckDuplicate: true,
        Labels: spec.Labels ?? {},
      });
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const binds = (spec.HostConfig?.Mounts ?? []).some((mount) => mount.Type === 'bind');
    const service = buildJobServiceSpec(spec, {
      bindRoots: this.bindRoots,
      network: name,
      constraints: binds ? [`node.id==${await this.nodeOfManager()}`] : [],
    });
    try {
      await this.docker.createService(service);
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }

  async inspect(name: string): Promise<ContainerState> {
    const found = await this.serviceTask(name);
    if (!found) return { state: 'missing' };
    const outcome = taskOutcome(found.task);
    if (outcome.state !== 'exited') return outcome;
    return { ...outcome, oomKilled: await this.oomKilled(found.task!, outcome.exitCode) };
  }

  /**
   * Tasks do not say OOMKilled; the container does. It is read where the hub can reach it (a
   * task on the manager's node); elsewhere an out-of-memory kill shows as its exit status.
   */
  private async oomKilled(task: Task, exitCode: number): Promise<boolean> {
    const container = task.Status?.ContainerStatus?.ContainerID;
    if (exitCode === 0 || !container || task.NodeID !== (await this.nodeOfManager())) return false;
    try {
      return Boolean((await this.docker.getContainer(container).inspect()).State.OOMKilled);
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The service's logs (each task's container's, through the swarm). */
  async logs(name: string): Promise<JobOutput> {
    try {
      const raw = (await this.docker
        .getService(name)
        .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return demultiplex(raw);
    } catch (error) {
      if (isNotFound(error)) return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
      throw error;
    }
  }

  async keptLogs(name: string) {
    return keptTail(await this.logs(name));
  }

  /**
   * Kill the task's container, as a Docker job's is killed: the task fails with status 137 and
   * keeps its logs until the service goes. A task on another node than the manager's (a job
   * without host binds) cannot be reached so: the service is scaled to none, which stops it but
   * also drops the task, its exit status and its log (the workspace's `stdout.txt` keeps it).
   */
  async kill(name: string): Promise<void> {
    try {
      const task = (await this.serviceTask(name))?.task;
      const container = task?.Status?.ContainerStatus?.ContainerID;
      if (container && task?.NodeID === (await this.nodeOfManager())) {
        await this.docker.getContainer(container).kill();
        return;
      }
      const service = this.docker.getService(name);
      const info = await service.inspect();
      if (info.Spec?.Mode?.Replicated?.Replicas === 0) return;
      const update = {
        _query: { version: info.Version?.Index },
        _body: { ...info.Spec, Mode: { Replicated: { Replicas: 0 } } },
      };
      await service.update(update as unknown as Parameters<typeof service.update>[0]);
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
  }

  /**
   * The service, then its network. Swarm takes the task's container away after answering, and
   * the network can go only once it has: a network still in use after a few tries is left for
   * the dispatcher's sweep, which finds it by label (list) and removes it in a later round.
   */
  async remove(name: string): Promise<void> {
    try {
      await this.docker.getService(name).remove();
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        await this.docker.getNetwork(name).remove();
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        await sleep(300);
      }
    }
  }

  /**
   * Resolves once the task has ended (at once if it has or the service is gone): through the
   * container's own wait when the task runs on the manager's node, else by looking every
   * WAIT_POLL_MS. After the container ends, the task's state follows a moment later; this
   * waits for that too, so the round it wakes sees the end.
   */
  async wait(name: string): Promise<void> {
    for (;;) {
      if ((await this.inspect(name)).state !== 'running') return;
      const task = (await this.serviceTask(name))?.task;
      const container = task?.Status?.ContainerStatus?.ContainerID;
      if (container && task?.NodeID === (await this.nodeOfManager())) {
        try {
          await this.docker.getContainer(container).wait({ condition: 'not-running' });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        while ((await this.inspect(name)).state === 'running') await sleep(200);
        return;
      }
      await sleep(WAIT_POLL_MS);
    }
  }

  /** This deployment's job services, and job networks whose service is gone already. */
  async list(): Promise<{ name: string; jobId: number }[]> {
    const filters = { label: [`${JOB_LABELS.deployment}=${this.deployment}`] };
    const found = new Map<string, number>();
    for (const service of await this.docker.listServices({ filters })) {
      const labels = service.Spec?.Labels ?? {};
      found.set(service.Spec?.Name ?? '', Number(labels[JOB_LABELS.job]));
    }
    for (const network of await this.docker.listNetworks({ filters })) {
      found.set(network.Name, Number(network.Labels?.[JOB_LABELS.job]));
    }
    return [...found].map(([name, jobId]) => ({ name, jobId }));
  }

  /**
   * The job's service's one task (restart none: it never has a second; newest first to be
   * sure), or null when the service is gone.
   */
  private async serviceTask(name: string): Promise<{ task: Task | undefined } | null> {
    try {
      const service = await this.docker.getService(name).inspect();
      const tasks = (await this.docker.listTasks({
        filters: { service: [service.ID] },
      })) as Task[];
      tasks.sort((a, b) => (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''));
      return { task: tasks[0] };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The manager's own node, where the hub prepares the folders a job binds. */
  private nodeOfManager(): Promise<string> {
    this.managerNode ??= this.docker.info().then((info) => {
      const id = info.Swarm?.NodeID;
      if (!id) throw new Error('the Swarm manager is not part of a swarm');
      return id as string;
    });
    // A failed look is not kept: the next call asks again.
    this.managerNode.catch(() => {
      this.managerNode = undefined;
    });
    return this.managerNode;
  }
}
