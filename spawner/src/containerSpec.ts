/**
 * Pure translation of a SpawnRequest into Docker's container-create body. No I/O: the Docker
 * backend calls this and sends the result; the unit tests compare its output with literals.
 */
import path from 'node:path';
import type { ContainerCreateOptions, MountSettings } from 'dockerode';
import { serverLabels, serverResourceName } from './names.ts';
import type { SpawnRequest } from './types.ts';

/** Port the Jupyter server listens on inside the container. */
export const CONTAINER_PORT = 8888;

/** Deployment-wide choices that are not part of a single request. */
export interface ContainerSpecOptions {
  /** Prefix of every resource name (`orrery-`; tests use `orrery-test-`). */
  namePrefix: string;
  /** Value of the `org.orrery.deployment` label; listManaged only sees its own deployment. */
  deployment: string;
  /** Docker network the server joins (the Orrery user network, see docker/network.ts). */
  network: string;
  /** Where the workspace volume is mounted; also the Jupyter root directory. */
  workspacePath: string;
  /** `uid:gid` the server runs as; must not be root. */
  user: string;
  /** Host address the Jupyter port is published on (Docker picks the host port). */
  publishHostIp: string;
  /** Where the user's volume view is mounted (`SpawnRequest.volumesViewHostPath`). */
  volumesPath: string;
  /**
   * Host folders a request's bind mounts may come from (the root volumes' and the views'
   * folders). Empty: no bind mount at all, only named volumes.
   */
  bindRoots: string[];
}

export const defaultContainerSpecOptions: ContainerSpecOptions = {
  namePrefix: 'orrery-',
  deployment: 'default',
  network: 'orrery-users',
  workspacePath: '/home/jovyan/work',
  user: '1000:1000',
  publishHostIp: '127.0.0.1',
  volumesPath: '/home/jovyan/volumes',
  bindRoots: [],
};

/**
 * Shell script run as the container command. It is constant: every request-dependent value
 * arrives through the environment, so nothing a user controls is ever parsed by a shell.
 * The secret becomes Jupyter's token through JUPYTER_TOKEN (read by the IdentityProvider) rather
 * than `--IdentityProvider.token=...`, which would show it in the host's process list.
 */
/**
 * The volume view, reachable from the file browser rooted at the workspace: a relative link
 * `volumes` in the workspace, made when the workspace has no entry of that name (a user's
 * own `volumes` is left alone). Relative, so seen through a share it leads nowhere, not round.
 * Batch jobs run it too, so a job finds what a server finds.
 */
export const VOLUMES_LINK_SCRIPT =
  'if [ -n "$ORRERY_VOLUMES_LINK" ] && [ ! -e "$ORRERY_WORKSPACE/volumes" ] &&' +
  ' [ ! -L "$ORRERY_WORKSPACE/volumes" ]; then' +
  ' ln -s "$ORRERY_VOLUMES_LINK" "$ORRERY_WORKSPACE/volumes" 2>/dev/null || true; fi';

export const JUPYTER_START_SCRIPT = [
  VOLUMES_LINK_SCRIPT,
  'export JUPYTER_TOKEN="$ORRERY_SERVER_SECRET"',
  'unset ORRERY_SERVER_SECRET',
  `exec jupyter lab --no-browser --ip=0.0.0.0 --port=${CONTAINER_PORT}` +
    ' --ServerApp.base_url="$ORRERY_BASE_URL" --ServerApp.root_dir="$ORRERY_WORKSPACE"' +
    ' --ServerApp.trust_xheaders=True --ServerApp.allow_remote_access=True',
].join('; ');

