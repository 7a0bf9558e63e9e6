/**
 * SwarmBackend: each Jupyter server is a one-replica Docker Swarm service whose port is
 * published in host mode (the routing mesh is not used). See serviceSpec.ts for which
 * hardening Swarm supports.
 */
import type { Service } from 'dockerode';
import { CONTAINER_PORT } from '../containerSpec.ts';
import {
  connectDocker,
  type DockerClient,
  type DockerEndpoint,
  isAlreadyGone,
  isNotFound,
} from '../docker/client.ts';
import { LABELS, serverResourceName } from '../names.ts';
import type {
  ManagedServer,
  PollResult,
  SpawnerBackend,
  SpawnRequest,
  SpawnUser,
  SwarmSavedState,
} from '../types.ts';
import {
  buildServiceSpec,
  defaultServiceSpecOptions,
  type ServiceSpecOptions,
} from './serviceSpec.ts';

export interface SwarmBackendConfig {
  /** A manager node of the swarm. */
  manager: DockerEndpoint & { name: string };
  /** Address the hub uses for published ports; default: the address of the task's node. */
  publicAddress?: string;
  spec?: Partial<ServiceSpecOptions>;
  startTimeoutMs?: number;
}

/** The fields of a task this backend reads (dockerode leaves tasks untyped). */
interface Task {
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: {
    State?: string;
    Err?: string;
    ContainerStatus?: { ExitCode?: number };
    PortStatus?: { Ports?: Array<{ TargetPort?: number; PublishedPort?: number }> };
  };
}

const RUNNING_STATES = new Set([
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SwarmBackend implements SpawnerBackend<SwarmSavedState> {
  readonly kind = 'swarm' as const;
  private readonly docker: DockerClient;
  private readonly spec: ServiceSpecOptions;
  private readonly startTimeoutMs: number;

  constructor(private readonly config: SwarmBackendConfig) {
    this.docker = connectDocker(config.manager);
    this.spec = { ...defaultServiceSpecOptions, ...config.spec };
    this.startTimeoutMs = config.startTimeoutMs ?? 90_000;
  }

  async start(request: SpawnRequest): Promise<{ url: string; state: SwarmSavedState }> {
    const name = serverResourceName(this.spec.namePrefix, request.user, request.serverName);
    await this.removeService(name);
    const service: Service = await this.docker.createService(buildServiceSpec(request, this.spec));
    const state: SwarmSavedState = {
      backend: 'swarm',
      host: this.config.manager.name,
      serviceId: service.id,
      serviceName: name,
    };
    try {
      return { url: await this.waitForUrl(service.id), state };
    } catch (error) {
      await this.stop(state).catch(() => undefined);
      throw error;
    }
  }

  async stop(state: SwarmSavedState): Promise<void> {
    await this.removeService(state.serviceId);
  }

  identity(state: SwarmSavedState): string {
    return `swarm:${state.host}:${state.serviceId}`;
  }

  /**
   * Remove the workspace volume as the manager's daemon knows it. A multi-node swarm keeps a
   * volume per node that ran the server; those belong to the nodes' own provisioning.
   */
  async removeWorkspace(_user: SpawnUser, workspaceVolume: string): Promise<void> {
    try {
      await this.docker.getVolume(workspaceVolume).remove();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async poll(state: SwarmSavedState): Promise<PollResult> {
    try {
      await this.docker.getService(state.serviceId).inspect();
    } catch (error) {
      if (isNotFound(error)) return { running: false, exitCode: null };
      throw error;
    }
    const task = await this.latestTask(state.serviceId);
    if (!task) return { running: false, exitCode: null };
    if (RUNNING_STATES.has(task.Status?.State ?? '')) return { running: true };
    return { running: false, exitCode: task.Status?.ContainerStatus?.ExitCode ?? null };
  }

  async listManaged(): Promise<ManagedServer<SwarmSavedState>[]> {
    const services = await this.docker.listServices({
      filters: {
        label: [`${LABELS.managed}=true`, `${LABELS.deployment}=${this.spec.deployment}`],
      },
    });
    const found: ManagedServer<SwarmSavedState>[] = [];
    for (const service of services) {
      const labels = service.Spec?.Labels ?? {};
      const task = await this.latestTask(service.ID);
      const running = task?.Status?.State === 'running';
      found.push({
        owner: labels[LABELS.owner] ?? '',
        serverName: labels[LABELS.server] ?? '',
        running,
        url: running && task ? await this.taskUrl(task) : null,
        state: {
          backend: 'swarm',
          host: this.config.manager.name,
          serviceId: service.ID,
          serviceName: service.Spec?.Name ?? '',
        },
      });
    }
    return found;
  }

  /** Accepts the current shape and `{serviceId|service_id, serviceName?|service_name?}`. */
  loadState(raw: unknown): SwarmSavedState {
    if (typeof raw !== 'object' || raw === null)
      throw new TypeError('Swarm state must be an object');
    const record = raw as Record<string, unknown>;
    if (record['backend'] !== undefined && record['backend'] !== 'swarm') {
      throw new TypeError(`not a Swarm state: backend ${String(record['backend'])}`);
    }
    const id = record['serviceId'] ?? record['service_id'];
    const name = record['serviceName'] ?? record['service_name'] ?? '';
    const host = record['host'] ?? this.config.manager.name;
    if (typeof id !== 'string' || id === '') throw new TypeError('Swarm state has no service id');
    if (typeof name !== 'string' || typeof host !== 'string') {
      throw new TypeError('Swarm state has a malformed name or host');
    }
    return { backend: 'swarm', host, serviceId: id, serviceName: name };
  }

  async close(): Promise<void> {
    // dockerode keeps no persistent connections; nothing to release.
  }

  private async removeService(idOrName: string): Promise<void> {
    try {
      await this.docker.getService(idOrName).remove();
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
  }

  private async latestTask(serviceId: string): Promise<Task | undefined> {
    const tasks = (await this.docker.listTasks({
      filters: { service: [serviceId] },
    })) as Task[];
    return tasks.sort((a, b) => (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''))[0];
  }

  private async taskUrl(task: Task): Promise<string | null> {
    const port = task.Status?.PortStatus?.Ports?.find(
      (entry) => entry.TargetPort === CONTAINER_PORT,
    )?.PublishedPort;
    if (!port) return null;
    let address = this.config.publicAddress;
    if (!address && task.NodeID) {
      const node = await this.docker.getNode(task.NodeID).inspect();
      address = node.Status?.Addr;
    }
    return `http://${address ?? '127.0.0.1'}:${port}`;
  }

  private async waitForUrl(serviceId: string): Promise<string> {
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      const task = await this.latestTask(serviceId);
      const status = task?.Status?.State ?? 'new';
      if (task && !RUNNING_STATES.has(status)) {
        throw new Error(`service task ${status}: ${task.Status?.Err ?? 'no error reported'}`);
      }
      if (task && status === 'running') {
        const url = await this.taskUrl(task);
        if (url) return url;
      }
      if (Date.now() > deadline) throw new Error('service did not start in time');
      await sleep(200);
    }
  }
}
