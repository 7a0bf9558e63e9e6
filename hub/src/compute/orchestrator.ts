/**
 * Orchestration of users' servers, in one place (JupyterHub's user.py): check limits and
 * RACM, claim the name, start through the backend with a timeout, wait for Jupyter to
 * answer, publish the route, record it; on any failure stop what was started and leave no
 * container, route or row behind. The backend and the proxy never call each other.
 */
import { fileURLToPath } from 'node:url';
import type { ManagedServer, SavedState, SpawnerBackend, SpawnRequest } from '@orrery/spawner';
import { recordActivity } from '../activity/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import { SERVER_TOKEN_SCOPES } from '../auth/scopes.ts';
import { issueServerToken, revokeServerToken } from '../auth/tokens.ts';
import type { HubConfig } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { HttpError } from '../http/errors.ts';
import type { Logger } from '../log.ts';
import { findResourceByName, may } from '../racm/store.ts';
import { progressKey, SpawnProgress } from './progress.ts';
import { RouteTable } from './routeTable.ts';
import { serverSecret } from './secrets.ts';
import {
  allServers,
  claimForStop,
  countServers,
  deleteServer,
  findServerById,
  idleServers,
  insertStarting,
  markRunning,
  type ServerRecord,
  saveState,
  setActivity,
} from './store.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Jupyter server configuration of the compute images (NODELAY, hub keys), for local servers. */
const LOCAL_JUPYTER_CONFIG = fileURLToPath(new URL('../../../images/base', import.meta.url));

/** The path a server answers under: JupyterHub's layout, with the URL-safe form of the name. */
export const serverBaseUrl = (ownerSafeName: string, serverName: string) =>
  `/user/${ownerSafeName}/${serverName}/`;

/** One identity per backend resource, to tell a known server from an orphan or a duplicate. */
function identity(domain: string, state: SavedState): string {
  switch (state.backend) {
    case 'docker':
      return `${domain}/docker:${state.host}:${state.containerId}`;
    case 'swarm':
      return `${domain}/swarm:${state.host}:${state.serviceId}`;
    case 'local':
      return `${domain}/local:${state.name}:${state.pid}`;
  }
}

export interface ComputeOptions {
  config: HubConfig;
  db: Db;
  log: Logger;
  /** One backend per compute domain, by the domain's name; the first is the default. */
  backends: Map<string, SpawnerBackend>;
  /** Derives servers' upstream secrets. */
  key: string;
  /** URL code inside a server uses to reach the hub; set once the hub listens if not configured. */
  hubUrlForServers: string | null;
}

export class Compute {
  readonly progress = new SpawnProgress();
  readonly routes = new RouteTable((server) => this.secretFor(server));
  readonly backends: Map<string, SpawnerBackend>;
  private spawning = 0;
  private readonly inFlight = new Set<number>();
  private readonly spawns = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private loopRunning: Promise<void> | undefined;

  constructor(private readonly options: ComputeOptions) {
    this.backends = options.backends;
    if (this.backends.size === 0) throw new TypeError('Compute needs at least one compute domain');
  }

  /** The domain a start without one goes to. */
  get defaultDomain(): string {
    return this.backends.keys().next().value!;
  }

  /** The backend of `domain`; 503 for a domain no longer configured (its servers stay put). */
  backendOf(domain: string): SpawnerBackend {
    const backend = this.backends.get(domain);
    if (!backend) {
      throw new HttpError(503, `The compute domain "${domain}" is not configured on this hub`);
    }
    return backend;
  }

  private get config() {
    return this.options.config.compute;
  }

  /** Where servers reach the hub, when the configuration did not say (known once the hub listens). */
  useHubUrl(url: string): void {
    this.options.hubUrlForServers ??= url;
  }

  secretFor(server: { id: number; startedAt: Date }): string {
    return serverSecret(this.options.key, server);
  }

  /** When an idle server will be stopped, or null when culling is off. */
  cullAt(server: ServerRecord): Date | null {
    if (!this.config.idleCullSeconds || server.status !== 'running') return null;
    return new Date(new Date(server.lastActivityAt).getTime() + this.config.idleCullSeconds * 1000);
  }

