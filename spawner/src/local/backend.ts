/**
 * LocalProcessBackend: Jupyter servers as detached child processes, for a laptop without
 * Docker. There is no isolation between users or from the host; resource limits are not
 * enforced (use a container backend for that). The workspace is `<root>/<safeName>/work`.
 *
 * Processes are started in their own session (detached), so a restarted hub still finds them:
 * each running server has a JSON file `<stateDir>/<name>.json` read by `listManaged`.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { serverEnv, validateSpawnRequest } from '../containerSpec.ts';
import { serverResourceName } from '../names.ts';
import type {
  LocalSavedState,
  ManagedServer,
  PollResult,
  SpawnerBackend,
  SpawnRequest,
} from '../types.ts';

export interface LocalProcessConfig {
  /** Workspaces live under `<workspaceRoot>/<safeName>/work`. */
  workspaceRoot: string;
  /** Directory of the per-server JSON files and logs. */
  stateDir: string;
  /** The `jupyter` executable (default: `jupyter` from PATH, e.g. `.venv/bin/jupyter`). */
  jupyterCommand?: string;
  /** Resource-name prefix (`orrery-`; tests use `orrery-test-`). */
  namePrefix?: string;
  /** Seconds between SIGTERM and SIGKILL on stop. */
  stopGraceSeconds?: number;
  /** Pass `--allow-root` (Jupyter refuses to run as root otherwise); for CI containers. */
  allowRoot?: boolean;
}

/** Contents of a state file: the saved state plus the labels a container would carry. */
interface StateFile extends LocalSavedState {
  owner: string;
  serverName: string;
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
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`ORRERY_RESOURCE_NAME=${name}`);
  } catch {
    return false;
  }
}

export class LocalProcessBackend implements SpawnerBackend<LocalSavedState> {
  readonly kind = 'local' as const;
  private readonly config: Required<LocalProcessConfig>;

  constructor(config: LocalProcessConfig) {
    this.config = {
      jupyterCommand: 'jupyter',
      namePrefix: 'orrery-',
      stopGraceSeconds: 5,
      allowRoot: false,
      ...config,
    };
  }

  async start(request: SpawnRequest): Promise<{ url: string; state: LocalSavedState }> {
    const workspace = path.join(this.config.workspaceRoot, request.user.safeName, 'work');
    validateSpawnRequest(request, workspace);
    if (/[/\\]|^\.\.?$/.test(request.user.safeName))
      throw new TypeError('safeName is not a path segment');
    const name = serverResourceName(this.config.namePrefix, request.user, request.serverName);
    const previous = await this.readStateFile(name);
    if (previous) await this.stop(previous);
    await mkdir(workspace, { recursive: true });
    await mkdir(this.config.stateDir, { recursive: true });
    const port = await freePort();
    const log = await open(path.join(this.config.stateDir, `${name}.log`), 'a');
    // The secret reaches Jupyter as JUPYTER_TOKEN (never on the command line).
    const { ORRERY_SERVER_SECRET: secret, ...env } = serverEnv(request, workspace);
    const child = spawn(
      this.config.jupyterCommand,
      [
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
        ...(this.config.allowRoot ? ['--allow-root'] : []),
      ],
      {
        cwd: workspace,
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: {
          ...process.env,
          ...env,
          JUPYTER_TOKEN: secret,
          ORRERY_RESOURCE_NAME: name,
        },
      },
    );
    const spawned = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    // Close our copy of the log descriptor whatever happens; the child keeps its own.
    const pid = await spawned.finally(() => log.close());
    child.unref();
    const state: LocalSavedState = { backend: 'local', host: 'localhost', name, pid, port };
    const file: StateFile = { ...state, owner: request.user.name, serverName: request.serverName };
    await writeFile(this.statePath(name), JSON.stringify(file, null, 2));
    return { url: `http://127.0.0.1:${port}`, state };
  }

  async stop(state: LocalSavedState): Promise<void> {
    if (await isOurProcess(state.pid, state.name)) {
      this.signalGroup(state.pid, 'SIGTERM');
      const deadline = Date.now() + this.config.stopGraceSeconds * 1000;
      while (Date.now() < deadline && (await isOurProcess(state.pid, state.name))) await sleep(100);
      if (await isOurProcess(state.pid, state.name)) this.signalGroup(state.pid, 'SIGKILL');
    }
    const file = await this.readStateFile(state.name);
    if (!file || file.pid === state.pid) await rm(this.statePath(state.name), { force: true });
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

  async close(): Promise<void> {
    // Nothing held open: servers run detached.
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
