/**
 * Pure translation of a SpawnRequest into a Docker Swarm service spec.
 *
 * Hardening Swarm applies (Docker 20.10 / API 1.41): non-root user, every capability dropped
 * (CapabilityDrop), memory/CPU/pids limits, named volumes only, no privileged mode (services
 * cannot be privileged at all).
 * What Swarm does not support here: `no-new-privileges` (ContainerSpec.Privileges has no such
 * field before API 1.46; with every capability dropped and a non-root user a setuid binary
 * still gains no capability, so the gap is small), MemorySwap (swap is not limited), binding
 * the published port to one address (host-mode ports listen on every address of the node, so
 * the server's secret and the node's firewall are what protect it), and the Orrery user-network
 * firewall (Swarm tasks join swarm-scoped networks; the node's provisioning must apply the
 * rules of docker/network.ts to them).
 */
import type { ContainerCreateOptions, CreateServiceOptions } from 'dockerode';
import {
  CONTAINER_PORT,
  checkBindSource,
  serverEnv,
  serverMounts,
  startScriptOf,
  validateSpawnRequest,
} from '../containerSpec.ts';
import { serverLabels, serverResourceName } from '../names.ts';
import type { SpawnRequest } from '../types.ts';

export interface ServiceSpecOptions {
  namePrefix: string;
  deployment: string;
  workspacePath: string;
  /** `uid:gid`, never root. */
  user: string;
}

export const defaultServiceSpecOptions: ServiceSpecOptions = {
  namePrefix: 'orrery-',
  deployment: 'default',
  workspacePath: '/home/jovyan/work',
  user: '1000:1000',
};

export function buildServiceSpec(
  request: SpawnRequest,
  options: ServiceSpecOptions = defaultServiceSpecOptions,
): CreateServiceOptions {
  validateSpawnRequest(request, options.workspacePath);
  if (/^0*(:|$)|^root(:|$)/.test(options.user)) {
    throw new TypeError('service user must not be root');
  }
  const labels = serverLabels(options.deployment, request.user.name, request.serverName);
  const env = serverEnv(request, options.workspacePath);
  return {
    Name: serverResourceName(options.namePrefix, request.user, request.serverName),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: request.image,
        // Args, not Command: the image's entrypoint (tini) stays in place.
        Args: ['sh', '-c', startScriptOf(request)],
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: labels,
        User: options.user,
        Dir: options.workspacePath,
        Mounts: serverMounts(request, options.workspacePath),
        CapabilityDrop: ['ALL'],
      },
      Resources: {
        Limits: {
          MemoryBytes: request.limits.memoryBytes,
          NanoCPUs: Math.round(request.limits.cpus * 1e9),
          Pids: request.limits.pids,
        },
      },
      RestartPolicy: { Condition: 'none' },
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: {
      Ports: [{ Protocol: 'tcp', TargetPort: CONTAINER_PORT, PublishMode: 'host' }],
    },
  };
}

/** How a batch job's container becomes a Swarm service (buildJobServiceSpec). */
export interface JobServiceOptions {
  /** Host folders a bind may come from: the same roots the job's container spec was checked against. */
  bindRoots: string[];
  /** The job's own network: internal (no route out), with nothing else on it. */
  network: string;
  /** Placement constraints, e.g. `node.id==…` for the node that has the bound host folders. */
  constraints: string[];
}

/**
 * A batch job's hardened container-create body (the hub's buildJobSpec) as a one-replica
 * service that runs once (`RestartPolicy.Condition: none`): the same image, command, user,
 * environment, labels, mounts and limits. Bind mounts are checked again here, as the container
 * spec checks them (normalised absolute sources under `bindRoots` only), so nothing reaches
 * Swarm that the container path would refuse. Swarm cannot express: `no-new-privileges` (before
 * API 1.46), a swap limit, and no network at all (a task joins a network: `network` is the
 * job's own internal overlay, which has no gateway).
 */
export function buildJobServiceSpec(
  container: ContainerCreateOptions,
  options: JobServiceOptions,
): CreateServiceOptions {
  const host = container.HostConfig ?? {};
  if (!container.name) throw new TypeError('a job service needs the container name');
  if (host.Privileged) throw new TypeError('a job service cannot be privileged');
  if (!container.User || /^0*(:|$)|^root(:|$)/.test(container.User)) {
    throw new TypeError('a job service must not run as root');
  }
  if (host.Binds?.length) throw new TypeError('a job service takes Mounts, not Binds');
  const mounts = (host.Mounts ?? []).map((mount) => {
    if (mount.Type === 'volume') return mount;
    if (mount.Type !== 'bind') throw new TypeError(`a job service cannot mount a ${mount.Type}`);
    return { ...mount, Source: checkBindSource(mount.Source, options.bindRoots, 'bind source') };
  });
  return {
    Name: container.name,
    Labels: container.Labels ?? {},
    TaskTemplate: {
      ContainerSpec: {
        Image: container.Image!,
        // Args, not Command: the image's entrypoint stays, as Cmd leaves it for a container.
        Args: [...((container.Cmd as string[] | undefined) ?? [])],
        Env: container.Env ?? [],
        Labels: container.Labels ?? {},
        User: container.User,
        Dir: container.WorkingDir ?? '',
        Mounts: mounts,
        CapabilityDrop: host.CapDrop ?? ['ALL'],
      },
      Resources: {
        Limits: {
          ...(host.Memory ? { MemoryBytes: host.Memory } : {}),
          ...(host.NanoCpus ? { NanoCPUs: host.NanoCpus } : {}),
          ...(host.PidsLimit ? { Pids: host.PidsLimit } : {}),
        },
      },
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: options.constraints },
      Networks: [{ Target: options.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
}
