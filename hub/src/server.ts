/** Start and stop a hub: used by main.ts, the CLI's `up`, tests and benchmarks. */
import { createServer, type RequestListener, type Server, STATUS_CODES } from 'node:http';
import type { SpawnerBackend } from '@orrery/spawner';
import { createApp } from './app.ts';
import { routeRequest, userOriginOf } from './auth/userOrigin.ts';
import { answerByHost } from './auth/userOriginHandoff.ts';
import { Compute } from './compute/orchestrator.ts';
import { loadOrCreateKey } from './compute/secrets.ts';
import {
  createDomainBackend,
  type HubAccess,
  registerComputeResources,
  resolveDomain,
  userNetworkGateways,
} from './compute/setup.ts';
import type { HubConfig } from './config.ts';
import { migrate, pendingMigrations } from './db/migrate.ts';
import { createPool } from './db/pool.ts';
import { createHub, type Hub } from './hub.ts';
import { createLogger, type Logger } from './log.ts';
import { ServerProxy } from './proxy/proxy.ts';
import { registerCoreContexts } from './racm/contexts.ts';

export interface RunningHub {
  hub: Hub;
  server: Server;
  url: string;
  close(): Promise<void>;
}

const WILDCARD = new Set(['0.0.0.0', '::']);

export class PendingMigrationsError extends Error {}

export async function startHub(
  config: HubConfig,
  log: Logger = createLogger(config.logLevel),
): Promise<RunningHub> {
  // A wrong ORRERY_USER_ORIGIN stops the hub before it touches anything.
  const userOrigin = userOriginOf(config);
  const db = createPool(config.databaseUrl, 10, (err) =>
    log.warn({ err: err.message }, 'idle database connection lost'),
  );
  try {
    const pending = await pendingMigrations(db);
    if (pending.length > 0) {
      if (!config.migrateOnStart) {
        throw new PendingMigrationsError(
          `The database has ${pending.length} pending migration(s) (${pending.join(', ')}); run "npm run migrate" or start with --migrate`,
        );
      }
      log.info({ migrations: await migrate(config.databaseUrl) }, 'migrated');
    }
    await registerCoreContexts(db);
  } catch (err) {
    await db.end();
    throw err;
  }
  const hub = createHub(config, db, log);
  const app = createApp(hub);
  // Servers in containers reach the hub's API on their user network's gateway; only the API.
  const serverListeners: Server[] = [];
  let compute: Compute;
  try {
    await registerComputeResources(db, config);
    const domains = await Promise.all(config.compute.domains.map((d) => resolveDomain(d, log)));
    const gateways = await userNetworkGateways(domains, config.compute.hubUrlForServers, log);
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
      const listener = await listenForServers(app, gateway, config);
      serverListeners.push(listener.server);
      access.listeners.set(gateway, listener.port);
      log.info({ serversUrl: `http://${gateway}:${listener.port}` }, 'listening for servers');
    }
    const backends = new Map<string, SpawnerBackend>();
    for (const domain of domains)
      backends.set(domain.name, await createDomainBackend(config, domain, access));
    compute = new Compute({
      config,
      db,
      log,
      backends,
      key: loadOrCreateKey(config.secretKey, config.stateDir),
      hubUrlForServers: config.compute.hubUrlForServers,
    });
    // The route table comes from the database before the first request is served.
    await compute.reconcile();
  } catch (err) {
    for (const listener of serverListeners) listener.close();
    await db.end();
    throw err;
  }
  hub.compute = compute;
  const proxy = new ServerProxy(hub, compute, userOrigin);
  // Users' servers are served before express sees the request: their bodies stream upstream
  // untouched, and the proxy's hot path skips the hub's middleware. With users' own origins
  // the host decides too (auth/userOrigin.ts).
  const server = createServer((req, res) => {
    const decision = routeRequest(userOrigin, req, ServerProxy.matches);
    if (decision.kind === 'proxy') void proxy.handle(req, res);
    else if (decision.kind === 'hub') app(req, res);
    else void answerByHost(hub, userOrigin!, decision, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.bind, () => resolve());
  });
  server.on('upgrade', (req, socket, head) => {
    const decision = routeRequest(userOrigin, req, ServerProxy.matches);
    if (decision.kind === 'proxy') void proxy.handleUpgrade(req, socket, head);
    else {
      const status = decision.kind === 'refuse' ? decision.status : 404;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
    }
  });
  compute.startLoops();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.bind.includes(':') ? `[${config.bind}]` : config.bind}:${port}`;
  // With a fixed port the public URL is right; with port 0 (tests) only now is the port known.
  compute.useHubUrl(config.port === 0 ? url : config.publicUrl);
  log.info({ url }, 'hub listening');
  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
    url,
    close() {
      // Stop taking connections, let requests in flight finish, then release the pool.
      closing ??= Promise.all(
        [server, ...serverListeners].map(
          (listener) =>
            new Promise<void>((resolve) => {
              listener.close(() => resolve());
              listener.closeIdleConnections();
              setTimeout(() => listener.closeAllConnections(), 5000).unref();
            }),
        ),
      )
        .then(() => Promise.all([compute.close(), proxy.close()]))
        .then(() => db.end());
      return closing;
    },
  };
}

/**
 * Listen on a user network's gateway for the servers on it, serving the hub's API only (the
 * pages and the proxy stay on the public listener). On the hub's own port when it has a fixed
 * one, else on a port of the system's choosing.
 */
async function listenForServers(
  app: RequestListener,
  address: string,
  config: HubConfig,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/hub/api/')) app(req, res);
    else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found', message: 'Only the hub API is served here' }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, address, () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}
