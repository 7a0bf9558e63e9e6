/**
 * Orchestration of users' servers, in one place (JupyterHub's user.py): check limits and
 * RACM, claim the name, start through the backend with a timeout, wait for Jupyter to
 * answer, publish the route, record it; on any failure stop what was started and leave no
 * container, route or row behind. The backend and the proxy never call each other.
 */
import {
  type ManagedServer,
  type SavedState,
  type SpawnerBackend,
  SpawnRefusedError,
  type SpawnRequest,
} from '@orrery/spawner';
import type { AccountRemovers } from '../accounts/removers.ts';
import {
  type AccountRemoval,
  deleteRemoval,
  noteRemovalError,
  pendingRemovals,
} from '../accounts/store.ts';
import { recordActivity } from '../activity/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';
import { issueServerToken, revokeServerToken } from '../auth/tokens.ts';
import type { HubConfig } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, LimitReached, NotFound, Unavailable } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type HubEvents, secondsSince } from '../metrics/events.ts';
import { oauthClientEnv } from '../oauth/clients.ts';
import { mayUse } from '../racm/use.ts';
import { progressKey, SpawnProgress } from './progress.ts';
import { RouteTable } from './routeTable.ts';
import { serverSecret } from './secrets.ts';
import { cullAt, serverBaseUrl } from './serverModel.ts';
import {
  allServers,
  type ClaimRefusal,
  claimServer,
  deleteServer,
  findServer,
  findServerOfOwner,
  idleServers,
  type ServerRecord,
  saveState,
  setActivity,
  transition,
} from './store.ts';
import type { VolumeHosts } from './volumeHosts.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export { serverBaseUrl };

/** One identity per backend resource, to tell a known server from an orphan or a duplicate. */
function identity(domain: string, backend: SpawnerBackend, state: SavedState): string {
  return `${domain}/${backend.identity(state)}`;
}

/** When a start refused for the hub's spawn limit may try again (spawns finish in seconds). */
const SPAWN_RETRY_SECONDS = 10;

/** How long past the spawn timeout a `starting` row of no spawn of this process is kept. */
const STALE_GRACE_MS = 60_000;

/**
 * What the files module does before a Docker server starts (docs/files.md): migrate an old
 * workspace, apply the user's volume view on the domain's hosts, and name the host folders the
 * container binds (its Storage folder at the workspace path, the view at /home/jovyan/volumes).
 */
export interface ServerVolumes {
  prepare(
    user: UserRecord,
    domain: string,
    oldWorkspace: string,
  ): Promise<Pick<SpawnRequest, 'workspaceHostPath' | 'volumesViewHostPath'>>;
}

export interface ComputeOptions {
  config: HubConfig;
  db: Db;
  log: Logger;
  /** One backend per compute domain, by the domain's name; the first is the default. */
  backends: Map<string, SpawnerBackend>;
  /** Derives servers' upstream secrets. */
  key: string;
  /**
   * Prefix of this deployment's resource names (the configured prefix and the deployment's
   * identity, e.g. `orrery-3f9c0a1b-`): workspaces are `<prefix><safe name>-work`.
   */
  resourcePrefix: string;
  /** URL code inside a server uses to reach the hub; set once the hub listens if not configured. */
  hubUrlForServers: string | null;
  /** Every feature's removal of a deleted account, retried here when one was left pending. */
  accountRemovers: AccountRemovers;
  /** Scopes of the token handed to code inside each server (from the `lab: true` routes). */
  serverTokenScopes: Scope[];
  /** Told how each spawn, stop and poll ended and how long it took (for the metrics). */
  events: HubEvents;
  /** Where volume views are applied, per Docker domain (null: no Docker domain). */
  volumeHosts?: VolumeHosts;
}

export class Compute {
  readonly progress = new SpawnProgress();
  readonly routes = new RouteTable(
    (server) => this.secretFor(server),
    (image) => this.isSingleuser(image),
  );
  readonly backends: Map<string, SpawnerBackend>;
  private spawning = 0;
  /** Servers a spawn or stop of this process is acting on: the reconcile loop leaves them be. */
  private readonly inFlight = new Set<number>();
  /** Servers a stop of this process is acting on (kept apart: a stop may meet a spawn). */
  private readonly stopping = new Set<number>();
  /** Background spawns, by user id (an account's removal waits for its user's). */
  private readonly spawns = new Map<Promise<void>, number>();
  private timer: NodeJS.Timeout | undefined;
  /** True until the first reconcile round (run before the hub takes requests) has ended. */
  private firstRound = true;
  private loopRunning: Promise<void> | undefined;
  /** Set by the files module: Docker servers then get their volumes (else the named workspace). */
  private volumes: ServerVolumes | undefined;

