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
import type { CreateServiceOptions } from 'dockerode';
import {
  CONTAINER_PORT,
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