  /** May the user start `image` on `domain`? Throws 400/403 if not. */
  private async checkAllowed(user: UserRecord, image: string, domain: string): Promise<void> {
    if (!this.backends.has(domain)) {
      throw new HttpError(
        400,
        `There is no compute domain "${domain}"; choose one of: ${[...this.backends.keys()].join(', ')}`,
      );
    }
    if (!this.config.images.includes(image)) {
      throw new HttpError(
        400,
        `The image "${image}" is not offered here; choose one of: ${this.config.images.join(', ')}`,
      );
    }
    const db = this.options.db;
    const imageResource = await findResourceByName(db, 'DockerImage', image);
    if (!imageResource || !(await may(db, user.id, 'use', imageResource.id))) {
      throw new HttpError(403, `You may not use the image "${image}"`);
    }
    const domainResource = await findResourceByName(db, 'ComputeDomain', domain);
    if (!domainResource || !(await may(db, user.id, 'use', domainResource.id))) {
      throw new HttpError(403, `You may not use the compute domain "${domain}"`);
    }
  }

  /**
   * Begin starting a server; resolves once the name is claimed (the spawn goes on in the
   * background and reports through `progress`). Refuses with 429 above the global spawn limit.
   */
  async start(
    user: UserRecord,
    serverName: string,
    image: string,
    domain = this.defaultDomain,
  ): Promise<ServerRecord> {
    await this.checkAllowed(user, image, domain);
    if (this.spawning >= this.config.maxConcurrentSpawns) {
      throw new HttpError(
        429,
        'Too many servers are starting right now; try again in a few seconds',
        {
          headers: { 'Retry-After': '10' },
        },
      );
    }
    const db = this.options.db;
    if ((await countServers(db, user.id)) >= this.config.maxServersPerUser) {
      throw new HttpError(
        409,
        `You can run at most ${this.config.maxServersPerUser} servers at once; stop one first`,
      );
    }
    const id = await insertStarting(db, {
      userId: user.id,
      name: serverName,
      image,
      domain,
    });
    if (id === undefined)
      throw new HttpError(409, `You already have a server named "${serverName}"`);
    const record = (await findServerById(db, id))!;
    this.spawning += 1;
    this.inFlight.add(id);
    this.progress.begin(progressKey(user.id, serverName));
    this.progress.emit(progressKey(user.id, serverName), {
      progress: 5,
      message: 'Server requested',
    });
    const spawn = this.spawn(record, user).finally(() => {
      this.spawning -= 1;
      this.inFlight.delete(id);
      this.spawns.delete(spawn);
    });
    this.spawns.add(spawn);
    return record;
  }

