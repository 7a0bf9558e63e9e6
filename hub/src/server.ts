/** Start and stop a hub: used by main.ts, the CLI's `up`, tests and benchmarks. */
import { createServer, type Server } from 'node:http';
import { createApp } from './app.ts';
import { Compute } from './compute/orchestrator.ts';
import { loadOrCreateKey } from './compute/secrets.ts';
import { createComputeBackend, registerComputeResources } from './compute/setup.ts';
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

export class PendingMigrationsError extends Error {}

export async function startHub(
  config: HubConfig,
  log: Logger = createLogger(config.logLevel),
): Promise<RunningHub> {
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
  let compute: Compute;
  try {
    await registerComputeResources(db, config);
    compute = new Compute({
      config,
      db,
      log,
      backend: await createComputeBackend(config, log),
      key: loadOrCreateKey(config.secretKey, config.stateDir),
      hubUrlForServers: config.compute.hubUrlForServers,
    });
    // The route table comes from the database before the first request is served.
    await compute.reconcile();
  } catch (err) {
    await db.end();
    throw err;
  }
  hub.compute = compute;
  const proxy = new ServerProxy(hub, compute);
  const app = createApp(hub);
  // Users' servers are served before express sees the request: their bodies stream upstream
  // untouched, and the proxy's hot path skips the hub's middleware.
  const server = createServer((req, res) => {
    if (ServerProxy.matches(req.url)) void proxy.handle(req, res);
    else app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.bind, () => resolve());
  });
  server.on('upgrade', (req, socket, head) => {
    if (ServerProxy.matches(req.url)) void proxy.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
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
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      })
        .then(() => Promise.all([compute.close(), proxy.close()]))
        .then(() => db.end());
      return closing;
    },
  };
}