/** Names Docker accepts for volumes; rejects paths, so no bind mount can be requested. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Throws a TypeError naming the first invalid field of `request`. */
export function validateSpawnRequest(request: SpawnRequest, workspacePath: string): void {
  const fail = (message: string): never => {
    throw new TypeError(`invalid spawn request: ${message}`);
  };
  if (!request.user.name) fail('user.name is empty');
  if (!request.user.safeName) fail('user.safeName is empty');
  if (!request.image) fail('image is empty');
  if (!/^\/(.*\/)?$/.test(request.baseUrl)) fail('baseUrl must start and end with "/"');
  if (request.authSecret.length < 16) fail('authSecret must be at least 16 characters');
  if (!VOLUME_NAME.test(request.workspaceVolume)) fail('workspaceVolume is not a volume name');
  const { memoryBytes, cpus, pids } = request.limits;
  if (!(Number.isInteger(memoryBytes) && memoryBytes >= 6 * 1024 * 1024)) {
    fail('limits.memoryBytes must be an integer of at least 6 MiB');
  }
  if (!(cpus > 0)) fail('limits.cpus must be positive');
  if (!(Number.isInteger(pids) && pids > 0)) fail('limits.pids must be a positive integer');
  for (const key of Object.keys(request.env)) {
    if (RESERVED_ENV.has(key)) fail(`env key ${key} is reserved`);
    if (!SERVER_ENV_NAMES.has(key)) fail(`env key ${JSON.stringify(key)} is not a server variable`);
  }
  const targets = new Set([workspacePath]);
  for (const volume of request.extraVolumes ?? []) {
    if (!VOLUME_NAME.test(volume.name)) fail(`extra volume ${JSON.stringify(volume.name)}`);
    if (!volume.mountPath.startsWith('/')) fail(`mountPath ${volume.mountPath} is not absolute`);
    if (targets.has(volume.mountPath)) fail(`mountPath ${volume.mountPath} used twice`);
    targets.add(volume.mountPath);
  }
}

/** Variables the backend sets itself; a request may not override them. */
const RESERVED_ENV = new Set([
  'ORRERY_USER',
  'ORRERY_SERVER_NAME',
  'ORRERY_BASE_URL',
  'ORRERY_WORKSPACE',
  'ORRERY_SERVER_SECRET',
  'ORRERY_RESOURCE_NAME',
  'ORRERY_VOLUMES_LINK',
  'JUPYTER_TOKEN',
]);

/**
 * The variables a request may hand a server, and no others: its hub URL and token, its user's
 * and server's names (JupyterHub's names too), the Jupyter configuration path of local servers,
 * and the time zone. An allow-list, so no hub setting (DATABASE_URL, ORRERY_SECRET_KEY, ...)
 * can reach a server by being added to a request; a new server variable is added here on
 * purpose.
 */
export const SERVER_ENV_NAMES: ReadonlySet<string> = new Set([
  'ORRERY_HUB_URL',
  'ORRERY_API_TOKEN',
  'JUPYTERHUB_USER',
  'JUPYTERHUB_SERVER_NAME',
  'JUPYTERHUB_BASE_URL',
  'JUPYTERHUB_SERVICE_PREFIX',
  'JUPYTERHUB_HOST',
  'JUPYTERHUB_API_URL',
  'JUPYTERHUB_API_TOKEN',
  'JUPYTER_CONFIG_PATH',
  'TZ',
]);

/**
 * Environment of the server: the request's (allow-listed by `validateSpawnRequest`) plus
 * Orrery's reserved variables. Nothing of the hub's own environment: container backends pass
 * exactly this, the local backend this plus PATH, HOME and LANG.
 */
export function serverEnv(request: SpawnRequest, workspacePath: string): Record<string, string> {
  return {
    ...request.env,
    ORRERY_USER: request.user.name,
    ORRERY_SERVER_NAME: request.serverName,
    ORRERY_BASE_URL: request.baseUrl,
    ORRERY_WORKSPACE: workspacePath,
    ORRERY_SERVER_SECRET: request.authSecret,
  };
}

/** Where bind mounts may come from and where the volume view goes; none without them. */
export interface BindMountOptions {
  bindRoots: string[];
  volumesPath: string;
}

/**
 * `hostPath` if it is an absolute, normalised folder under one of `roots`; throws a TypeError
 * naming `what` otherwise (so no request can bind the Docker socket or the hub's state).
 */
