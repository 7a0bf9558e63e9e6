/**
 * The contract between the Orrery hub and a compute backend.
 *
 * A backend knows how to run one user's Jupyter server somewhere (a Docker host of a compute
 * domain, a Swarm, a local process) and how to find it again. It does not talk to the proxy,
 * the database or the user: the hub orchestrates (spawn with a timeout, wait for HTTP, add the
 * proxy route, record the state; on failure stop and clean up).
 */

/** The program a server runs (`SpawnRequest.server`). */
export type ServerProgram = 'lab' | 'jupyterhub-singleuser';

/** The user a server is started for. */
export interface SpawnUser {
  /** The account name as the hub knows it (any Unicode); recorded in the owner label. */
  name: string;
  /**
   * A name derived by the hub that is safe in Docker names, paths and URLs, and distinct for
   * distinct users. Backends still sanitise it and add a hash of `name` when naming resources.
   */
  safeName: string;
}

/** A named volume mounted into the server in addition to the workspace. */
export interface ExtraVolume {
  name: string;
  mountPath: string;
  readOnly: boolean;
}

/** Resource ceilings enforced by the backend (where it can; see each backend's notes). */
export interface ResourceLimits {
  /** Hard memory limit in bytes. */
  memoryBytes: number;
  /** CPU share as a number of CPUs (0.5 = half a core). */
  cpus: number;
  /** Maximum number of processes/threads in the server (fork-bomb guard). */
  pids: number;
}

/** Everything a backend needs to start one named server of one user. */
export interface SpawnRequest {
  user: SpawnUser;
  /** The server's name; `''` is the user's default server. */
  serverName: string;
  /** Image to run (container backends) - ignored by the local process backend. */
  image: string;
  /**
   * What the server runs: `lab` (default), JupyterLab requiring `authSecret`; or
   * `jupyterhub-singleuser`, JupyterHub's stock single-user server from the image, which signs
   * its users in through the hub (OAuth, `/hub/api/user`) and does not take `authSecret`.
   * Container backends only: the local backend refuses `jupyterhub-singleuser`.
   */
  server?: ServerProgram;
  /** Extra environment for the server. The variables the backend sets itself (ORRERY_USER, ORRERY_SERVER_NAME, ORRERY_BASE_URL, ORRERY_WORKSPACE, ORRERY_SERVER_SECRET, ORRERY_RESOURCE_NAME, ORRERY_VOLUMES_LINK, JUPYTER_TOKEN) are reserved. */
  env: Record<string, string>;
  /**
   * Name of the user's workspace volume (created if missing, never removed by `stop`), mounted
   * at the workspace path. The local backend uses a directory `<root>/<safeName>/work` instead.
   */
  workspaceVolume: string;
  /**
   * Host folder bind-mounted at the workspace path instead of `workspaceVolume` (the user's
   * default Storage volume, `<Storage>/<user id>/<volume id>`). Container backends only; it must
   * lie under the backend's `bindRoots`, otherwise the request is refused.
   */
  workspaceHostPath?: string;
  /**
   * Host folder of the user's volume view (`<views root>/<user id>`), bind-mounted at
   * `/home/jovyan/volumes` with `rslave` propagation: volumes the hub later mounts into it
   * appear in the running server, and go when unmounted. Must lie under `bindRoots`.
   */
  volumesViewHostPath?: string;
  extraVolumes?: ExtraVolume[];
  limits: ResourceLimits;
  /** The path prefix the server answers under, `/user/<name>/<server>/` (leading and trailing slash). */
  baseUrl: string;
  /**
   * A secret the Jupyter server must require on every request. It reaches the server only
   * through the environment (`ORRERY_SERVER_SECRET`) and becomes its IdentityProvider token:
   * requests without it are refused (403 for the API). The proxy adds it upstream.
   */
  authSecret: string;
}

/**
 * What every saved state has: the backend that made it and the host (or cluster) it lives on.
 * The hub stores states as JSON and never looks inside beyond these two fields, so a new
 * backend (Kubernetes, a batch system) brings its own state type without an edit in the hub.
 */
export interface SavedStateBase {
  backend: string;
  host: string;
}

/** Saved state of a server on a Docker host (dockerspawner style: only what finds it again). */
export interface DockerSavedState extends SavedStateBase {
  backend: 'docker';
  /** Name of the compute-domain host the container runs on. */
  host: string;
  containerId: string;
  containerName: string;
}

/** Saved state of a server run as a Docker Swarm service. */
export interface SwarmSavedState extends SavedStateBase {
  backend: 'swarm';
  /** Name of the swarm (manager endpoint) in the configuration. */
  host: string;
  serviceId: string;
  serviceName: string;
}

