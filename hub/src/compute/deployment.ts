/**
 * This deployment's identity and the names made from it. The identity is made once (by
 * migration 0007) and kept in the database, so every hub process of one deployment agrees on
 * it and two deployments, even with the same prefix on one Docker daemon, never do: each
 * labels, names and sweeps only its own containers, volumes, networks and bridges.
 */
import type { Queryable } from '../db/pool.ts';
import type { DockerHostSetting } from './domainConfig.ts';

/** The identity kept in the database (made now if a restored dump lost it). */
export async function deploymentIdentity(db: Queryable): Promise<string> {
  await db.query(
    `INSERT INTO deployment (id) VALUES (substr(md5(gen_random_uuid()::text), 1, 8))
     ON CONFLICT DO NOTHING`,
  );
  const { rows } = await db.query('SELECT id FROM deployment');
  return rows[0].id as string;
}

export interface DeploymentNames {
  identity: string;
  /** Prefix of container, service, process and workspace names: `<prefix><identity>-`. */
  resourcePrefix: string;
  /** The Docker network every server of this deployment joins. */
  network: string;
  /** The `org.orrery.deployment` label of one domain's servers. */
  label(domain: string): string;
  /** The user network's bridge on `host`: its own setting, or one named after the identity. */
  bridge(host: DockerHostSetting): string;
}

/**
 * Names from the configured `prefix` and the identity. Bridges are `or<identity><n>`, n
 * counting the distinct host URLs in configuration order (15 characters at most, as Linux
 * allows), so two daemons on one machine get two bridges.
 */
export function deploymentNames(
  prefix: string,
  identity: string,
  hosts: DockerHostSetting[],
): DeploymentNames {
  const urls = [...new Set(hosts.map((host) => host.url))];
  const resourcePrefix = `${prefix}${identity}-`;
  return {
    identity,
    resourcePrefix,
    network: `${resourcePrefix}users`,
    label: (domain) => `${resourcePrefix}${domain}`,
    bridge: (host) => host.bridge ?? `or${identity}${Math.max(0, urls.indexOf(host.url))}`,
  };
}
