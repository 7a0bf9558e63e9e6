/**
 * DockerBackend: Jupyter servers as containers on a compute domain, i.e. a set of Docker hosts
 * reached over a local socket, TCP(+TLS) or SSH. Placement is least-loaded with round-robin
 * tie-break (placement.ts); the container body comes from the pure buildContainerSpec.
 */
import type { Container, ContainerInfo } from 'dockerode';
import {
  buildContainerSpec,
  CONTAINER_PORT,
  type ContainerSpecOptions,
  defaultContainerSpecOptions,
} from '../containerSpec.ts';
import { LABELS, serverResourceName } from '../names.ts';
import type {
  DockerSavedState,
  ManagedServer,
  PollResult,
  SpawnerBackend,
  SpawnRequest,
  SpawnUser,
} from '../types.ts';
import {
  connectDocker,
  type DockerClient,
  type DockerEndpoint,
  isAlreadyGone,
  isNotFound,
} from './client.ts';
import {
  applyFirewallRules,
  defaultFirewallOptions,
  ensureUserNetwork,
  type FirewallOptions,
  firewallRules,
  hostResolvers,
  removeFirewallRules,
} from './network.ts';
import { chooseHost } from './placement.ts';

/** One Docker host of the compute domain. */
export interface DockerHostConfig extends DockerEndpoint {
  /** Stable name, saved in server state; renaming a host orphans its servers. */
  name: string;
  /** Address the hub uses to reach ports published on this host. Default `127.0.0.1`. */
  publicAddress?: string;
  /** Address ports are published on, on the host. Default `127.0.0.1`. */
  publishHostIp?: string;
  /** Bridge interface of the user network on this host. Default `orrery0`. */
  bridgeName?: string;
  /**
   * `local-iptables`: the host is this machine and the backend installs the user-network
   * firewall (docker/network.ts). `none`: the host's provisioning installs it. Default `none`.
   */
  firewall?: 'local-iptables' | 'none';
  /**
   * Environment for servers placed on this host, over the request's own (e.g. the hub URL as
   * seen from this host's user network).
   */
  serverEnv?: Record<string, string>;
  /**
   * Reach servers at their address on the user network instead of the published port: skips
   * Docker's userland port proxy. Only for a host that is this machine. Default false.
   */
  reachContainerAddress?: boolean;
}

export interface DockerBackendConfig {
  hosts: DockerHostConfig[];
  /** Resource naming, labels, user, workspace path and network name (see ContainerSpecOptions). */
  spec?: Partial<Omit<ContainerSpecOptions, 'publishHostIp'>>;
  firewall?: Partial<FirewallOptions>;
  /**
   * Ports of `firewall.allowHostPorts` that this process opened for itself (the hub's port):
   * `close()` removes their rules from the local firewall again.
   */
  releaseHostPortsOnClose?: number[];
  /**
   * On `close()`, remove the user network (and, on a `local-iptables` host, its bridge's
   * firewall rules) where no container uses it any more: for a network of the deployment's
   * own, so a stopped deployment leaves nothing behind. Default false.
   */
  removeUnusedNetworkOnClose?: boolean;
  /** How long `start` waits for the container to be running with its port published. */
  startTimeoutMs?: number;
  /** Seconds Docker waits after SIGTERM before SIGKILL on stop. */
  stopGraceSeconds?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Host {
  config: DockerHostConfig;
  docker: DockerClient;
  /** Resolves once the user network (and firewall) exist on this host. */
  ready?: Promise<void>;
}

/**
 * Where the hub reaches a server on `host`: its address on the user network, or the port
 * published for it; undefined while the one the host uses is not known yet.
 */
function serverUrl(
  host: DockerHostConfig,
  address: string | undefined,
  hostPort: string | number | undefined,
): string | undefined {
  if (host.reachContainerAddress)
    return address ? `http://${address}:${CONTAINER_PORT}` : undefined;
  return hostPort ? `http://${host.publicAddress ?? '127.0.0.1'}:${hostPort}` : undefined;
}

export class DockerBackend implements SpawnerBackend<DockerSavedState> {
  readonly kind = 'docker' as const;
  private readonly hosts = new Map<string, Host>();
  private readonly spec: Omit<ContainerSpecOptions, 'publishHostIp'>;
  private readonly firewall: FirewallOptions;
  private readonly startTimeoutMs: number;
  private readonly stopGraceSeconds: number;
  private readonly releaseHostPorts: number[];
  private readonly removeUnusedNetwork: boolean;
  private cursor = 0;

  constructor(config: DockerBackendConfig) {
    if (config.hosts.length === 0) throw new TypeError('DockerBackend needs at least one host');
    for (const host of config.hosts) {
      if (this.hosts.has(host.name)) throw new TypeError(`duplicate Docker host ${host.name}`);
      this.hosts.set(host.name, { config: host, docker: connectDocker(host) });
    }
    const { publishHostIp: _unused, ...defaults } = defaultContainerSpecOptions;
    this.spec = { ...defaults, ...config.spec };
    this.firewall = { ...defaultFirewallOptions, ...config.firewall };
    this.startTimeoutMs = config.startTimeoutMs ?? 60_000;
    this.stopGraceSeconds = config.stopGraceSeconds ?? 10;
    this.releaseHostPorts = config.releaseHostPortsOnClose ?? [];
    this.removeUnusedNetwork = config.removeUnusedNetworkOnClose ?? false;
  }