/** Saved state of a server run as a local process. */
export interface LocalSavedState extends SavedStateBase {
  backend: 'local';
  host: 'localhost';
  /** Resource name (same scheme as container names); keys the state file. */
  name: string;
  pid: number;
  port: number;
}

/** Any backend's saved state; the three built-in ones are DockerSavedState, SwarmSavedState, LocalSavedState. */
export type SavedState = SavedStateBase;

/** Result of `poll`. */
export type PollResult = { running: true } | { running: false; exitCode: number | null };

/** One server found by `listManaged`. */
export interface ManagedServer<S extends SavedState = SavedState> {
  /** `SpawnUser.name` of the owner, read back from the resource's labels. */
  owner: string;
  /** Server name (`''` = default), read back from the labels. */
  serverName: string;
  /** State that `stop`/`poll` accept, equal to what `start` returned for it. */
  state: S;
  running: boolean;
  /** Base URL of the server when it is running and reachable, else null. */
  url: string | null;
}

/**
 * A compute backend. Implementations: DockerBackend (a domain of Docker hosts), SwarmBackend,
 * LocalProcessBackend. All methods may be called from a freshly started hub with state saved by
 * an earlier hub process (or an earlier version of Orrery: see `loadState`).
 */
export interface SpawnerBackend<S extends SavedState = SavedState> {
  /** Backend identifier, equal to `SavedState.backend` of the states it produces. */
  readonly kind: S['backend'];

  /**
   * Start the server described by `request` and resolve once it has been started (the container
   * or process is running and its port is known) - not once Jupyter answers HTTP: the hub
   * waits for that, with its own timeout, and calls `stop` if it gives up.
   *
   * If a server with the same owner and server name is already present (e.g. a stopped
   * container left by a crash) it is replaced. The workspace is created when missing and reused
   * otherwise.
   *
   * Resolves to `url`, the base URL where the Jupyter server answers (scheme, host and port
   * only, e.g. `http://127.0.0.1:41234`; the hub appends `request.baseUrl`), and `state`, which
   * the hub persists and hands back to `poll`/`stop`. Rejects if the server could not be
   * started; anything partially created is removed before rejecting.
   */
  start(request: SpawnRequest): Promise<{ url: string; state: S }>;

  /**
   * Stop the server and remove its container/service/process. The workspace persists.
   * Idempotent: a server that is already stopped or gone ("404 / 409" in Docker terms, a dead
   * pid locally) is success. Rejects only if the server may still be running.
   */
  stop(state: S): Promise<void>;

  /**
   * Report whether the server is running. Never rejects because the server is gone.
   *
   * - `{ running: true }` - the container/service task/process is running. It may not answer
   *   HTTP yet (still starting) or any more (hung); that is the hub's HTTP check to make.
   * - `{ running: false, exitCode: n }` - it exited with status `n` (0 = clean shutdown) and
   *   has not been removed yet.
   * - `{ running: false, exitCode: null }` - it is gone or its status is unknown (removed,
   *   host forgot it, pid no longer ours).
   *
   * Rejects only when the backend itself cannot be reached (e.g. Docker host down), so the hub
   * can tell "server dead" from "cannot tell right now".
   */
  poll(state: S): Promise<PollResult>;

  /**
   * Every server this backend manages (labelled `org.orrery.managed=true` and belonging to this
   * deployment), running or not, on every host. The hub's reconcile loop compares this with its
   * database: it adopts servers it knows and stops orphans.
   */
  listManaged(): Promise<ManagedServer<S>[]>;

  /**
   * A key naming the resource behind `state`, equal for equal resources and distinct across
   * this backend's hosts (e.g. `docker:<host>:<container id>`). The hub compares the servers
   * it knows with those `listManaged` finds by this key; it never reads a state's fields.
   */
  identity(state: S): string;

  /**
   * Remove the workspace of `user` (the volume `workspaceVolume` on every host, or the user's
   * directory), for an account being deleted. Idempotent: a workspace already gone is success.
   * Rejects while a server still uses it. Optional: a backend without workspaces of its own
   * leaves it out.
   */
  removeWorkspace?(user: SpawnUser, workspaceVolume: string): Promise<void>;

  /**
   * Turn persisted JSON into a state for this backend. Accepts the current shape and older
   * ones (documented per backend); throws a TypeError for anything else.
   */
  loadState(raw: unknown): S;

  /**
   * Check that this backend will run servers of `user` at all; rejects with a
   * `SpawnRefusedError` (whose message is for the user) when it will not, e.g. the local
   * backend in single-user mode for anyone but its owner. The hub calls it before recording a
   * start; `start` checks again. Optional: a backend that serves everyone leaves it out.
   */
  admit?(user: SpawnUser): Promise<void>;

  /** Release client resources (sockets). Running servers are not affected. */
  close(): Promise<void>;
}
