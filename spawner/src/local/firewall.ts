/**
 * Keep local servers off the hub's database at the network layer: their processes share one
 * group, and an OUTPUT rule sends that group's packets through a chain that rejects the
 * database's addresses and port. Hiding DATABASE_URL is not enough where PostgreSQL trusts
 * local connections. The reject is "administratively prohibited", so a blocked connect fails
 * with EHOSTUNREACH, telling the firewall apart from a closed port.
 */
import { execFile } from 'node:child_process';
import { isIPv6 } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One TCP destination servers must not reach (an address, not a host name). */
export interface BlockedDestination {
  address: string;
  port: number;
}

/** `iptables` (IPv4) or `ip6tables` argument lists, in order. */
export interface FirewallPlan {
  ipv4: string[][];
  ipv6: string[][];
}

/** The OUTPUT rule's match and target: packets of the server group go through `chain`. */
const jump = (chain: string, gid: number) => [
  '-m',
  'owner',
  '--gid-owner',
  String(gid),
  '-j',
  chain,
];

/** The rules that install the block (pure): a fresh chain, its rejects, the jump into it. */
export function blockRules(
  chain: string,
  gid: number,
  destinations: BlockedDestination[],
): FirewallPlan {
  const plan: FirewallPlan = { ipv4: [], ipv6: [] };
  for (const family of ['ipv4', 'ipv6'] as const) {
    const mine = destinations.filter((d) => isIPv6(d.address) === (family === 'ipv6'));
    if (mine.length === 0) continue;
    const reject = family === 'ipv6' ? 'icmp6-adm-prohibited' : 'icmp-admin-prohibited';
    plan[family].push(['-N', chain], ['-F', chain]);
    for (const { address, port } of mine) {
      plan[family].push([
        '-A',
        chain,
        '-d',
        address,
        '-p',
        'tcp',
        '--dport',
        String(port),
        '-j',
        'REJECT',
        '--reject-with',
        reject,
      ]);
    }
    plan[family].push(['-I', 'OUTPUT', '1', ...jump(chain, gid)]);
  }
  return plan;
}

async function iptables(family: 'ipv4' | 'ipv6', args: string[]): Promise<void> {
  await run(family === 'ipv6' ? 'ip6tables' : 'iptables', ['-w', '10', ...args]);
}

/** Install (or refresh) the block; idempotent, so a restarted hub replaces its own rules. */
export async function installBlock(
  chain: string,
  gid: number,
  destinations: BlockedDestination[],
): Promise<void> {
  await removeBlock(chain, gid);
  const plan = blockRules(chain, gid, destinations);
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const args of plan[family]) await iptables(family, args);
  }
}

/** Remove the jump and the chain, in both families; what is already gone is fine. */
export async function removeBlock(chain: string, gid: number): Promise<void> {
  for (const family of ['ipv4', 'ipv6'] as const) {
    // A rule inserted twice (two hubs of one deployment) is deleted until none is left.
    for (let i = 0; i < 10; i++) {
      try {
        await iptables(family, ['-D', 'OUTPUT', ...jump(chain, gid)]);
      } catch {
        break;
      }
    }
    await iptables(family, ['-F', chain]).catch(() => undefined);
    await iptables(family, ['-X', chain]).catch(() => undefined);
  }
}
