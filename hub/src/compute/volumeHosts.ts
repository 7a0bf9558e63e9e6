/**
 * Where users' volume views are applied for each compute domain (docs/files.md, "Volumes in
 * containers"): the mount hosts of every Docker domain, and the Docker clients of each domain's
 * hosts (an old workspace volume is migrated from whichever host has it). Swarm and local
 * domains have none: their servers keep the named workspace and get no view.
 */
import { connectDocker, type DockerClient } from '@orrery/spawner';
import { LocalMountHost, type MountHost, mountHostsOf } from '../files/mounts/index.ts';
import type { ComputeDomainConfig } from './domainConfig.ts';
import { dockerEndpoint } from './setup.ts';

export interface DomainVolumeHosts {
  /** Names of the mount hosts the domain's servers run on. */
  hostNames: string[];
  /** A Docker client per host of the domain. */
  dockers: DockerClient[];
}

export interface VolumeHosts {
  /** Every mount host: this machine once, each remote Docker host once. */
  all: MountHost[];
  /** The Docker domains, by name. */
  domains: Map<string, DomainVolumeHosts>;
  /** The image of helper containers (view on remote hosts, workspace migration). */
  helperImage: string;
  /** Labels of helper containers (the deployment's), so a sweep can find them. */
  helperLabels: Record<string, string>;
}

export function volumeHostsOf(
  domains: ComputeDomainConfig[],
  helperImage: string,
  deployment: string,
): VolumeHosts {
  const connect = (host: Parameters<typeof dockerEndpoint>[0]) =>
    connectDocker(dockerEndpoint(host));
  const options = { connect, helperImage, deployment };
  const all = mountHostsOf(domains, options);
  // This machine is one mount host, whatever each domain calls its local host.
  const local = all.find((host) => host instanceof LocalMountHost)?.name;
  const byDomain = new Map<string, DomainVolumeHosts>();
  for (const domain of domains) {
    if (domain.backend !== 'docker') continue;
    byDomain.set(domain.name, {
      hostNames: domain.hosts.map((host) => (host.local && local ? local : host.name)),
      dockers: domain.hosts.map(connect),
    });
  }
  return {
    all,
    domains: byDomain,
    helperImage,
    helperLabels: { 'org.orrery.deployment': deployment },
  };
}
