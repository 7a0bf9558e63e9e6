/**
 * The mount hosts of the configured compute domains: this machine once (the hub mounts there
 * itself) and each remote Docker host once (through its helper container), named as the Docker
 * backend names its hosts, so `applyView(user, views, [state.host])` reaches the host a server
 * runs on. A Swarm domain's manager is one too (its batch jobs run on the manager's node with
 * the view; its servers are not given it yet); local-process domains are left out (their
 * servers are not given the view).
 */
import type { DockerClient } from '@orrery/spawner';
import type { ComputeDomainConfig, DockerHostSetting } from '../../compute/domainConfig.ts';
import { DockerHelperMountHost, LocalMountHost, type MountHost } from './hosts.ts';

export interface MountHostOptions {
  /** A Docker client for a remote host (the compute setup's endpoint for it). */
  connect(host: DockerHostSetting): DockerClient;
  /** The helper's image, present on every host: the compute image. */
  helperImage: string;
  /** The deployment's label value, carried by the helpers. */
  deployment: string;
}

export function mountHostsOf(
  domains: ComputeDomainConfig[],
  options: MountHostOptions,
): MountHost[] {
  const hosts = new Map<string, MountHost>();
  for (const domain of domains) {
    if (domain.backend === 'local') continue;
    // A Swarm domain's hosts: its manager first, the only one the hub prepares anything on.
    for (const host of domain.backend === 'swarm' ? domain.hosts.slice(0, 1) : domain.hosts) {
      if (host.local) {
        if (!hosts.has('local')) hosts.set('local', new LocalMountHost(host.name));
      } else if (!hosts.has(host.url)) {
        hosts.set(
          host.url,
          new DockerHelperMountHost(
            host.name,
            options.connect(host),
            options.helperImage,
            options.deployment,
          ),
        );
      }
    }
  }
  return [...hosts.values()];
}
