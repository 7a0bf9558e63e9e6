/**
 * JupyterHub's `/hub/api/info`, answered with what means the same for Orrery: the hub's
 * version and runtime (Node, not Python), its spawners (the compute domains' backends) and
 * how people sign in.
 */
import type { Hub } from '../hub.ts';

/**
 * The JupyterHub release whose REST API Orrery answers (docs/jupyterhub.md lists the
 * differences), reported as `version` and in the `X-JupyterHub-Version` header: clients switch
 * features on it (the idle culler asks for 1.3 before it filters with `state=ready`;
 * jupyterhub-singleuser warns when the major version differs from its own). Orrery's own
 * version is `orrery_version`.
 */
export const JUPYTERHUB_API_VERSION = '5.4.0';

export function hubDetails(hub: Hub) {
  return {
    version: JUPYTERHUB_API_VERSION,
    orrery_version: hub.version,
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