  /** Names of the configured hosts, in configuration order. */
  get hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  async start(request: SpawnRequest): Promise<{ url: string; state: DockerSavedState }> {
    const name = serverResourceName(this.spec.namePrefix, request.user, request.serverName);
    await this.removeEverywhere(name);
    const host = await this.place();
    await this.prepareHost(host);
    const docker = host.docker;
    const env = { ...request.env, ...host.config.serverEnv };
    const spec = buildContainerSpec(
      { ...request, env },
      {
        ...this.spec,
        publishHostIp: host.config.publishHostIp ?? '127.0.0.1',
      },
    );
    // A workspace bound from the user's Storage folder needs no volume (the hub made the folder).
    if (!request.workspaceHostPath) {
      await this.ensureVolume(docker, request.workspaceVolume, request.user.name);
    }
    for (const volume of request.extraVolumes ?? []) {
      await this.ensureVolume(docker, volume.name, request.user.name);
    }
    const container = await docker.createContainer(spec);
    const state: DockerSavedState = {
      backend: 'docker',
      host: host.config.name,
      containerId: container.id,
      containerName: name,
    };
    try {
      await container.start();
      return { url: await this.waitForUrl(host, container.id), state };
    } catch (error) {
      await this.stop(state).catch(() => undefined);
      throw error;
    }
  }

