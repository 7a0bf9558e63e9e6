/** Start and stop a hub: used by main.ts, the CLI's `up`, tests and benchmarks. */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createApp } from './app.ts';
import type { HubConfig } from './config.ts';
import { migrate, pendingMigrations } from './db/migrate.ts';
import { createPool } from './db/pool.ts';
import { closeGracefully, listen } from './http/listener.ts';
import { createHub, type Hub } from './hub.ts';
import { createLogger, type Logger } from './log.ts';
import { type AnyModule, type ComposedModules, composeModules, MODULES } from './modules.ts';

export interface RunningHub {
  hub: Hub;
  /** The feature modules this hub was composed of, opened. */
  modules: ComposedModules;
  server: Server;
  url: string;
  close(): Promise<void>;
}

export class PendingMigrationsError extends Error {}

/** Start a hub composed of `modules` (all of them unless a test or tool says otherwise). */
export async function startHub(
  config: HubConfig,
  log: Logger = createLogger(config.logLevel),
  modules: readonly AnyModule[] = MODULES,
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
  } catch (err) {
    await db.end();
    throw err;
  }
  const hub = createHub(config, db, log);
  // Modules may serve the API on more addresses while they open (compute's gateway listeners);
  // a request there before the application exists is told to come back.
  let app: RequestListener | undefined;
  const serveApi: RequestListener = (req, res) => (app ? app(req, res) : starting(res));
  let composed: ComposedModules;
  try {
    composed = await composeModules(hub, serveApi, modules);
  } catch (err) {
    await db.end();
    throw err;
  }
  const application = createApp(hub, composed);
  app = application;
  const server = createServer((req, res) => {
    const front = composed.fronts.find((handler) => handler.matches(req.url));
    if (front) void front.handle(req, res);
    else application(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    const front = composed.fronts.find((handler) => handler.matches(req.url));
    if (front) void front.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  let port: number;
  try {
    port = await listen(server, config.port, config.bind);
  } catch (err) {
    await composed.close();
    await db.end();
    throw err;
  }
  const url = `http://${config.bind.includes(':') ? `[${config.bind}]` : config.bind}:${port}`;
  await composed.start({ url });
  log.info({ url }, 'hub listening');
  let closing: Promise<void> | undefined;
  return {
    hub,
    modules: composed,
    server,
    url,
    close() {
      // Stop taking connections, let requests in flight finish, close the modules, then the pool.
      closing ??= closeGracefully(server)
        .then(() => composed.close())
        .then(() => db.end());
      return closing;
    },
  };
}

function starting(res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
  res.end(
    JSON.stringify({ error: 'unavailable', message: 'The hub is starting; try again shortly' }),
  );
}
