/**
 * Compute as a feature module: users' servers, the proxy in front of them, and the listeners
 * servers reach the hub's API on. Opening it resolves the domains, builds one backend each and
 * rebuilds the proxy's route table from the database, all before the first request is served.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { SpawnerBackend } from '@orrery/spawner';
import { userOriginOf } from '../auth/userOrigin.ts';
import type { HubConfig } from '../config.ts';
import { closeGracefully, listen } from '../http/listener.ts';
import { labTokenScopes } from '../labContract.ts';
import type { FeatureModule } from '../module.ts';
import { ServerProxy } from '../proxy/proxy.ts';
import { deploymentIdentity, deploymentNames } from './deployment.ts';
import { computeInventory } from './inventory.ts';
import { Compute } from './orchestrator.ts';
import { computeRoutes } from './routes.ts';
import { loadOrCreateKey } from './secrets.ts';
import {
  createDomainBackend,
  type HubAccess,
  registerComputeResources,
  resolveDomain,
  userNetworkGateways,
} from './setup.ts';
import { volumeHostsOf } from './volumeHosts.ts';

const WILDCARD = new Set(['0.0.0.0', '::']);

export const computeModule: FeatureModule<Compute> = {
  name: 'compute',
  routes: computeRoutes,
  async open({ hub, serveApi, routes }) {
    const { config, db, log } = hub;
    // Servers in containers reach the hub's API on their user network's gateway; only the API.
    const serverListeners: Server[] = [];
    try {
      await registerComputeResources(db, config);
      const domains = await Promise.all(config.compute.domains.map((d) => resolveDomain(d, log)));
      const names = deploymentNames(
        config.compute.namePrefix,
        await deploymentIdentity(db),
        domains.flatMap((d) => d.hosts),
      );
      const gateways = await userNetworkGateways(
        domains,
        config.compute.hubUrlForServers,
        names,
        log,
      );
      const access: HubAccess = {
        configuredUrl: config.compute.hubUrlForServers,
        gateways,
        listeners: new Map(),
        ephemeral: config.port === 0,
      };
      for (const gateway of new Set(gateways.values())) {
        // A hub listening on every address is on the gateway already.
        if (WILDCARD.has(config.bind) && config.port !== 0) {
          access.listeners.set(gateway, config.port);
          continue;
        }
        const listener = apiOnlyServer(serveApi);
        serverListeners.push(listener);
        const port = await listen(listener, config.port, gateway);
        access.listeners.set(gateway, port);
        log.info({ serversUrl: `http://${gateway}:${port}` }, 'listening for servers');
      }
      const backends = new Map<string, SpawnerBackend>();
      for (const domain of domains)
        backends.set(domain.name, await createDomainBackend(config, domain, access, names, log));
      const compute = new Compute({
        config,
        db,
        log,
        backends,
        key: loadOrCreateKey(config.secretKey, config.stateDir),
        resourcePrefix: names.resourcePrefix,
        accountRemovers: hub.accountRemovers,
        events: hub.events,
        hubUrlForServers: config.compute.hubUrlForServers,
        // Code in the server may call exactly the lab routes of this hub.
        serverTokenScopes: labTokenScopes([...routes]),
        volumeHosts: volumeHostsOf(
          domains,
          config.compute.images[0] ?? 'orrery/lab:latest',
          names.label('volumes'),
        ),
      });
      hub.accountRemovers.add('compute', (removal) => compute.removeAccountResources(removal));
      hub.accountRemovers.describe('compute', (account) => computeInventory(db, compute, account));
      // The route table comes from the database before the first request is served.
      await compute.reconcile();
      const proxy = new ServerProxy(hub, compute, userOriginOf(config));
      // A share taken back closes its holder's WebSockets before the answer says it is done.
      hub.accessChanges.add('server-proxy', () => proxy.recheckShared());
      return {
        service: compute,
        // Users' servers are served before express sees the request: their bodies stream
        // upstream untouched, and the proxy's hot path skips the hub's middleware.
        front: {
          matches: ServerProxy.matches,
          handle: proxy.handle,
          handleUpgrade: proxy.handleUpgrade,
        },
        start({ url }) {
          compute.startLoops();
          compute.useHubUrl(defaultHubUrl(config, url));
        },
        async close() {
          await Promise.all(serverListeners.map(closeGracefully));
          await Promise.all([compute.close(), proxy.close()]);
        },
      };
    } catch (err) {
      for (const listener of serverListeners) listener.close();
      throw err;
    }
  },
};

/** With a fixed port the public URL is right; with port 0 (tests) only the listening URL is known. */
const defaultHubUrl = (config: HubConfig, listeningUrl: string) =>
  config.port === 0 ? listeningUrl : config.publicUrl;

/** A listener on a user network's gateway: the hub's API only (pages and the proxy stay public). */
function apiOnlyServer(serveApi: RequestListener): Server {
  return createServer((req, res) => {
    // `/hub/api` itself too: jupyterhub-singleuser asks it for the hub's version.
    const url = req.url ?? '';
    if (url.startsWith('/hub/api/') || url === '/hub/api' || url.startsWith('/hub/api?'))
      serveApi(req, res);
    else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found', message: 'Only the hub API is served here' }));
    }
  });
}
