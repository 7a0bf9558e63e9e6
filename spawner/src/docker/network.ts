/**
 * The Orrery user network on a Docker host, and the firewall that keeps user servers away from
 * the host's own services (hub database, Docker API, SSH) and from the cloud metadata service.
 *
 * How it works (verified by test/docker.integration.test.ts):
 * - A user-defined bridge with a fixed interface name (`orrery0` by default) and inter-container
 *   traffic disabled (`enable_icc=false`), so servers cannot reach each other either.
 * - iptables rules keyed on that interface:
 *     INPUT        -i orrery0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
 *     INPUT        -i orrery0 -p tcp --dport <allowed> -j ACCEPT     (optional, e.g. the hub API)
 *     INPUT        -i orrery0 -j DROP        new connections to any address of the host itself
 *     DOCKER-USER  -i orrery0 -d 169.254.0.0/16 -j DROP    link-local, i.e. 169.254.169.254
 *     DOCKER-USER  -i orrery0 -d <blocked network> -j DROP (optional, e.g. a remote DB subnet)
 *   Replies to connections the host opened (the proxy reaching a published port) stay allowed.
 *   Internet egress is untouched. A `--internal` Docker network would block the metadata
 *   address too, but it also disables port publishing, which the hub needs.
 * - The rules can only be installed from the machine that runs the daemon: the backend applies
 *   them for hosts configured with `firewall: 'local-iptables'`; for remote hosts the same
 *   rules (see `firewallRules`) belong in that host's provisioning.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LABELS } from '../names.ts';
import { type DockerClient, isNotFound } from './client.ts';

const run = promisify(execFile);

export interface UserNetworkOptions {
  /** Docker network name. */
  name: string;
  /** Linux bridge interface name (at most 15 characters, distinct per daemon on one machine). */
  bridgeName: string;
}

export interface FirewallOptions {
  /** Host TCP ports user servers may still open connections to. */
  allowHostPorts: number[];
  /** Forwarded destinations to drop in addition to the host itself. */
  blockedNetworks: string[];
}

export const defaultFirewallOptions: FirewallOptions = {
  allowHostPorts: [],
  blockedNetworks: ['169.254.0.0/16'],
};

/** One iptables rule: the chain and the match/target arguments (after `-I <chain>`). */
export interface FirewallRule {
  chain: 'INPUT' | 'DOCKER-USER';
  args: string[];
}

/**
 * Rules isolating `bridge`, in evaluation order. Pure, so the exact policy is unit-tested and
 * can be printed for hosts the backend cannot reach with iptables.
 */
export function firewallRules(bridge: string, options: FirewallOptions): FirewallRule[] {
  const comment = ['-m', 'comment', '--comment', 'orrery user network'];
  return [
    {
      chain: 'INPUT',
      args: [
        '-i',
        bridge,
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        ...comment,
        '-j',
        'ACCEPT',
      ],
    },
    ...options.allowHostPorts.map(
      (port): FirewallRule => ({
        chain: 'INPUT',
        args: ['-i', bridge, '-p', 'tcp', '--dport', String(port), ...comment, '-j', 'ACCEPT'],
      }),
    ),
    { chain: 'INPUT', args: ['-i', bridge, ...comment, '-j', 'DROP'] },
    ...options.blockedNetworks.map(
      (network): FirewallRule => ({
        chain: 'DOCKER-USER',
        args: ['-i', bridge, '-d', network, ...comment, '-j', 'DROP'],
      }),
    ),
  ];
}

/**
 * Install `rules` with the local iptables, idempotently: rules already present are left alone;
 * missing ones are inserted so that the final order equals `rules` order ahead of any other
 * rule of the chain.
 */
export async function applyFirewallRules(rules: FirewallRule[]): Promise<void> {
  const present: boolean[] = [];
  for (const rule of rules) {
    present.push(
      await run('iptables', ['-w', '-C', rule.chain, ...rule.args]).then(
        () => true,
        () => false,
      ),
    );
  }
  // Insert from last to first at position 1, so earlier rules end up in front of later ones.
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (present[i]) continue;
    await run('iptables', ['-w', '-I', rule.chain, '1', ...rule.args]);
  }
}

/** Remove `rules` from the local iptables (used by tests and decommissioning). */
export async function removeFirewallRules(rules: FirewallRule[]): Promise<void> {
  for (const rule of rules) {
    while (
      await run('iptables', ['-w', '-D', rule.chain, ...rule.args]).then(
        () => true,
        () => false,
      )
    ) {
      // keep deleting duplicates
    }
  }
}

/** Create the user network on `docker` unless it exists. Returns its id. */
export async function ensureUserNetwork(
  docker: DockerClient,
  options: UserNetworkOptions,
): Promise<string> {
  try {
    const info = await docker.getNetwork(options.name).inspect();
    return info.Id as string;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    const network = await docker.createNetwork({
      Name: options.name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABELS.managed]: 'true' },
      Options: {
        'com.docker.network.bridge.name': options.bridgeName,
        'com.docker.network.bridge.enable_icc': 'false',
      },
    });
    return network.id;
  } catch (error) {
    // Lost a race with a concurrent start: the network exists now.
    const info = await docker.getNetwork(options.name).inspect();
    if (!info) throw error;
    return info.Id as string;
  }
}

/**
 * The user network's gateway address on `docker`'s host (creating the network if needed): where
 * a process on that host listens to be reachable from user servers, e.g. the hub's API.
 */
export async function userNetworkGateway(
  docker: DockerClient,
  options: UserNetworkOptions,
): Promise<string> {
  await ensureUserNetwork(docker, options);
  const info = await docker.getNetwork(options.name).inspect();
  const gateway = (info.IPAM?.Config ?? []).find((entry: { Gateway?: string }) =>
    entry.Gateway?.includes('.'),
  )?.Gateway as string | undefined;
  if (!gateway) throw new Error(`network ${options.name} has no IPv4 gateway`);
  return gateway;
}