  async stop(state: DockerSavedState): Promise<void> {
    const container = this.host(state.host).docker.getContainer(state.containerId);
    try {
      await container.stop({ t: this.stopGraceSeconds });
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
    try {
      await container.remove({ force: true, v: false });
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
    // A removal Docker already had in progress (409 above) may still hold the workspace volume:
    // resolve only once the container is gone, so removing the workspace next cannot race it.
    await waitUntilRemoved(container, REMOVAL_WAIT_MS);
  }

  identity(state: DockerSavedState): string {
    return `docker:${state.host}:${state.containerId}`;
  }

  /** Remove the volume on every host; a host that does not answer fails the call (retried later). */
  async removeWorkspace(_user: SpawnUser, workspaceVolume: string): Promise<void> {
    for (const host of this.hosts.values()) {
      try {
        await host.docker.getVolume(workspaceVolume).remove();
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  async poll(state: DockerSavedState): Promise<PollResult> {
    try {
      const info = await this.host(state.host).docker.getContainer(state.containerId).inspect();
      if (info.State.Running) return { running: true };
      return { running: false, exitCode: info.State.ExitCode };
    } catch (error) {
      if (isNotFound(error)) return { running: false, exitCode: null };
      throw error;
    }
  }

  async listManaged(): Promise<ManagedServer<DockerSavedState>[]> {
    const found: ManagedServer<DockerSavedState>[] = [];
    for (const host of this.hosts.values()) {
      for (const info of await this.listOn(host)) {
        const hostPort = info.Ports.find(
          (port) => port.PrivatePort === CONTAINER_PORT && port.PublicPort,
        )?.PublicPort;
        const running = info.State === 'running';
        const address = info.NetworkSettings?.Networks?.[this.spec.network]?.IPAddress;
        const url = serverUrl(host.config, address, hostPort);
        found.push({
          owner: info.Labels[LABELS.owner] ?? '',
          serverName: info.Labels[LABELS.server] ?? '',
          running,
          url: running && url ? url : null,
          state: {
            backend: 'docker',
            host: host.config.name,
            containerId: info.Id,
            containerName: (info.Names[0] ?? '').replace(/^\//, ''),
          },
        });
      }
    }
    return found;
  }

  /**
   * Accepts the current shape and two older ones:
   * - `{ containerId, containerName? }` without `backend`/`host` (single-host Orrery);
   * - dockerspawner-style `{ container_id, container_name?, host? }`.
   * A missing host means the first configured host; a missing name is left empty.
   */
  loadState(raw: unknown): DockerSavedState {
    if (typeof raw !== 'object' || raw === null)
      throw new TypeError('Docker state must be an object');
    const record = raw as Record<string, unknown>;
    if (record['backend'] !== undefined && record['backend'] !== 'docker') {
      throw new TypeError(`not a Docker state: backend ${String(record['backend'])}`);
    }
    const id = record['containerId'] ?? record['container_id'];
    const name = record['containerName'] ?? record['container_name'] ?? '';
    const host = record['host'] ?? this.hostNames[0];
    if (typeof id !== 'string' || id === '')
      throw new TypeError('Docker state has no container id');
    if (typeof name !== 'string' || typeof host !== 'string') {
      throw new TypeError('Docker state has a malformed name or host');
    }
    return { backend: 'docker', host, containerId: id, containerName: name };
  }

  async close(): Promise<void> {
    // dockerode keeps no persistent connections; only this process's firewall openings go,
    // and the user network when this deployment no longer runs anything on it.
    for (const host of this.hosts.values()) {
      const bridge = host.config.bridgeName ?? 'orrery0';
      const iptables = host.config.firewall === 'local-iptables';
      if (iptables && this.releaseHostPorts.length > 0) {
        const openings = firewallRules(bridge, {
          ...this.firewall,
          allowHostPorts: this.releaseHostPorts,
          resolvers: [],
        }).filter((rule) => rule.args.includes('--dport'));
        await removeFirewallRules(openings);
      }
      if (this.removeUnusedNetwork && (await this.removeNetworkIfUnused(host)) && iptables) {
        const resolvers = this.firewall.resolvers ?? (await hostResolvers());
        await removeFirewallRules(firewallRules(bridge, { ...this.firewall, resolvers }));
      }
    }
  }

  /** Remove the user network on `host` unless a container is on it; true if it went now. */
  private async removeNetworkIfUnused(host: Host): Promise<boolean> {
    try {
      await host.docker.getNetwork(this.spec.network).remove();
      return true;
    } catch {
      return false; // gone already, in use (servers outlive the hub), or the host is down
    }
  }

  /** Managed containers of this deployment on `host`, running or not. */
  private listOn(host: Host): Promise<ContainerInfo[]> {
    return host.docker.listContainers({
      all: true,
      filters: {
        label: [`${LABELS.managed}=true`, `${LABELS.deployment}=${this.spec.deployment}`],
      },
    });
  }

  private host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`Docker host ${name} is not in the compute domain`);
    return host;
  }

  /** Least-loaded reachable host; unreachable hosts are skipped. */
  private async place(): Promise<Host> {
    const load = new Map<string, number>();
    const errors: string[] = [];
    await Promise.all(
      [...this.hosts.values()].map(async (host) => {
        try {
          load.set(host.config.name, (await this.listOn(host)).length);
        } catch (error) {
          errors.push(`${host.config.name}: ${(error as Error).message}`);
        }
      }),
    );
    const decision = chooseHost(this.hostNames, load, this.cursor);
    if (!decision) throw new Error(`no Docker host reachable (${errors.join('; ')})`);
    this.cursor = decision.cursor;
    return this.host(decision.host);
  }

  private prepareHost(host: Host): Promise<void> {
    if (!host.ready) {
      host.ready = (async () => {
        const bridge = host.config.bridgeName ?? 'orrery0';
        await ensureUserNetwork(host.docker, {
          name: this.spec.network,
          bridgeName: bridge,
          deployment: this.spec.deployment,
        });
        if (host.config.firewall === 'local-iptables') {
          const resolvers = this.firewall.resolvers ?? (await hostResolvers());
          await applyFirewallRules(firewallRules(bridge, { ...this.firewall, resolvers }));
        }
      })();
      host.ready.catch(() => {
        host.ready = undefined;
      });
    }
    return host.ready;
  }

  /** Remove any container called `name` on any reachable host (a leftover of a crash). */
  private async removeEverywhere(name: string): Promise<void> {
    for (const host of this.hosts.values()) {
      try {
        await host.docker.getContainer(name).remove({ force: true, v: false });
      } catch (error) {
        if (isAlreadyGone(error)) continue;
        if (error instanceof Error && 'code' in error) continue; // host unreachable
        throw error;
      }
    }
  }

  private async ensureVolume(docker: DockerClient, name: string, owner: string): Promise<void> {
    try {
      await docker.getVolume(name).inspect();
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await docker.createVolume({
        Name: name,
        Labels: {
          [LABELS.managed]: 'true',
          [LABELS.deployment]: this.spec.deployment,
          [LABELS.owner]: owner,
        },
      });
    }
  }

  /**
   * Wait until the container runs and its Jupyter port is reachable (published, or addressed
   * on the user network); return the URL the hub uses.
   */
  private async waitForUrl(host: Host, id: string): Promise<string> {
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      const info = await host.docker.getContainer(id).inspect();
      if (!info.State.Running && info.State.Status !== 'created') {
        throw new Error(`container exited during start (status ${info.State.ExitCode})`);
      }
      const binding = info.NetworkSettings.Ports?.[`${CONTAINER_PORT}/tcp`]?.[0]?.HostPort;
      const address = info.NetworkSettings.Networks?.[this.spec.network]?.IPAddress;
      const url = serverUrl(host.config, address, binding);
      if (info.State.Running && url) return url;
      if (Date.now() > deadline) throw new Error('container did not start in time');
      await sleep(100);
    }
  }
}

/** How long `stop` waits for a container Docker is already removing. */
const REMOVAL_WAIT_MS = 30_000;

/** Resolve once the container no longer exists; reject if it still does after `timeoutMs`. */
async function waitUntilRemoved(container: Container, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the container was still being removed after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([
      container.wait({ condition: 'removed' }).catch((error) => {
        if (!isNotFound(error)) throw error;
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
