/** Start and stop a hub: used by main.ts, the CLI's `up`, tests and benchmarks. */
import {
  createServer,
  type RequestListener,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createApp } from './app.ts';
import { routeRequest, userOriginOf } from './auth/userOrigin.ts';
import { answerByHost } from './auth/userOriginHandoff.ts';
import type { HubConfig } from './config.ts';
import { migrate, pendingMigrations } from './db/migrate.ts';
import { createPool } from './db/pool.ts';
import { closeGracefully, listen } from './http/listener.ts';
import { createHub, type Hub } from './hub.ts';
import { createLogger, type Logger } from './log.ts';
import { secondsSince } from './metrics/events.ts';
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
  const began = process.hrtime.bigint();
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
  const frontFor = (url: string | undefined) =>
    composed.fronts.find((handler) => handler.matches(url));
  const proxied = (url: string | undefined) => frontFor(url) !== undefined;
  // Users' servers are served before express sees the request: their bodies stream upstream
  // untouched, and the proxy's hot path skips the hub's middleware. With users' own origins
  // the host decides too (auth/userOrigin.ts).
  const server = createServer((req, res) => {
    const decision = routeRequest(userOrigin, req, proxied);
    if (decision.kind === 'proxy') void frontFor(req.url)!.handle(req, res);
    else if (decision.kind === 'hub') application(req, res);
    else void answerByHost(hub, userOrigin!, decision, req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    const decision = routeRequest(userOrigin, req, proxied);
    if (decision.kind === 'proxy') void frontFor(req.url)!.handleUpgrade(req, socket, head);
    else {
      const status = decision.kind === 'refuse' ? decision.status : 404;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
    }
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
  hub.events.emit('started', { seconds: secondsSince(began) });
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
