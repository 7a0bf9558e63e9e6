/**
 * Where users' volume views are applied for each compute domain (docs/files.md, "Volumes in
 * containers"): the mount hosts of every Docker domain, and the Docker clients of each domain's
 * hosts (an old workspace volume is migrated from whichever host has it). A Swarm domain's is
 * its manager's host, where its batch jobs are placed (docs/jobs.md, "Swarm domains"); its
 * servers keep the named workspace. Local domains have none.
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
    if (domain.backend !== 'docker' && domain.backend !== 'swarm') continue;
    // A Swarm domain's hosts: its manager first, where its jobs are placed.
    const hosts = domain.backend === 'swarm' ? domain.hosts.slice(0, 1) : domain.hosts;
    byDomain.set(domain.name, {
      hostNames: hosts.map((host) => (host.local && local ? local : host.name)),
      dockers: hosts.map(connect),
    });
  }
  return {
    all,
    domains: byDomain,
    helperImage,
    helperLabels: { 'org.orrery.deployment': deployment },
  };
}