  constructor(private readonly options: ComputeOptions) {
    this.backends = options.backends;
    if (this.backends.size === 0) throw new TypeError('Compute needs at least one compute domain');
  }

  /** The mount hosts of the Docker domains, for the files module. */
  get volumeHosts(): VolumeHosts | undefined {
    return this.options.volumeHosts;
  }

  /** Docker servers started from now on bind the user's Storage folder and volume view. */
  useVolumes(volumes: ServerVolumes): void {
    this.volumes = volumes;
  }

  /** Spawns under way in this process (each holds one of the hub's spawn slots). */
  get spawnsInProgress(): number {
    return this.spawning;
  }

  /** The domain a start without one goes to. */
  get defaultDomain(): string {
    return this.backends.keys().next().value!;
  }

  /** The backend of `domain`; Unavailable for a domain no longer configured (its servers stay put). */
  backendOf(domain: string): SpawnerBackend {
    const backend = this.backends.get(domain);
    if (!backend) {
      throw new Unavailable(
        'domain_unconfigured',
        `The compute domain "${domain}" is not configured on this hub`,
      );
    }
    return backend;
  }

  /**
   * What a batch job's container of `user` on `domain` binds besides the named workspace: their
   * Storage folder and volume view, prepared as for a Docker server (on a Swarm domain, on the
   * manager's host, where its jobs are placed), or nothing when the files module does not give
   * Docker servers their volumes.
   */
  async containerVolumes(
    user: UserRecord,
    domain: string,
  ): Promise<Pick<SpawnRequest, 'workspaceHostPath' | 'volumesViewHostPath'>> {
    const kind = this.backendOf(domain).kind;
    if (!this.volumes || (kind !== 'docker' && kind !== 'swarm')) return {};
    return this.volumes.prepare(user, domain, this.workspaceOf(user.safeName));
  }

