/**
 * Batch jobs as a feature module: the queue's routes and, on a hub that dispatches, the
 * dispatcher that runs jobs in containers on the compute domains' Docker hosts, or as
 * services on their Swarm.
 */
import { connectDocker } from '@orrery/spawner';
import { deploymentIdentity, deploymentNames } from '../compute/deployment.ts';
import { computeModule } from '../compute/module.ts';
import { bindRootsOf, dockerEndpoint } from '../compute/setup.ts';
import type { FeatureModule } from '../module.ts';
import { DockerJobContainers, type JobContainers } from './containers.ts';
import { JobDispatcher } from './dispatcher.ts';
import { jobsInventory } from './inventory.ts';
import { jobRoutes } from './routes.ts';
import { JobsService } from './service.ts';
import { SwarmJobContainers } from './swarmContainers.ts';

export const jobsModule: FeatureModule<JobsService> = {
  name: 'jobs',
  routes: jobRoutes,
  async open({ hub, use }) {
    const { config, db, log } = hub;
    const compute = use(computeModule);
    const { resourcePrefix } = deploymentNames(
      config.compute.namePrefix,
      await deploymentIdentity(db),
      [],
    );
    // Jobs run on the domains whose servers are Docker containers, on the domain's first host,
    // and on Swarm domains, through the manager.
    const domains = new Map<string, JobContainers>();
    for (const domain of config.compute.domains) {
      const host = domain.hosts[0];
      const kind = compute.backends.get(domain.name)?.kind;
      if (!host) continue;
      const docker = connectDocker(dockerEndpoint(host));
      if (kind === 'docker')
        domains.set(domain.name, new DockerJobContainers(docker, resourcePrefix));
      if (kind === 'swarm') {
        const containers = new SwarmJobContainers(docker, resourcePrefix, bindRootsOf(config));
        domains.set(domain.name, containers);
      }
    }
    const dispatcher = new JobDispatcher({
      db,
      log,
      config: config.jobs,
      domains,
      deployment: resourcePrefix,
      containerNameOf: (id) => `${resourcePrefix}job-${id}`,
      // The same binds as the user's servers, from the same folders only.
      mountsOf: async (user, domain) => ({
        workspaceVolume: compute.workspaceOf(user.safeName),
        bindRoots: bindRootsOf(config),
        ...(await compute.containerVolumes(user, domain)),
      }),
    });
    const service = new JobsService(db, config, compute, domains, (domain) =>
      dispatcher.nudge(domain),
    );
    hub.accountRemovers.describe('jobs', (account) => jobsInventory(db, account));
    return {
      service,
      start() {
        if (config.jobs.dispatch) dispatcher.start();
      },
      close: () => dispatcher.stop(),
    };
  },
};
