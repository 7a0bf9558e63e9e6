/**
 * Build one backend per configured compute domain, register the domains and images in RACM,
 * and make the hub reachable from the servers: on a Docker host that is this machine, the hub
 * also listens on the user network's gateway (the firewall admits that port and nothing else).
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  connectDocker,
  createBackend,
  type DockerEndpoint,
  type DockerHostConfig,
  dockerAvailable,
  LocalProcessBackend,
  type LocalProcessConfig,
  type SpawnerBackend,
  type SpawnRequest,
  userNetworkGateway,
} from '@orrery/spawner';
import type { HubConfig } from '../config.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { publicGroupId } from '../groups/store.ts';
import type { Logger } from '../log.ts';
import { findResourceByName, grant, registerResource, resourceType } from '../racm/store.ts';
import type { DeploymentNames } from './deployment.ts';
import type { ComputeDomainConfig, DockerHostSetting } from './domainConfig.ts';

/** The Jupyter server configuration of the compute images (NODELAY, hub keys), for local servers. */
const LOCAL_JUPYTER_CONFIG = fileURLToPath(new URL('../../../images/base', import.meta.url));

/** Local processes as the hub runs them: with the images' Jupyter configuration. */
class LocalDomainBackend extends LocalProcessBackend {
  override start(request: SpawnRequest) {
    return super.start({
      ...request,
      env: { JUPYTER_CONFIG_PATH: LOCAL_JUPYTER_CONFIG, ...request.env },
    });
  }
}

/** A configured host → a dockerode endpoint (TLS client certificates read now). */
export function dockerEndpoint(host: DockerHostSetting): DockerEndpoint {
  const parsed = new URL(host.url);
  if (parsed.protocol === 'unix:') return { socketPath: parsed.pathname };
  if (host.ssh) {
    return {
      host: parsed.hostname,
      port: Number(parsed.port || 22),
      protocol: 'ssh',
      username: decodeURIComponent(parsed.username),
      hostKeyFingerprint: host.ssh.fingerprint,
      ...(host.ssh.identityFile
        ? { sshPrivateKey: readFileSync(host.ssh.identityFile, 'utf8') }
        : {}),
      ...(host.ssh.agent ? { sshAgent: host.ssh.agent } : {}),
    };
  }
  if (host.tlsDir) {
    const pem = (name: string) => readFileSync(path.join(host.tlsDir!, name), 'utf8');
    return {
      host: parsed.hostname,
      port: Number(parsed.port || 2376),
      protocol: 'https',
      ca: pem('ca.pem'),
      cert: pem('cert.pem'),
      key: pem('key.pem'),
    };
  }
  return { host: parsed.hostname, port: Number(parsed.port || 2375), protocol: 'http' };
}

/** A domain with `auto` resolved: Docker when its first host answers, else local processes. */
export async function resolveDomain(
  domain: ComputeDomainConfig,
  log: Logger,
): Promise<ComputeDomainConfig> {
  if (domain.backend !== 'auto') return domain;
  const first = domain.hosts[0];
  const backend = first && (await dockerAvailable(dockerEndpoint(first))) ? 'docker' : 'local';
  log.info({ domain: domain.name, backend }, 'compute backend chosen');
  return { ...domain, backend, hosts: backend === 'local' ? [] : domain.hosts };
}

/**
 * Where each host's servers reach the hub, by host URL: for a host on this machine, the gateway
 * of its user network (created now if needed), where the hub will listen. A daemon that does
 * not answer now is logged and skipped: the hub still starts, and spawns there fail with the
 * daemon's error until it is back (and the hub restarted, for its servers to reach the hub).
 */
export async function userNetworkGateways(
  domains: ComputeDomainConfig[],
  configuredUrl: string | null,
  names: DeploymentNames,
  log: Logger,
): Promise<Map<string, string>> {
  const gateways = new Map<string, string>();
  if (configuredUrl) return gateways;
  for (const domain of domains) {
    if (domain.backend !== 'docker') continue;
    for (const host of domain.hosts) {
      if (!host.local || host.hubUrl || gateways.has(host.url)) continue;
      try {
        const docker = connectDocker(dockerEndpoint(host));
        const options = {
          name: names.network,
          bridgeName: names.bridge(host),
          deployment: names.label(domain.name),
        };
        gateways.set(host.url, await userNetworkGateway(docker, options));
      } catch (err) {
        log.warn(
          { domain: domain.name, host: host.name, err: String(err) },
          'Docker host unreachable: its servers cannot be started until it answers',
        );
      }
    }
  }
  return gateways;
}

export interface HubAccess {
  /** The hub URL servers use when the configuration says so (ORRERY_HUB_URL_FOR_SERVERS). */
  configuredUrl: string | null;
  /** Each local host's user-network gateway, by host URL. */
  gateways: Map<string, string>;
  /** The hub's listeners on user networks: gateway address → port. */
  listeners: Map<string, number>;
  /** Were those ports chosen by the system (port 0), so they are this process's alone? */
  ephemeral: boolean;
}

/**
 * The hub URL for servers on `host`: its own setting, the configured one, or the gateway
 * listener; null leaves it to the orchestrator's default (the hub's own URL).
 */
function hubUrlFor(host: DockerHostSetting, access: HubAccess): string | null {
  if (host.hubUrl) return host.hubUrl;
  if (access.configuredUrl) return access.configuredUrl;
  const gateway = access.gateways.get(host.url);
  const port = gateway && access.listeners.get(gateway);
  return port ? `http://${gateway}:${port}` : null;
}