  /** The workspace volume (or directory name) of the user with `safeName`. */
  workspaceOf(safeName: string): string {
    return `${this.options.resourcePrefix}${safeName}-work`;
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

  /** Whether the user has a server of this name (running or not yet). */
  async hasServer(userId: number, name: string): Promise<boolean> {
    return Boolean(await findServer(this.options.db, userId, name));
  }

  /**
   * Does a server of this image run jupyterhub-singleuser (signing users in through the hub's
   * OAuth) rather than JupyterLab with the server's secret?
   */
  isSingleuser(image: string): boolean {
    return this.config.singleuserImages.includes(image);
  }

  /** When an idle server will be stopped, or null when culling is off. */
  cullAt(server: ServerRecord): Date | null {
    return cullAt(server, this.config.idleCullSeconds);
  }

  /** May the user start `image` on `domain`? Throws Invalid or Forbidden if not. */
  private async checkAllowed(user: UserRecord, image: string, domain: string): Promise<void> {
    if (!this.backends.has(domain)) {
      throw new Invalid(
        'domain_not_offered',
        `There is no compute domain "${domain}"; choose one of: ${[...this.backends.keys()].join(', ')}`,
      );
    }
    if (!this.config.images.includes(image)) {
      throw new Invalid(
        'image_not_offered',
        `The image "${image}" is not offered here; choose one of: ${this.config.images.join(', ')}`,
      );
    }
    const db = this.options.db;
    if (!(await mayUse(db, user.id, 'DockerImage', image))) {
      throw new Forbidden('image_forbidden', `You may not use the image "${image}"`);
    }
    if (!(await mayUse(db, user.id, 'ComputeDomain', domain))) {
      throw new Forbidden('domain_forbidden', `You may not use the compute domain "${domain}"`);
    }
    // The backend's own rule (a single-user local backend admits its owner only).
    const backend = this.backends.get(domain)!;
    if (this.isSingleuser(image) && backend.kind === 'local') {
      throw new Invalid(
        'image_needs_container',
        `The image "${image}" runs in a container; the compute domain "${domain}" runs local processes`,
      );
    }
    await backend.admit?.({ name: user.name, safeName: user.safeName }).catch((err) => {
      throw err instanceof SpawnRefusedError ? new Forbidden('backend_refused', err.message) : err;
    });
  }

  /**
   * Begin starting a server; resolves once the name is claimed (the spawn goes on in the
   * background and reports through `progress`). A service method: it throws domain errors
   * (LimitReached `spawn_busy`, with a retry hint, above the hub's spawn limit; Conflict
   * `server_limit` above the user's, `server_exists` for a name taken), which the error writer
   * maps to HTTP and a dispatcher to a retry. Without `image`, the first one offered.
   * `userOptions` is what the request asked for, kept with the server (JupyterHub's
   * user_options). `serverName` "" is the default server.
   */
  async start(
    user: UserRecord,
    serverName: string,
    options: { image?: string; domain?: string; userOptions?: Record<string, unknown> } = {},
  ): Promise<ServerRecord> {
    const image = options.image ?? this.config.images[0];
    const domain = options.domain ?? this.defaultDomain;
    if (!image) throw new Unavailable('no_image', 'No image is offered on this hub');
    // The spawn slot is taken before the first await: parallel starts cannot all pass the check.
    if (this.spawning >= this.config.maxConcurrentSpawns) {
      this.options.events.emit('spawn', { status: 'failure', reason: 'throttled', seconds: 0 });
      throw new LimitReached(
        'spawn_busy',
        'Too many servers are starting right now; try again in a few seconds',
        { retryAfterSeconds: SPAWN_RETRY_SECONDS },
      );
    }
    this.spawning += 1;
    let handedOver = false;
    try {
      await this.checkAllowed(user, image, domain);
      const claim = await claimServer(this.options.db, {
        userId: user.id,
        name: serverName,
        image,
        domain,
        maxServers: this.config.maxServersPerUser,
        userOptions: options.userOptions ?? {},
      });
      if ('refused' in claim)
        throw refusal(claim.refused, serverName, this.config.maxServersPerUser);
      const { record } = claim;
      this.inFlight.add(record.id);
      this.progress.begin(progressKey(user.id, serverName));
      this.progress.emit(progressKey(user.id, serverName), {
        progress: 5,
        message: 'Server requested',
      });
      const spawn: Promise<void> = this.spawn(record, user)
        .catch((err) =>
          // spawn() reports its own failures; this is a fault in that reporting (a database
          // error during cleanup), which must not become an unhandled rejection.
          this.options.log.error({ server: record.id, err: String(err) }, 'spawn cleanup failed'),
        )
        .finally(() => {
          this.spawning -= 1;
          this.inFlight.delete(record.id);
          this.spawns.delete(spawn);
        });
      this.spawns.set(spawn, user.id);
      handedOver = true;
      return record;
    } finally {
      if (!handedOver) this.spawning -= 1;
    }
  }

  private async spawn(record: ServerRecord, user: UserRecord): Promise<void> {
    const { db, log, config } = this.options;
    const key = progressKey(user.id, record.name);
    const deadline = Date.now() + this.config.spawnTimeoutSeconds * 1000;
    const baseUrl = serverBaseUrl(user.safeName, record.name);
    let backend: SpawnerBackend | undefined;
    let state: SavedState | undefined;
    let pending: Promise<{ url: string; state: SavedState }> | undefined;
    const began = process.hrtime.bigint();
    try {
      backend = this.backendOf(record.domain);
      const token = await issueServerToken(
        db,
        user.id,
        record.name,
        this.options.serverTokenScopes,
        config.serverTokenSeconds,
      );
      const singleuser = this.isSingleuser(record.image);
      const request: SpawnRequest = {
        user: { name: user.name, safeName: user.safeName },
        serverName: record.name,
        image: record.image,
        ...(singleuser ? { server: 'jupyterhub-singleuser' as const } : {}),
        env: this.serverEnvironment(user, record.name, baseUrl, token, singleuser),
        workspaceVolume: this.workspaceOf(user.safeName),
        limits: this.config.limits,
        baseUrl,
        authSecret: this.secretFor(record),
      };
      if (this.volumes && backend.kind === 'docker') {
        // Before the container: Docker binds only folders that exist, and the view must be in
        // place (and the old workspace copied) when JupyterLab first looks.
        this.progress.emit(key, { progress: 10, message: 'Preparing your volumes' });
        Object.assign(
          request,
          await this.volumes.prepare(user, record.domain, request.workspaceVolume),
        );
      }
      this.progress.emit(key, {
        progress: 20,
        message: `Starting ${record.image} on ${record.domain}`,
      });
      pending = backend.start(request);
      const started = await withDeadline(pending, deadline, 'the server did not start in time');
      state = started.state;
      if (!(await saveState(db, record.id, state)))
        throw new Error('the server was stopped while it was starting');
      this.progress.emit(key, { progress: 60, message: 'Waiting for JupyterLab to answer' });
      await this.waitForJupyter(
        backend,
        state,
        started.url,
        baseUrl,
        // jupyterhub-singleuser takes no secret; its unauthenticated /api answers when it is up.
        singleuser ? null : this.secretFor(record),
        deadline,
      );
      const ready = await transition(db, record.id, 'starting', 'running', {
        url: started.url,
        state,
      });
      if (!ready) throw new Error('the server was stopped while it was starting');
      this.routes.set(ready);
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
      this.options.events.emit('spawn', {
        status: 'success',
        reason: '',
        seconds: secondsSince(began),
      });
    } catch (err) {
      // JupyterHub's "error": the spawn was attempted and did not come up.
      this.options.events.emit('spawn', {
        status: 'error',
        reason: '',
        seconds: secondsSince(began),
      });
      const reason = err instanceof Error ? err.message : String(err);
      log.warn({ server: record.id, owner: user.name, reason }, 'spawn failed');
      this.progress.emit(key, {
        progress: 100,
        message: `Could not start the server: ${reason}`,
        failed: true,
      });
      // Whatever was created goes: a start that finishes after the deadline is stopped too.
      if (backend && state) {
        const created = state;
        await backend
          .stop(created)
          .catch((stopErr) => log.error({ err: String(stopErr) }, 'cleanup stop failed'));
      } else if (backend) {
        const late = backend;
        pending
          ?.then((started) => late.stop(started.state))
          .catch((stopErr) => log.warn({ err: String(stopErr) }, 'late cleanup failed'));
      }
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
    user: UserRecord,
    serverName: string,
    baseUrl: string,
    token: string,
    singleuser: boolean,
  ): Record<string, string> {
    const hubUrl = this.options.hubUrlForServers ?? this.options.config.publicUrl;
    return {
      // jupyterhub-singleuser's OAuth client: its token, client id, callback and scopes.
      ...(singleuser ? oauthClientEnv(user, serverName, `${hubUrl}/hub/api`, token) : {}),
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

  /**
   * Poll Jupyter's /api/status with the server's secret until it answers 200. While it does
   * not, the backend is asked now and then whether the server still runs: one that is gone
   * fails the wait at once, with that reason, instead of at the deadline.
   */
  private async waitForJupyter(
    backend: SpawnerBackend,
    state: SavedState,
    url: string,
    baseUrl: string,
    secret: string | null,
    deadline: number,
  ): Promise<void> {
    let last = 'no answer';
    let nextPoll = Date.now() + 500;
    while (Date.now() < deadline) {
      try {
        const res = secret
          ? await jupyterStatus(url, baseUrl, secret)
          : await fetch(`${url}${baseUrl}api`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() >= nextPoll) {
        nextPoll = Date.now() + 500;
        const polled = await backend.poll(state).catch(() => undefined);
        if (polled && !polled.running) {
          const code = polled.exitCode === null ? 'it is gone' : `exit code ${polled.exitCode}`;
          throw new Error(`the server stopped before JupyterLab answered (${code})`);
        }
      }
      // Often: every poll interval is added to the spawn time on average by half.
      await sleep(100);
    }
    throw new Error(`JupyterLab did not answer in time (${last})`);
  }

  /**
   * Stop a server and forget it; its workspace stays. Stopping one that is still starting
   * makes its spawn give up (and remove what it created).
   */
  async stop(server: ServerRecord, reason: 'user' | 'idle' | 'admin' = 'user'): Promise<void> {
    const { db } = this.options;
    const backend = this.backendOf(server.domain);
    const fromRunning = await transition(db, server.id, 'running', 'stopping');
    const claimed = fromRunning ?? (await transition(db, server.id, 'starting', 'stopping'));
    if (!claimed) return; // stopped, or being stopped, by someone else
    this.routes.delete(server.id);
    this.stopping.add(server.id);
    const began = process.hrtime.bigint();
    try {
      if (claimed.state) await backend.stop(backend.loadState(claimed.state));
      this.options.events.emit('stop', { status: 'success', seconds: secondsSince(began) });
    } catch (err) {
      this.options.events.emit('stop', { status: 'failure', seconds: secondsSince(began) });
      // Still running somewhere: keep the row so a later stop (or the reconcile loop) retries.
      if (fromRunning && (await transition(db, server.id, 'stopping', 'running')))
        this.routes.set(claimed);
      throw new Unavailable(
        'stop_failed',
        `The server could not be stopped right now: ${err instanceof Error ? err.message : err}`,
      );
    } finally {
      this.stopping.delete(server.id);
    }
    await deleteServer(db, server.id);
    await revokeServerToken(db, claimed.userId, claimed.name);
    await recordActivity(db, {
      type: reason === 'idle' ? 'server.culled' : 'server.stop',
      userId: claimed.userId,
      payload: { server: claimed.name, reason },
    });
  }

  /**
   * Load the route table from the database, check every server against its backend, stop
   * orphans, and finish accounts' removals. Each server is handled on its own: one that fails
   * is logged and the round goes on.
   */
  async reconcile(): Promise<void> {
    const { db, log } = this.options;
    const rows = await allServers(db);
    const known = new Set<string>();
    for (const row of rows) {
      try {
        await this.reconcileRow(row, known);
      } catch (err) {
        log.warn(
          { server: row.id, owner: row.owner, err: String(err) },
          'reconcile failed for a server',
        );
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
        if (known.has(identity(domain, backend, server.state))) continue;
        try {
          if (await this.claimedByRow(domain, backend, server)) continue;
          log.warn(
            { domain, owner: server.owner, server: server.serverName },
            'stopping an orphaned server',
          );
          await backend.stop(server.state);
        } catch (err) {
          log.error({ domain, owner: server.owner, err: String(err) }, 'orphan stop failed');
        }
      }
    }
    await this.finishRemovals();
    this.firstRound = false;
  }

  /** Check one server row against its backend (see reconcile). */
  private async reconcileRow(row: ServerRecord, known: Set<string>): Promise<void> {
    const { db, log } = this.options;
    const backend = this.backends.get(row.domain);
    if (!backend) {
      // Its domain left the configuration: nothing here can poll or stop it, so it stays.
      if (row.status === 'running' && row.url) this.routes.set(row);
      log.warn({ server: row.id, domain: row.domain }, 'server on an unconfigured domain');
      return;
    }
    const state = row.state ? backend.loadState(row.state) : undefined;
    if (state) known.add(identity(row.domain, backend, state));
    if (this.inFlight.has(row.id) || this.stopping.has(row.id)) return;
    if (row.status === 'starting') {
      // In the first round, before this process takes requests, a starting row is an earlier
      // process's unfinished spawn. Later a start of this process may not have registered its
      // spawn yet: only a start older than any spawn can be is given up then.
      const staleAt =
        new Date(row.startedAt).getTime() + this.config.spawnTimeoutSeconds * 1000 + STALE_GRACE_MS;
      if (!this.firstRound && Date.now() < staleAt) return;
      if (!(await transition(db, row.id, 'starting', 'stopping'))) return;
    }
    if (row.status !== 'running' || !state || !row.url) {
      // A spawn or stop that an earlier hub process did not finish.
      if (state) await backend.stop(state);
      await this.forget(row);
      return;
    }
    const polling = process.hrtime.bigint();
    const polled = await backend.poll(state).catch(() => undefined);
    if (polled) {
      const status = polled.running ? 'running' : 'stopped';
      this.options.events.emit('poll', { status, seconds: secondsSince(polling) });
    }
    if (polled === undefined) {
      this.routes.set(row); // cannot tell right now: keep serving it
    } else if (polled.running) {
      this.routes.set(row);
      await this.refreshActivity(row);
    } else if (await transition(db, row.id, 'running', 'stopping')) {
      log.info({ server: row.id, owner: row.owner, exitCode: polled.exitCode }, 'server went away');
      this.routes.delete(row.id);
      await backend.stop(state);
      await this.forget(row);
      await recordActivity(db, {
        type: 'server.died',
        userId: row.userId,
        payload: { server: row.name, exit_code: polled.exitCode },
      });
    }
  }

  /** Delete a server's row, token and route. */
  private async forget(row: ServerRecord): Promise<void> {
    this.routes.delete(row.id);
    await deleteServer(this.options.db, row.id);
    await revokeServerToken(this.options.db, row.userId, row.name);
  }

  /**
   * Does a server row own this managed server, read afresh (the round's list may predate it)?
   * A row still `starting` owns its server even before the state is saved: the backend found
   * it by its labels, and the spawn saves the state or removes the server itself. A row
   * created after this read names a new resource (start replaces any leftover of the same
   * name), and the stop below is by this resource's id, so no lock need be held across it.
   */
  private async claimedByRow(
    domain: string,
    backend: SpawnerBackend,
    server: ManagedServer,
  ): Promise<boolean> {
    const row = await findServerOfOwner(this.options.db, server.owner, server.serverName);
    if (!row || row.domain !== domain) return false;
    if (row.status === 'starting' || this.inFlight.has(row.id) || this.stopping.has(row.id))
      return true;
    if (!row.state) return false;
    const saved = identity(domain, backend, backend.loadState(row.state));
    return saved === identity(domain, backend, server.state);
  }

  /** Drop every route of `userId` (an account being deleted). */
  forgetRoutesOf(userId: number): void {
    this.routes.deleteUser(userId);
  }

  /**
   * Remove what is left of a deleted account: wait for its spawns to end, stop every server
   * the backends still run for it, and remove its workspace. Rejects when something remains.
   */
  async removeAccountResources(removal: AccountRemoval): Promise<void> {
    this.forgetRoutesOf(removal.userId);
    const spawns = [...this.spawns].filter(([, userId]) => userId === removal.userId);
    await Promise.allSettled(spawns.map(([spawn]) => spawn));
    for (const backend of this.backends.values()) {
      for (const server of await backend.listManaged()) {
        if (server.owner === removal.name) await backend.stop(server.state);
      }
      await backend.removeWorkspace?.(
        { name: removal.name, safeName: removal.safeName },
        this.workspaceOf(removal.safeName),
      );
    }
  }

  /** Finish the removals a failure (or an earlier process) left pending; the name is free after. */
  async finishRemovals(): Promise<void> {
    const { db, log } = this.options;
    for (const removal of await pendingRemovals(db)) {
      try {
        await this.options.accountRemovers.run(removal);
        await deleteRemoval(db, removal.userId);
        log.info({ name: removal.name }, 'account removal finished');
      } catch (err) {
        log.warn({ name: removal.name, err: String(err) }, 'account removal still pending');
        await noteRemovalError(db, removal.userId, String(err));
      }
    }
  }

  /** Kernel activity: Jupyter's own last_activity (kernels included) counts as activity. */
  private async refreshActivity(row: ServerRecord): Promise<void> {
    // jupyterhub-singleuser reports its own activity (JUPYTERHUB_ACTIVITY_URL).
    if (this.isSingleuser(row.image)) return;
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
    await Promise.allSettled([...this.spawns.keys()]);
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

function refusal(
  reason: ClaimRefusal,
  serverName: string,
  max: number,
): NotFound | Conflict | Invalid {
  switch (reason) {
    case 'no-user':
      return new NotFound('user', 'User not found');
    case 'taken':
      // JupyterHub answers 400 to starting a server that already runs (or is pending).
      return new Invalid(
        'server_exists',
        serverName === ''
          ? 'Your default server is already running'
          : `You already have a server named "${serverName}"`,
      );
    case 'limit':
      // A conflict, not a cap to wait out: the user must stop a server first.
      return new Conflict(
        'server_limit',
        `You can run at most ${max} servers at once; stop one first`,
      );
  }
}

function withDeadline<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