  private async spawn(record: ServerRecord, user: UserRecord): Promise<void> {
    const { db, log, config } = this.options;
    const key = progressKey(user.id, record.name);
    const deadline = Date.now() + this.config.spawnTimeoutSeconds * 1000;
    const baseUrl = serverBaseUrl(user.safeName, record.name);
    const backend = this.backendOf(record.domain);
    let state: SavedState | undefined;
    let pending: Promise<{ url: string; state: SavedState }> | undefined;
    try {
      const token = await issueServerToken(
        db,
        user.id,
        record.name,
        SERVER_TOKEN_SCOPES,
        config.serverTokenSeconds,
      );
      const request: SpawnRequest = {
        user: { name: user.name, safeName: user.safeName },
        serverName: record.name,
        image: record.image,
        env: this.serverEnvironment(backend, user, record.name, baseUrl, token),
        workspaceVolume: `${this.config.namePrefix}${user.safeName}-work`,
        limits: this.config.limits,
        baseUrl,
        authSecret: this.secretFor(record),
      };
      this.progress.emit(key, {
        progress: 20,
        message: `Starting ${record.image} on ${record.domain}`,
      });
      pending = backend.start(request);
      const started = await withDeadline(pending, deadline, 'the server did not start in time');
      state = started.state;
      await saveState(db, record.id, state);
      this.progress.emit(key, { progress: 60, message: 'Waiting for JupyterLab to answer' });
      await this.waitForJupyter(started.url, baseUrl, this.secretFor(record), deadline);
      await markRunning(db, record.id, started.url, state);
      this.routes.set({ ...record, url: started.url });
      await recordActivity(db, {
        type: 'server.start',
        userId: user.id,
        payload: { server: record.name, image: record.image, domain: record.domain },
      });
      this.progress.emit(key, {
        progress: 100,
        message: 'Server ready',
        ready: true,
        url: baseUrl,
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.warn({ server: record.id, owner: user.name, reason }, 'spawn failed');
      this.progress.emit(key, {
        progress: 100,
        message: `Could not start the server: ${reason}`,
        failed: true,
      });
      // Whatever was created goes: a start that finishes after the deadline is stopped too.
      if (state)
        await backend
          .stop(state)
          .catch((stopErr) => log.error({ err: stopErr }, 'cleanup stop failed'));
      else pending?.then((late) => backend.stop(late.state)).catch(() => {});
      this.routes.delete(record.id);
      await deleteServer(db, record.id);
      await revokeServerToken(db, user.id, record.name);
      await recordActivity(db, {
        type: 'server.start_failed',
        userId: user.id,
        payload: { server: record.name, reason },
      });
    }
  }

  private serverEnvironment(
    backend: SpawnerBackend,
    user: UserRecord,
    serverName: string,
    baseUrl: string,
    token: string,
  ): Record<string, string> {
    const hubUrl = this.options.hubUrlForServers ?? this.options.config.publicUrl;
    return {
      // Local servers read the same Jupyter server configuration the images carry.
      ...(backend.kind === 'local' ? { JUPYTER_CONFIG_PATH: LOCAL_JUPYTER_CONFIG } : {}),
      ORRERY_HUB_URL: hubUrl,
      ORRERY_API_TOKEN: token,
      // JupyterHub's names, so hub-aware tools and JupyterLab's hub menu find their way.
      JUPYTERHUB_USER: user.name,
      JUPYTERHUB_SERVER_NAME: serverName,
      JUPYTERHUB_BASE_URL: '/',
      JUPYTERHUB_SERVICE_PREFIX: baseUrl,
      // With users' own origins, JupyterLab's hub links (control panel, log out) name the hub's.
      JUPYTERHUB_HOST: this.options.config.userOrigin
        ? new URL(this.options.config.publicUrl).origin
        : '',
      JUPYTERHUB_API_URL: `${hubUrl}/hub/api`,
    };
  }

  /** Poll Jupyter's /api/status with the server's secret until it answers 200. */
  private async waitForJupyter(
    url: string,
    baseUrl: string,
    secret: string,
    deadline: number,
  ): Promise<void> {
    let last = 'no answer';
    while (Date.now() < deadline) {
      try {
        const res = await jupyterStatus(url, baseUrl, secret);
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      // Often: every poll interval is added to the spawn time on average by half.
      await sleep(100);
    }
    throw new Error(`JupyterLab did not answer in time (${last})`);
  }

  /** Stop a server and forget it; its workspace stays. */
  async stop(server: ServerRecord, reason: 'user' | 'idle' | 'admin' = 'user'): Promise<void> {
    const { db } = this.options;
    const backend = this.backendOf(server.domain);
    const claimed = await claimForStop(db, server.id);
    if (!claimed) return;
    this.routes.delete(server.id);
    try {
      if (claimed.state) await backend.stop(backend.loadState(claimed.state));
    } catch (err) {
      // Still running somewhere: keep the row so a later stop (or the reconcile loop) retries.
      await db.query(`UPDATE servers SET status = 'running' WHERE id = $1`, [server.id]);
      this.routes.set(claimed);
      throw new HttpError(
        503,
        `The server could not be stopped right now: ${err instanceof Error ? err.message : err}`,
      );
    }
    await deleteServer(db, server.id);
    await revokeServerToken(db, claimed.userId, claimed.name);
    await recordActivity(db, {
      type: reason === 'idle' ? 'server.culled' : 'server.stop',
      userId: claimed.userId,
      payload: { server: claimed.name, reason },
    });
  }

  /** Load the route table from the database and check every server against the backend. */
  async reconcile(): Promise<void> {
    const { db, log } = this.options;
    const rows = await allServers(db);
    const known = new Set<string>();
    for (const row of rows) {
      const backend = this.backends.get(row.domain);
      if (!backend) {
        // Its domain left the configuration: nothing here can poll or stop it, so it stays.
        if (row.status === 'running' && row.url) this.routes.set(row);
        log.warn({ server: row.id, domain: row.domain }, 'server on an unconfigured domain');
        continue;
      }
      if (this.inFlight.has(row.id)) {
        if (row.state) known.add(identity(row.domain, backend.loadState(row.state)));
        continue;
      }
      const state = row.state ? backend.loadState(row.state) : undefined;
      if (state) known.add(identity(row.domain, state));
      if (row.status !== 'running' || !state || !row.url) {
        // A spawn or stop that a previous hub process did not finish.
        if (state)
          await backend
            .stop(state)
            .catch((err) => log.warn({ err: String(err) }, 'cleanup failed'));
        await deleteServer(db, row.id);
        await revokeServerToken(db, row.userId, row.name);
        this.routes.delete(row.id);
        continue;
      }
      const polled = await backend.poll(state).catch(() => undefined);
      if (polled === undefined) {
        this.routes.set(row); // cannot tell right now: keep serving it
      } else if (polled.running) {
        this.routes.set(row);
        await this.refreshActivity(row);
      } else {
        log.info(
          { server: row.id, owner: row.owner, exitCode: polled.exitCode },
          'server went away',
        );
        await backend.stop(state).catch(() => {});
        await deleteServer(db, row.id);
        await revokeServerToken(db, row.userId, row.name);
        this.routes.delete(row.id);
        await recordActivity(db, {
          type: 'server.died',
          userId: row.userId,
          payload: { server: row.name, exitCode: polled.exitCode },
        });
      }
    }
    for (const [domain, backend] of this.backends) {
      let managed: ManagedServer[] = [];
      try {
        managed = await backend.listManaged();
      } catch (err) {
        log.warn({ domain, err: String(err) }, 'could not list managed servers');
      }
      for (const server of managed) {
        if (known.has(identity(domain, server.state))) continue;
        log.warn(
          { domain, owner: server.owner, server: server.serverName },
          'stopping an orphaned server',
        );
        await backend
          .stop(server.state)
          .catch((err) => log.error({ err: String(err) }, 'orphan stop failed'));
      }
    }
  }

  /** Kernel activity: Jupyter's own last_activity (kernels included) counts as activity. */
  private async refreshActivity(row: ServerRecord): Promise<void> {
    try {
      const res = await jupyterStatus(
        row.url!,
        serverBaseUrl(row.ownerSafeName, row.name),
        this.secretFor(row),
      );
      if (!res.ok) return;
      const status = (await res.json()) as { last_activity?: string };
      if (status.last_activity)
        await setActivity(this.options.db, row.id, new Date(status.last_activity));
    } catch {
      // An unreachable server is the poll's business, not activity's.
    }
  }

  /** Stop servers idle past the limit; their files stay in the workspace. */
  async cullIdle(now = new Date()): Promise<number> {
    if (!this.config.idleCullSeconds) return 0;
    const idle = await idleServers(
      this.options.db,
      new Date(now.getTime() - this.config.idleCullSeconds * 1000),
    );
    for (const server of idle) {
      await this.stop(server, 'idle').catch((err) =>
        this.options.log.warn({ err: String(err) }, 'cull failed'),
      );
    }
    return idle.length;
  }

  /** Run reconcile and cull now and then every `loopSeconds`; a failing round is logged, never fatal. */
  startLoops(): void {
    const round = async () => {
      try {
        await this.reconcile();
        await this.cullIdle();
      } catch (err) {
        this.options.log.error({ err: String(err) }, 'compute loop round failed');
      }
    };
    const tick = () => {
      this.loopRunning = round().finally(() => {
        this.loopRunning = undefined;
        this.timer = setTimeout(tick, this.config.loopSeconds * 1000);
        this.timer.unref();
      });
    };
    tick();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.loopRunning;
    // Spawns end within their timeout, cleaning up after themselves; wait for them.
    await Promise.allSettled([...this.spawns]);
    await Promise.all([...this.backends.values()].map((backend) => backend.close()));
  }
}

/** Jupyter's /api/status, asked with the server's secret (readiness, and kernel activity). */
function jupyterStatus(url: string, baseUrl: string, secret: string): Promise<Response> {
  return fetch(`${url}${baseUrl}api/status`, {
    headers: { authorization: `token ${secret}` },
    signal: AbortSignal.timeout(2000),
  });
}

function withDeadline<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
