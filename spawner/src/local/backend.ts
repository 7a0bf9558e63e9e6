/**
 * LocalProcessBackend: Jupyter servers as detached child processes, for a machine without
 * Docker. The workspace is `<root>/<safeName>/work`; resource limits are not enforced (use a
 * container backend for that). Two modes:
 *
 * - system users (the hub runs as root): each Orrery user's servers run as that user's own
 *   unprivileged system user (systemUsers.ts) in a private mount namespace that covers the
 *   hub database's sockets (launcher.ts), with a firewall rule keeping them off the database's
 *   TCP port (firewall.ts). The workspace is that user's 0700 home; the backend's state
 *   folder (logs, state files) is the hub's alone.
 * - single-user development (the hub is not root): servers run as the hub's own OS user and
 *   could read whatever the hub can, so one Orrery user owns the backend and everyone else is
 *   refused (singleUser.ts).
 *
 * In both modes a server's environment is built from nothing (environment.ts), never the hub's.
 * Processes are started in their own session (detached), so a restarted hub still finds them:
 * each running server has a JSON file `<stateDir>/<name>.json` read by `listManaged`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import {
  access,
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { validateSpawnRequest } from '../containerSpec.ts';
import { serverResourceName } from '../names.ts';
import type {
  LocalSavedState,
  ManagedServer,
  PollResult,
  SpawnerBackend,
  SpawnRequest,
  SpawnUser,
} from '../types.ts';
import { localServerEnv } from './environment.ts';
import { type BlockedDestination, installBlock, removeBlock } from './firewall.ts';
import { type HiddenPaths, launchCommand } from './launcher.ts';
import { probeServerAccess } from './probe.ts';
import { admitSingleUser } from './singleUser.ts';
import {
  ensureGroup,
  ensureSystemUser,
  prepareWorkspace,
  removeSystemUser,
  systemUserName,
} from './systemUsers.ts';

export interface LocalProcessConfig {
  /** Workspaces live under `<workspaceRoot>/<safeName>/work`. */
  workspaceRoot: string;
  /** Directory of the per-server JSON files and logs (mode 0700: the hub's alone). */
  stateDir: string;
  /** The `jupyter` executable (default: `jupyter` from PATH, e.g. `.venv/bin/jupyter`). */
  jupyterCommand?: string;
  /** Resource-name prefix (`orrery-`; tests use `orrery-test-`); also names system users. */
  namePrefix?: string;
  /** Seconds between SIGTERM and SIGKILL on stop. */
  stopGraceSeconds?: number;
  /**
   * Run each Orrery user's servers as their own system user (needs root). Default: when this
   * process runs as root; otherwise the backend is in single-user development mode.
   */
  systemUsers?: boolean;
  /** Single-user mode: the one Orrery user allowed; default the first whose server starts. */
  singleUser?: string | null;
  /** System group of every server user (the firewall matches it). Default `orrery-servers`. */
  serverGroup?: string;
  /**
   * The hub's database, kept out of the servers' reach in system-users mode: TCP addresses and
   * ports (rejected by the firewall) and unix socket paths (covered in their mount namespace).
   */
  database?: { tcp: BlockedDestination[]; sockets: string[] };
  /** Folders every server must read (the Jupyter configuration); checked by `prepare`. */
  sharedPaths?: string[];
  /** The servers' LANG. Default C.UTF-8. */
  lang?: string;
}

/** Contents of a state file: the saved state plus the labels a container would carry. */
interface StateFile extends LocalSavedState {
  owner: string;
  serverName: string;
}

/**
 * `command` as an absolute path, looked up in the hub's PATH when it is a bare name: servers
 * get a PATH of their own, not the hub's, so they must be told where jupyter is.
 */
