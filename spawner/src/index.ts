/**
 * @orrery/spawner: compute backends for the Orrery hub.
 *
 * `createBackend(config)` builds the configured backend; every backend implements
 * `SpawnerBackend` (types.ts), whose doc comments are the contract.
 */

import { DockerBackend, type DockerBackendConfig } from './docker/backend.ts';
import { connectDocker, type DockerEndpoint } from './docker/client.ts';
import { LocalProcessBackend, type LocalProcessConfig } from './local/backend.ts';
import { SwarmBackend, type SwarmBackendConfig } from './swarm/backend.ts';
import type { SpawnerBackend } from './types.ts';

export {
  buildContainerSpec,
  CONTAINER_PORT,
  type ContainerSpecOptions,
  checkBindSource,
  defaultContainerSpecOptions,
  JUPYTER_START_SCRIPT,
  SERVER_ENV_NAMES,
  SINGLEUSER_START_SCRIPT,
  serverMounts,
  startScriptOf,
  VOLUMES_LINK_SCRIPT,
  validateSpawnRequest,
} from './containerSpec.ts';
export {
  DockerBackend,
  type DockerBackendConfig,
  type DockerHostConfig,
} from './docker/backend.ts';
export {
  connectDocker,
  type DockerClient,
  type DockerEndpoint,
  isAlreadyGone,
  isNotFound,
} from './docker/client.ts';
export {
  applyFirewallRules,
  defaultFirewallOptions,
  type FirewallOptions,
  type FirewallRule,
  firewallRules,
  hostResolvers,
  PRIVATE_NETWORKS,
  removeFirewallRules,
  userNetworkGateway,
} from './docker/network.ts';
export { chooseHost, type PlacementDecision } from './docker/placement.ts';
export { freePort, LocalProcessBackend, type LocalProcessConfig } from './local/backend.ts';
export { removeSystemUser, systemUserName } from './local/systemUsers.ts';
export { LABELS, serverLabels, serverResourceName } from './names.ts';
export { SpawnRefusedError } from './refusal.ts';
export { SwarmBackend, type SwarmBackendConfig } from './swarm/backend.ts';
export {
  buildJobServiceSpec,
  buildServiceSpec,
  type JobServiceOptions,
  type ServiceSpecOptions,
} from './swarm/serviceSpec.ts';
export * from './types.ts';

/** Which backend to run and its settings. */
export type BackendConfig =
  | ({ kind: 'docker' } & DockerBackendConfig)
  | ({ kind: 'swarm' } & SwarmBackendConfig)
  | ({ kind: 'local' } & LocalProcessConfig);

export function createBackend(config: BackendConfig): SpawnerBackend {
  switch (config.kind) {
    case 'docker':
      return new DockerBackend(config);
    case 'swarm':
      return new SwarmBackend(config);
    case 'local':
      return new LocalProcessBackend(config);
  }
}

/**
 * Whether a Docker daemon answers at `endpoint` (default: the local socket) within
 * `timeoutMs`. Never rejects.
 */
export async function dockerAvailable(
  endpoint: DockerEndpoint = { socketPath: '/var/run/docker.sock' },
  timeoutMs = 2000,
): Promise<boolean> {
  const ping = connectDocker(endpoint)
    .ping()
    .then(
      () => true,
      () => false,
    );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
