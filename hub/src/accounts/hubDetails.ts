/**
 * JupyterHub's `/hub/api/info`, answered with what means the same for Orrery: the hub's
 * version and runtime (Node, not Python), its spawners (the compute domains' backends) and
 * how people sign in.
 */
import type { Hub } from '../hub.ts';

export function hubDetails(hub: Hub) {
  return {
    version: hub.version,
    node: process.versions.node,
    sys_executable: process.execPath,
    spawner: {
      class: 'orrery.compute',
      version: hub.version,
      domains: hub.config.compute.domains.map((domain) => ({
        name: domain.name,
        backend: domain.backend,
      })),
    },
    authenticator: {
      class: hub.config.oidc ? 'orrery.password+oidc' : 'orrery.password',
      version: hub.version,
      open_registration: hub.config.openRegistration,
      require_approval: hub.config.requireApproval,
    },
  };
}