async function absoluteCommand(command: string): Promise<string> {
  if (command.includes('/')) return path.resolve(command);
  for (const dir of (process.env['PATH'] ?? '').split(':').filter(Boolean)) {
    const candidate = path.resolve(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return command;
}

/** PATH of a server: the jupyter command's folder (the venv's bin) first, then the system's. */
function localServerPath(jupyterCommand: string): string {
  const bin = path.isAbsolute(jupyterCommand) ? [path.dirname(jupyterCommand)] : [];
  return [...bin, '/usr/local/bin', '/usr/bin', '/bin'].join(':');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (the kernel's choice, released just before Jupyter binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `pid` is alive and still the Jupyter server called `name` (not a reused pid). */
async function isOurProcess(pid: number, name: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // ESRCH: gone; EPERM: a pid of another user, so not our server
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false; // zombie
    return (await readEnviron(pid)).split('\0').includes(`ORRERY_RESOURCE_NAME=${name}`);
  } catch {
    return false;
  }
}

/**
 * A process's environment. While it execs (the launch chain execs four times: unshare, sh,
 * setpriv, jupyter) the kernel shows an empty one for a moment; a server's is never empty,
 * so an empty read is waited out (at most half a second) rather than taken as "not ours".
 */
async function readEnviron(pid: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    if (environ !== '' || attempt === 20) return environ;
    await sleep(25);
  }
}

/** Whether `dir` is shared by everyone (sticky and world-writable, like /tmp). */
const isSharedFolder = (mode: number) => (mode & 0o1002) === 0o1002;

/**
 * What to cover of the database's sockets: their folder (robust when PostgreSQL re-creates
 * the socket) unless the folder is shared like /tmp, then only the socket file itself.
 */
async function hiddenPathsFor(sockets: string[]): Promise<HiddenPaths> {
  const directories = new Set<string>();
  const files = new Set<string>();
  for (const socket of sockets) {
    let real: string;
    try {
      real = await realpath(socket);
    } catch {
      continue; // no such socket on this machine
    }
    const folder = path.dirname(real);
    if (isSharedFolder((await stat(folder)).mode)) files.add(real);
    else directories.add(folder);
  }
  return { directories: [...directories], files: [...files] };
}

export class LocalProcessBackend implements SpawnerBackend<LocalSavedState> {
  readonly kind = 'local' as const;
  private readonly config: Required<LocalProcessConfig>;
  private prepared: Promise<void> | undefined;
  private serverGid = 0;
  private hidden: HiddenPaths = { directories: [], files: [] };
  private blocking = false;

  constructor(config: LocalProcessConfig) {
    this.config = {
      jupyterCommand: 'jupyter',
      namePrefix: 'orrery-',
      stopGraceSeconds: 5,
      systemUsers: process.getuid?.() === 0,
      singleUser: null,
      serverGroup: 'orrery-servers',
      database: { tcp: [], sockets: [] },
      sharedPaths: [],
      lang: 'C.UTF-8',
      ...config,
    };
  }

  /** `system-users` (isolated, the hub is root) or `single-user` (development only). */
  get mode(): 'system-users' | 'single-user' {
    return this.config.systemUsers ? 'system-users' : 'single-user';
  }

  /** The firewall chain of this deployment (iptables allows 28 characters). */
  private get chain(): string {
    const digest = createHash('sha256')
      .update(JSON.stringify([this.config.namePrefix, path.resolve(this.config.stateDir)]))
      .digest('hex')
      .slice(0, 8);
    return `ORRERY-${digest}`;
  }

  /**
   * Set up once (the hub calls it at start; `start` calls it too): the state folder, and in
   * system-users mode the server group, the workspace root, a check that an unprivileged
   * server user can run jupyter and reach what it needs but not the database's sockets, and
   * the firewall block. Rejects with a message that says what to fix.
   */
  prepare(): Promise<void> {
    this.prepared ??= this.setUp();
    return this.prepared;
  }

  private async setUp(): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
    await chmod(this.config.stateDir, 0o700);
    this.config.jupyterCommand = await absoluteCommand(this.config.jupyterCommand);
    if (!this.config.systemUsers) return;
    if (process.getuid?.() !== 0) {
      throw new Error('running each server as its own system user needs the hub to run as root');
    }
    await mkdir(this.config.workspaceRoot, { recursive: true });
    await chmod(this.config.workspaceRoot, 0o711);
    this.serverGid = await ensureGroup(this.config.serverGroup);
    this.hidden = await hiddenPathsFor(this.config.database.sockets);
    await probeServerAccess({
      hidden: this.hidden,
      gid: this.serverGid,
      jupyterCommand: this.config.jupyterCommand,
      traverse: [this.config.workspaceRoot],
      read: this.config.sharedPaths,
      sockets: this.config.database.sockets,
      env: {
        PATH: localServerPath(this.config.jupyterCommand),
        HOME: '/nonexistent',
        LANG: this.config.lang,
      },
    });
    if (this.config.database.tcp.length > 0) {
      await installBlock(this.chain, this.serverGid, this.config.database.tcp);
      this.blocking = true;
    }
  }

  async admit(user: SpawnUser): Promise<void> {
    if (this.config.systemUsers) return;
    await admitSingleUser(this.config.stateDir, this.config.singleUser, user);
  }

  async start(request: SpawnRequest): Promise<{ url: string; state: LocalSavedState }> {
    const workspace = path.join(this.config.workspaceRoot, request.user.safeName, 'work');
    validateSpawnRequest(request, workspace);
    // Local servers run the hub's own JupyterLab; a single-user image needs a container.
    if (request.server === 'jupyterhub-singleuser')
      throw new TypeError('invalid spawn request: the local backend runs JupyterLab only');
    if (/[/\\]|^\.\.?$/.test(request.user.safeName))
      throw new TypeError('safeName is not a path segment');
    await this.prepare();
    await this.admit(request.user);
    const name = serverResourceName(this.config.namePrefix, request.user, request.serverName);
    const previous = await this.readStateFile(name);
    if (previous) await this.stop(previous);
    const identity = this.config.systemUsers
      ? await ensureSystemUser(
          systemUserName(this.config.namePrefix, request.user),
          this.serverGid,
          workspace,
        )
      : null;
    if (identity) await prepareWorkspace(workspace, identity);
    else await mkdir(workspace, { recursive: true, mode: 0o700 });
    const port = await freePort();
    const log = await open(path.join(this.config.stateDir, `${name}.log`), 'a', 0o600);
    const jupyterArgs = [
      'lab',
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.base_url=${request.baseUrl}`,
      `--ServerApp.root_dir=${workspace}`,
      // Browsers reach it through the hub's proxy under the hub's host or, with users' own
      // origins, under alice.users.example.org: any Host, since only the proxy holds the token.
      '--ServerApp.allow_remote_access=True',
    ];
    const command = identity
      ? launchCommand(this.hidden, identity, this.config.jupyterCommand, jupyterArgs)
      : { file: this.config.jupyterCommand, args: jupyterArgs };
    const child = spawn(command.file, command.args, {
      cwd: workspace,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: localServerEnv(request, workspace, name, {
        path: localServerPath(this.config.jupyterCommand),
        lang: this.config.lang,
      }),
    });
    const spawned = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    // Close our copy of the log descriptor whatever happens; the child keeps its own.
    const pid = await spawned.finally(() => log.close());
    child.unref();
    const state: LocalSavedState = { backend: 'local', host: 'localhost', name, pid, port };
    const file: StateFile = { ...state, owner: request.user.name, serverName: request.serverName };
    await writeFile(this.statePath(name), JSON.stringify(file, null, 2), { mode: 0o600 });
    return { url: `http://127.0.0.1:${port}`, state };
  }

  async stop(state: LocalSavedState): Promise<void> {
    if (await isOurProcess(state.pid, state.name)) {
      this.signalGroup(state.pid, 'SIGTERM');
      const deadline = Date.now() + this.config.stopGraceSeconds * 1000;
      while (Date.now() < deadline && (await isOurProcess(state.pid, state.name))) await sleep(100);
      if (await isOurProcess(state.pid, state.name)) this.signalGroup(state.pid, 'SIGKILL');
      // The leader can exit before its kernels and terminals do: stopped means the group is gone.
      while (Date.now() < deadline && groupAlive(state.pid)) await sleep(50);
      if (groupAlive(state.pid)) this.signalGroup(state.pid, 'SIGKILL');
    }
    const file = await this.readStateFile(state.name);
    if (!file || file.pid === state.pid) await rm(this.statePath(state.name), { force: true });
  }

  identity(state: LocalSavedState): string {
    return `local:${state.name}:${state.pid}`;
  }

  async poll(state: LocalSavedState): Promise<PollResult> {
    return (await isOurProcess(state.pid, state.name))
      ? { running: true }
      : { running: false, exitCode: null };
  }

  async listManaged(): Promise<ManagedServer<LocalSavedState>[]> {
    let entries: string[];
    try {
      entries = await readdir(this.config.stateDir);
    } catch {
      return [];
    }
    const found: ManagedServer<LocalSavedState>[] = [];
    for (const entry of entries.sort()) {
      if (!entry.endsWith('.json') || !entry.startsWith(this.config.namePrefix)) continue;
      const file = await this.readStateFile(entry.slice(0, -'.json'.length));
      if (!file) continue;
      const state = this.loadState(file);
      const running = await isOurProcess(state.pid, state.name);
      found.push({
        owner: file.owner,
        serverName: file.serverName,
        state,
        running,
        url: running ? `http://127.0.0.1:${state.port}` : null,
      });
    }
    return found;
  }

  /**
   * Accepts `{backend: 'local', host, name, pid, port}` and the older `{pid, port, name}`
   * (no backend/host); ignores extra fields such as those of a state file.
   */
  loadState(raw: unknown): LocalSavedState {
    if (typeof raw !== 'object' || raw === null)
      throw new TypeError('local state must be an object');
    const record = raw as Record<string, unknown>;
    if (record['backend'] !== undefined && record['backend'] !== 'local') {
      throw new TypeError(`not a local state: backend ${String(record['backend'])}`);
    }
    const { pid, port, name } = record;
    if (!Number.isInteger(pid) || (pid as number) <= 0)
      throw new TypeError('local state has no pid');
    if (!Number.isInteger(port) || (port as number) <= 0)
      throw new TypeError('local state has no port');
    if (typeof name !== 'string' || name === '') throw new TypeError('local state has no name');
    return { backend: 'local', host: 'localhost', name, pid: pid as number, port: port as number };
  }

  /**
   * Remove `user`'s workspace folder and, in system-users mode, their system user (for an
   * account being deleted). Idempotent; rejects while one of their servers still runs.
   */
  async removeWorkspace(user: SpawnUser): Promise<void> {
    if (/[/\\]|^\.\.?$/.test(user.safeName)) throw new TypeError('safeName is not a path segment');
    const running = (await this.listManaged()).some(
      (server) => server.owner === user.name && server.running,
    );
    if (running) throw new Error(`a server of ${user.name} still uses the workspace`);
    await rm(path.join(this.config.workspaceRoot, user.safeName), { recursive: true, force: true });
    if (this.config.systemUsers)
      await removeSystemUser(systemUserName(this.config.namePrefix, user));
  }

  /**
   * Servers run detached and outlive the hub. The firewall block goes only when none of them
   * runs any more (a restarted hub installs it again before adopting them).
   */
  async close(): Promise<void> {
    if (!this.blocking) return;
    if ((await this.listManaged()).some((server) => server.running)) return;
    await removeBlock(this.chain, this.serverGid);
    this.blocking = false;
  }

  private statePath(name: string): string {
    return path.join(this.config.stateDir, `${name}.json`);
  }

  private async readStateFile(name: string): Promise<StateFile | null> {
    try {
      return JSON.parse(await readFile(this.statePath(name), 'utf8')) as StateFile;
    } catch {
      return null;
    }
  }

  /** Signal the server's whole process group (it leads one: started detached). */
  private signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/** Whether any process of the group led by `pid` is still alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