export function checkBindSource(hostPath: string, roots: string[], what: string): string {
  const normal = path.posix.normalize(hostPath);
  if (!hostPath.startsWith('/') || normal !== hostPath || hostPath.endsWith('/')) {
    throw new TypeError(
      `invalid spawn request: ${what} ${hostPath} is not a normalised absolute path`,
    );
  }
  const allowed = roots.some((root) => hostPath.startsWith(`${path.posix.normalize(root)}/`));
  if (!allowed) {
    throw new TypeError(`invalid spawn request: ${what} ${hostPath} is outside the bind roots`);
  }
  return hostPath;
}

/**
 * Mounts: the workspace read-write (the named volume, or the user's Storage folder when the
 * request names one), the volume view (`rslave`, so mounts made later on the host reach the
 * running server; the server itself cannot mount anything), then the extra volumes. Bind
 * mounts only from under `binds.bindRoots`.
 */
export function serverMounts(
  request: Pick<
    SpawnRequest,
    'workspaceVolume' | 'workspaceHostPath' | 'volumesViewHostPath' | 'extraVolumes'
  >,
  workspacePath: string,
  binds: BindMountOptions = { bindRoots: [], volumesPath: '/home/jovyan/volumes' },
): MountSettings[] {
  const workspace: MountSettings = request.workspaceHostPath
    ? {
        Type: 'bind',
        Source: checkBindSource(request.workspaceHostPath, binds.bindRoots, 'workspaceHostPath'),
        Target: workspacePath,
        ReadOnly: false,
      }
    : { Type: 'volume', Source: request.workspaceVolume, Target: workspacePath, ReadOnly: false };
  const view: MountSettings[] = request.volumesViewHostPath
    ? [
        {
          Type: 'bind',
          Source: checkBindSource(
            request.volumesViewHostPath,
            binds.bindRoots,
            'volumesViewHostPath',
          ),
          Target: binds.volumesPath,
          // Not read-only: Docker would make the submounts read-only too (recursively, on new
          // kernels) at start but not those mounted later. The view's own folders are root's.
          ReadOnly: false,
          BindOptions: { Propagation: 'rslave' },
        },
      ]
    : [];
  return [
    workspace,
    ...view,
    ...(request.extraVolumes ?? []).map(
      (volume): MountSettings => ({
        Type: 'volume',
        Source: volume.name,
        Target: volume.mountPath,
        ReadOnly: volume.readOnly,
      }),
    ),
  ];
}

/**
 * The container-create body for `request`, hardened by default: not privileged, every
 * capability dropped, no-new-privileges, a non-root user, memory (without extra swap), CPU and
 * pids limits, named volumes only (so no Docker socket), the Orrery user network, and the
 * Jupyter port published on `publishHostIp` with a host port Docker picks.
 */
export function buildContainerSpec(
  request: SpawnRequest,
  options: ContainerSpecOptions = defaultContainerSpecOptions,
): ContainerCreateOptions {
  validateSpawnRequest(request, options.workspacePath);
  if (/^0*(:|$)|^root(:|$)/.test(options.user)) {
    throw new TypeError('container user must not be root');
  }
  const port = `${CONTAINER_PORT}/tcp`;
  const env = serverEnv(request, options.workspacePath);
  if (request.volumesViewHostPath) {
    env.ORRERY_VOLUMES_LINK = path.posix.relative(options.workspacePath, options.volumesPath);
  }
  return {
    name: serverResourceName(options.namePrefix, request.user, request.serverName),
    Image: request.image,
    Cmd: ['sh', '-c', JUPYTER_START_SCRIPT],
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: serverLabels(options.deployment, request.user.name, request.serverName),
    User: options.user,
    WorkingDir: options.workspacePath,
    ExposedPorts: { [port]: {} },
    HostConfig: {
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: request.limits.memoryBytes,
      MemorySwap: request.limits.memoryBytes,
      NanoCpus: Math.round(request.limits.cpus * 1e9),
      PidsLimit: request.limits.pids,
      Mounts: serverMounts(request, options.workspacePath, options),
      NetworkMode: options.network,
      PortBindings: { [port]: [{ HostIp: options.publishHostIp, HostPort: '' }] },
      RestartPolicy: { Name: 'no' },
    },
  };
}
