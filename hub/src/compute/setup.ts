/** Build the compute backend the configuration asks for, and register what it offers in RACM. */
import path from 'node:path';
import { createBackend, dockerAvailable, type SpawnerBackend } from '@orrery/spawner';
import type { HubConfig } from '../config.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { publicGroupId } from '../groups/store.ts';
import type { Logger } from '../log.ts';
import { findResourceByName, grant, registerResource, resourceType } from '../racm/store.ts';

/** `unix:///var/run/docker.sock` or `tcp://host:port` → a dockerode endpoint. */
function dockerEndpoint(url: string) {
  const parsed = new URL(url);
  if (parsed.protocol === 'unix:') return { socketPath: parsed.pathname };
  return { host: parsed.hostname, port: Number(parsed.port || 2375), protocol: 'http' as const };
}

export async function createComputeBackend(
  config: HubConfig,
  log: Logger,
): Promise<SpawnerBackend> {
  let kind = config.compute.backend;
  if (kind === 'auto') {
    const first = config.compute.dockerHosts[0];
    kind = first && (await dockerAvailable(dockerEndpoint(first))) ? 'docker' : 'local';
    log.info({ backend: kind }, 'compute backend chosen');
  }
  const prefix = config.compute.namePrefix;
  switch (kind) {
    case 'docker':
      return createBackend({
        kind: 'docker',
        hosts: config.compute.dockerHosts.map((url, index) => ({
          name: index === 0 ? 'local' : new URL(url).host,
          ...dockerEndpoint(url),
          ...(url.startsWith('unix:') ? { firewall: 'local-iptables' as const } : {}),
        })),
        // The prefix doubles as the deployment label: a hub only ever adopts or sweeps its own servers.
        spec: { namePrefix: prefix, deployment: prefix },
        firewall: { allowHostPorts: [config.port] },
      });
    case 'swarm':
      return createBackend({
        kind: 'swarm',
        manager: {
          name: 'swarm',
          ...dockerEndpoint(config.compute.dockerHosts[0] ?? 'unix:///var/run/docker.sock'),
        },
        // The prefix doubles as the deployment label: a hub only ever adopts or sweeps its own servers.
        spec: { namePrefix: prefix, deployment: prefix },
      });
    default:
      return createBackend({
        kind: 'local',
        workspaceRoot: path.resolve(config.stateDir, 'workspaces'),
        stateDir: path.resolve(config.stateDir, 'servers'),
        jupyterCommand: config.compute.jupyterCommand,
        namePrefix: prefix,
        allowRoot: process.getuid?.() === 0,
      });
  }
}

/** Register a RACM resource the first time it is seen, usable by everyone (admins narrow it later). */
async function offer(
  db: Queryable,
  type: string,
  name: string,
  description: string,
): Promise<void> {
  if (await findResourceByName(db, type, name)) return;
  const resourceTypeRecord = (await resourceType(db, type))!;
  const id = await registerResource(db, {
    typeId: resourceTypeRecord.id,
    name,
    description,
    ownerId: null,
  });
  await grant(db, {
    resourceId: id,
    typeId: resourceTypeRecord.id,
    action: 'use',
    groupId: await publicGroupId(db),
    grantedBy: null,
  });
}

export async function registerComputeResources(db: Db, config: HubConfig): Promise<void> {
  await inTransaction(db, async (client) => {
    await offer(client, 'ComputeDomain', config.compute.domain, 'The hub’s compute domain');
    for (const image of config.compute.images)
      await offer(client, 'DockerImage', image, 'A compute image');
  });
}
