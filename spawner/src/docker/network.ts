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
 *     DOCKER-USER  -i orrery0 -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
 *     DOCKER-USER  -i orrery0 -p tcp --dport <allowed> -j RETURN     (the hub on another machine)
 *     DOCKER-USER  -i orrery0 -d <blocked network> -j DROP   every private and special range:
 *                  RFC 1918, 100.64/10 (carrier NAT), 169.254/16 (metadata), 0/8, 192.0.0/24,
 *                  198.18/15, multicast and reserved; so is fc00::/7 and fe80::/10 for IPv6
 *   Replies to connections the host opened (the proxy reaching a published port) stay allowed,
 *   and so do replies to a hub on a private network. Public Internet egress is untouched; a
 *   Docker daemon listening on tcp://10.x:2375 on the host's private network is out of reach. A `--internal` Docker network would block the metadata
 *   address too, but it also disables port publishing, which the hub needs.
 * - The rules can only be installed from the machine that runs the daemon: the backend applies
 *   them for hosts configured with `firewall: 'local-iptables'`; for remote hosts the same
 *   rules (see `firewallRules`) belong in that host's provisioning.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LABELS } from '../names.ts';
import { type DockerClient, isNotFound } from './client.ts';

const run = promisify(execFile);

export interface UserNetworkOptions {
  /** Docker network name. */
  name: string;
  /** Linux bridge interface name (at most 15 characters, distinct per daemon on one machine). */
  bridgeName: string;
  /** The deployment that owns the network (its `org.orrery.deployment` label). */
  deployment?: string;
}

export interface FirewallOptions {
  /** Host TCP ports user servers may still open connections to. */
  allowHostPorts: number[];
  /** Forwarded destinations to drop in addition to the host itself. */
  blockedNetworks: string[];
  /**
   * DNS resolvers servers may still query (port 53) although their address is blocked: Docker's
   * embedded DNS forwards from the server's own network namespace, so a resolver on a private
   * address (a cloud VPC's) would otherwise be cut off. The backend fills it from the host's
   * /etc/resolv.conf for hosts whose firewall it installs.
   */
  resolvers?: string[];
}

/** Private and special-purpose ranges no user server may open connections to. */
export const PRIVATE_NETWORKS = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  'fc00::/7',
  'fe80::/10',
];

export const defaultFirewallOptions: FirewallOptions = {
  allowHostPorts: [],
  blockedNetworks: PRIVATE_NETWORKS,
};

/** One iptables rule: the chain and the match/target arguments (after `-I <chain>`). */
export interface FirewallRule {
  chain: 'INPUT' | 'DOCKER-USER';
  /** IPv4 rules go to iptables, IPv6 ones (an IPv6 destination) to ip6tables. */
  family?: 4 | 6;
  args: string[];
}

const tool = (rule: FirewallRule) => (rule.family === 6 ? 'ip6tables' : 'iptables');

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
    ...forwardRules(bridge, options, 4, comment),
    ...forwardRules(bridge, options, 6, comment),
  ];
}

/** The forwarding rules of one address family (none when no blocked network is of it). */
function forwardRules(
  bridge: string,
  options: FirewallOptions,
  family: 4 | 6,
  comment: string[],
): FirewallRule[] {
  const blocked = options.blockedNetworks.filter((net) => net.includes(':') === (family === 6));
  if (blocked.length === 0) return [];
  const accept = (args: string[]): FirewallRule => ({
    chain: 'DOCKER-USER',
    family,
    args: ['-i', bridge, ...args, ...comment, '-j', 'RETURN'],
  });
  return [
    accept(['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED']),
    ...options.allowHostPorts.map((port) => accept(['-p', 'tcp', '--dport', String(port)])),
    ...(options.resolvers ?? [])
      .filter((address) => address.includes(':') === (family === 6))
      .flatMap((address) =>
        ['udp', 'tcp'].map((protocol) => accept(['-d', address, '-p', protocol, '--dport', '53'])),
      ),
    ...blocked.map(
      (network): FirewallRule => ({
        chain: 'DOCKER-USER',
        family,
        args: ['-i', bridge, '-d', network, ...comment, '-j', 'DROP'],
      }),
    ),
  ];
}

/** The name servers of this machine's /etc/resolv.conf (none when it cannot be read). */
export async function hostResolvers(file = '/etc/resolv.conf'): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)]
    .map((match) => match[1]!.replace(/%.*$/, ''))
    .filter((address) => !address.startsWith('127.') && address !== '::1');
}

/** Whether `rule`'s chain exists here (ip6tables has no DOCKER-USER chain unless Docker's IPv6 is on). */
async function chainExists(rule: FirewallRule): Promise<boolean> {
  return run(tool(rule), ['-w', '-n', '-L', rule.chain]).then(
    () => true,
    () => false,
  );
}

/**
 * Install `rules` with the local iptables, idempotently: rules already present are left alone;
 * missing ones are inserted so that the final order equals `rules` order ahead of any other
 * rule of the chain.
 */
export async function applyFirewallRules(all: FirewallRule[]): Promise<void> {
  // IPv6 rules apply only where Docker made its IPv6 chain: without it no user traffic is IPv6.
  const rules: FirewallRule[] = [];
  for (const rule of all) if (rule.family !== 6 || (await chainExists(rule))) rules.push(rule);
  const present: boolean[] = [];
  for (const rule of rules) {
    present.push(
      await run(tool(rule), ['-w', '-C', rule.chain, ...rule.args]).then(
        () => true,
        () => false,
      ),
    );
  }
  // Insert from last to first at position 1, so earlier rules end up in front of later ones.
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (present[i]) continue;
    await run(tool(rule), ['-w', '-I', rule.chain, '1', ...rule.args]);
  }
}

/** Remove `rules` from the local iptables (used by tests and decommissioning). */
export async function removeFirewallRules(rules: FirewallRule[]): Promise<void> {
  for (const rule of rules) {
    while (
      await run(tool(rule), ['-w', '-D', rule.chain, ...rule.args]).then(
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
      Labels: {
        [LABELS.managed]: 'true',
        ...(options.deployment ? { [LABELS.deployment]: options.deployment } : {}),
      },
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