function dockerHosts(
  domain: ComputeDomainConfig,
  access: HubAccess,
  names: DeploymentNames,
): DockerHostConfig[] {
  return domain.hosts.map((host) => {
    const hubUrl = hubUrlFor(host, access);
    return {
      name: host.name,
      ...dockerEndpoint(host),
      bridgeName: names.bridge(host),
      ...(host.local
        ? { firewall: 'local-iptables' as const, reachContainerAddress: true }
        : { firewall: 'none' as const }),
      ...(hubUrl
        ? { serverEnv: { ORRERY_HUB_URL: hubUrl, JUPYTERHUB_API_URL: `${hubUrl}/hub/api` } }
        : {}),
    };
  });
}

export async function createDomainBackend(
  config: HubConfig,
  domain: ComputeDomainConfig,
  access: HubAccess,
  names: DeploymentNames,
  log?: Logger,
): Promise<SpawnerBackend> {
  // Labels are per domain, so two domains on one daemon (say Docker and Swarm) never adopt
  // or sweep each other's servers; the deployment's identity keeps deployments apart.
  const prefix = names.resourcePrefix;
  const spec = { namePrefix: prefix, deployment: names.label(domain.name) };
  switch (domain.backend) {
    case 'docker': {
      const ports = [...new Set(access.listeners.values())];
      return createBackend({
        kind: 'docker',
        hosts: dockerHosts(domain, access, names),
        spec: { ...spec, network: names.network },
        firewall: { allowHostPorts: ports },
        // The openings for this hub's ports go when it stops, fixed port or not: the bridge
        // is this deployment's own, so no other hub relies on them.
        releaseHostPortsOnClose: ports,
        removeUnusedNetworkOnClose: true,
      });
    }
    case 'swarm':
      return createBackend({
        kind: 'swarm',
        manager: { name: 'swarm', ...dockerEndpoint(domain.hosts[0]!) },
        spec,
      });
    default:
      return createLocalBackend(config, names, log);
  }
}

/** Is IPv6 on for loopback (else ::1 is unreachable anyway, and ip6tables may be missing)? */
function ipv6LoopbackOn(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv6/conf/lo/disable_ipv6', 'utf8').trim() === '0';
  } catch {
    return false;
  }
}

/**
 * Where the hub's database listens, for the local backend to keep servers away from it: its
 * TCP addresses (the host name resolved now, and loopback) and the unix sockets PostgreSQL may
 * have on this machine for that port (the URL's socket folder, Debian's and the default /tmp).
 */
export async function databaseEndpoints(
  databaseUrl: string,
): Promise<{ tcp: { address: string; port: number }[]; sockets: string[] }> {
  const url = new URL(databaseUrl);
  const port = Number(url.searchParams.get('port') || url.port || 5432);
  const socketDir = url.searchParams.get('host')?.startsWith('/')
    ? url.searchParams.get('host')!
    : decodeURIComponent(url.hostname).startsWith('/')
      ? decodeURIComponent(url.hostname)
      : null;
  const folders = [
    ...(socketDir ? [socketDir] : []),
    '/run/postgresql',
    '/var/run/postgresql',
    '/tmp',
  ];
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  // A name that does not resolve fails the start: servers are never left unblocked silently.
  const resolved =
    hostname && !socketDir ? (await lookup(hostname, { all: true })).map((a) => a.address) : [];
  // Loopback too: a database reached by socket (or by name) may listen there as well.
  const loopback = ipv6LoopbackOn() ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
  const addresses = [...new Set([...resolved, ...loopback])];
  return {
    tcp: addresses.map((address) => ({ address, port })),
    sockets: folders.map((folder) => path.join(folder, `.s.PGSQL.${port}`)),
  };
}

/**
 * Local processes. As root: one system user per account, the hub's state folder
 * traversable but not listable (its key and login files stay 0600), the database out of
 * reach. Otherwise single-user development mode, said loudly at start.
 */
async function createLocalBackend(
  config: HubConfig,
  names: DeploymentNames,
  log?: Logger,
): Promise<SpawnerBackend> {
  const settings: LocalProcessConfig = {
    workspaceRoot: path.resolve(config.stateDir, 'workspaces'),
    stateDir: path.resolve(config.stateDir, 'servers'),
    jupyterCommand: config.compute.jupyterCommand,
    namePrefix: names.resourcePrefix,
    singleUser: config.compute.localUser,
    database: await databaseEndpoints(config.databaseUrl),
    sharedPaths: [LOCAL_JUPYTER_CONFIG],
  };
  const backend = new LocalDomainBackend(settings);
  if (backend.mode === 'system-users') {
    await mkdir(config.stateDir, { recursive: true });
    await chmod(config.stateDir, 0o711);
  } else {
    log?.warn(
      { owner: config.compute.localUser ?? 'the first account to start a server' },
      "local servers run in single-user development mode: they run as the hub's own OS " +
        'user and could read its files and database, so only one account may start them; ' +
        'run the hub as root or use Docker for several users',
    );
  }
  await backend.prepare();
  return backend;
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
    for (const domain of config.compute.domains)
      await offer(client, 'ComputeDomain', domain.name, `Compute domain (${domain.backend})`);
    for (const image of config.compute.images)
      await offer(client, 'DockerImage', image, 'A compute image');
  });
}
