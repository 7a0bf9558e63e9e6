/**
 * Start and stop the real services the browser tests run against: a PostgreSQL database
 * made for this run, the hub, and one JupyterLab per user with that user's hub token.
 * Pure process plumbing; the tests see only `HarnessState` (see state.ts).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import type { HarnessUser } from './state.ts';

const run = promisify(execFile);

/** Repository root (labextension/ui-tests/harness → ../../..). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const VENV = process.env.ORRERY_VENV ?? join(REPO_ROOT, '.venv');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        addr && typeof addr === 'object' ? ok(addr.port) : fail(new Error('no port')),
      );
    });
  });
}

/** Poll `probe` until it returns true, or fail after `ms` with the log's path in the message. */
async function waitFor(what: string, probe: () => Promise<boolean>, ms: number, log: string) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) {
      return;
    }
    await sleep(250);
  }
  throw new Error(`${what} did not start within ${ms / 1000}s; see ${log}`);
}

export interface Service {
  name: string;
  child: ChildProcess;
  log: string;
}

function startProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  logDir: string,
): Service {
  const log = join(logDir, `${name}.log`);
  const out = createWriteStream(log);
  // detached: its own process group, so stop() ends the whole tree (npx/tsx → node).
  const child = spawn(command, args, {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { name, child, log };
}

/** Stop a service's process group: SIGTERM, then SIGKILL after 5 s. */
export async function stop(service: Service): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return;
  }
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!killed) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Where the installed JupyterLab keeps Galata's in-page helper extension. */
function galataExtensionPath(): string {
  const python = join(VENV, 'bin', 'python');
  return execFileSync(
    python,
    [
      '-c',
      'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "galata"))',
    ],
    {
      encoding: 'utf8',
    },
  ).trim();
}

/**
 * The extension folders the labs load besides the installed ones, made in `runDir`:
 * Galata's helper, and this checkout's own build of the Orrery extension when there is one
 * (`npm run build -w labextension`), so a test runs the code it tests even when the venv
 * holds another checkout's wheel. JupyterLab looks in extra paths first.
 */
function extraExtensionsPath(runDir: string): string {
  const dir = join(runDir, 'labextensions');
  if (existsSync(dir)) return dir;
  mkdirSync(join(dir, '@orrery'), { recursive: true });
  const galata = galataExtensionPath();
  for (const entry of readdirSync(galata)) {
    symlinkSync(join(galata, entry), join(dir, entry));
  }
  const built = join(REPO_ROOT, 'labextension', 'orrery_lab', 'labextension');
  if (existsSync(join(built, 'package.json'))) {
    symlinkSync(built, join(dir, '@orrery', 'labextension'));
  }
  return dir;
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

/** Server to make the run's database on; the role defaults to the OS user (trust auth). */
const PG_BASE =
  process.env.ORRERY_TEST_PG ??
  `postgres://${encodeURIComponent(process.env.PGUSER || userInfo().username)}@127.0.0.1:5432`;

export async function createDatabase(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return `${PG_BASE}/${name}`;
}

/**
 * Drop the run's databases and what its hub made server-wide: the science database beside
 * the hub's and the MyDB roles named after the hub's deployment identity.
 */
export async function dropRunDatabases(name: string): Promise<void> {
  let identity: string | undefined;
  const hubDb = new pg.Client({ connectionString: `${PG_BASE}/${name}` });
  try {
    await hubDb.connect();
    identity = (await hubDb.query('SELECT id FROM deployment')).rows[0]?.id;
  } catch {
    identity = undefined;
  } finally {
    await hubDb.end().catch(() => undefined);
  }
  await dropDatabase(name);
  await dropDatabase(`${name}_science`);
  if (!identity) return;
  const client = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT rolname FROM pg_roles WHERE rolname LIKE 'orrery\\_' || $1 || '\\_u\\_%'",
      [identity],
    );
    for (const { rolname } of rows) {
      await client.query(`DROP ROLE ${pg.escapeIdentifier(rolname)}`);
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------
// The hub
// ---------------------------------------------------------------------------

export function hubEnv(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    ORRERY_PORT: String(port),
    ORRERY_LOG_LEVEL: process.env.ORRERY_LOG_LEVEL ?? 'info',
  };
}

export async function startHub(databaseUrl: string, logDir: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = startProcess(
    'hub',
    TSX,
    ['hub/src/main.ts', '--migrate'],
    hubEnv(databaseUrl, port),
    REPO_ROOT,
    logDir,
  );
  // Any HTTP answer from the API (401 without a token) means the hub is serving.
  await waitFor(
    'the hub',
    async () => {
      if (service.child.exitCode !== null) {
        throw new Error(`the hub exited with ${service.child.exitCode}; see ${service.log}`);
      }
      const r = await fetch(`${url}/hub/api/user`);
      return r.status > 0;
    },
    60_000,
    service.log,
  );
  return { service, url, port };
}

/**
 * Load the catalogs (stars, ngc) into the run's science database with the hub's CLI, from
 * `.orrery/data/kstars` (scripts/fetch-catalogs.sh fetches it).
 */
export async function loadCatalogs(databaseUrl: string, hubPort: number): Promise<void> {
  const data = join(REPO_ROOT, '.orrery', 'data', 'kstars');
  if (!existsSync(join(data, 'stars.dat'))) {
    throw new Error(`No catalog data in ${data}: run scripts/fetch-catalogs.sh`);
  }
  await run(TSX, ['hub/src/cli.ts', 'load-catalogs', '--data', data], {
    cwd: REPO_ROOT,
    env: hubEnv(databaseUrl, hubPort),
  });
}

/** Create a hub account and an API token for it with the hub's own CLI. */
export async function createHubUser(
  name: string,
  databaseUrl: string,
  hubPort: number,
): Promise<{ password: string; token: string }> {
  const password = randomBytes(12).toString('hex');
  const env = hubEnv(databaseUrl, hubPort);
  // The CLI takes the password from the environment, keeping it off the process list.
  await run(
    TSX,
    ['hub/src/cli.ts', 'create-user', '--username', name, '--email', `${name}@example.org`],
    { cwd: REPO_ROOT, env: { ...env, ORRERY_ADMIN_PASSWORD: password } },
  );
  const opts = { cwd: REPO_ROOT, env };
  const { stdout } = await run(
    TSX,
    ['hub/src/cli.ts', 'create-token', '--username', name, '--note', 'ui-tests'],
    opts,
  );
  const token = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!token) {
    throw new Error(`create-token printed no token for ${name}`);
  }
  return { password, token };
}

// ---------------------------------------------------------------------------
// JupyterLab, one per user
// ---------------------------------------------------------------------------

export function checkPrerequisites(chromium: string): void {
  const jupyter = join(VENV, 'bin', 'jupyter');
  const missing: string[] = [];
  if (!existsSync(jupyter)) missing.push(`${jupyter} (run scripts/provision-lab.sh)`);
  if (!existsSync(chromium)) missing.push(`${chromium} (apt-get install chromium)`);
  if (!existsSync(TSX)) missing.push(`${TSX} (npm install at the repository root)`);
  if (missing.length) {
    throw new Error(`The UI-test harness is missing: ${missing.join(', ')}`);
  }
}

/**
 * Start JupyterLab for `name`, with the hub URL and the user's hub token in its environment
 * exactly as the spawner sets them in a compute container. Browser access uses a separate
 * Jupyter token (`labToken`), as in production where JupyterHub-style auth fronts the lab.
 */
export async function startLab(
  name: string,
  hubUrl: string,
  hubToken: string,
  runDir: string,
): Promise<{ service: Service; user: Omit<HarnessUser, 'password' | 'hubToken'> }> {
  const port = await freePort();
  const labToken = randomBytes(16).toString('hex');
  const home = join(runDir, `lab-${name}`);
  for (const d of ['work/tests', 'config', 'data', 'runtime', 'settings', 'workspaces']) {
    mkdirSync(join(home, d), { recursive: true });
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(VENV, 'bin')}:${process.env.PATH ?? ''}`,
    ORRERY_HUB_URL: hubUrl,
    ORRERY_API_TOKEN: hubToken,
    // This checkout's server extension (the hub proxy) and `orrery` client, for the lab and
    // its kernels, as the compute image installs them.
    PYTHONPATH: [join(REPO_ROOT, 'labextension'), join(REPO_ROOT, 'client', 'python')]
      .concat(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])
      .join(':'),
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_DATA_DIR: join(home, 'data'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    JUPYTERLAB_SETTINGS_DIR: join(home, 'settings'),
    JUPYTERLAB_WORKSPACES_DIR: join(home, 'workspaces'),
  };
  const service = startProcess(
    `lab-${name}`,
    join(VENV, 'bin', 'jupyter'),
    [
      'lab',
      '--allow-root',
      '--no-browser',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.root_dir=${join(home, 'work')}`,
      `--IdentityProvider.token=${labToken}`,
      '--LabApp.news_url=',
      // Galata drives JupyterLab through window.jupyterapp and its in-page helpers, an
      // extension JupyterLab ships in its `galata` folder (as configure_jupyter_server does).
      '--LabApp.expose_app_in_browser=True',
      `--LabServerApp.extra_labextensions_path=${extraExtensionsPath(runDir)}`,
    ],
    env,
    home,
    runDir,
  );
  const labUrl = `http://127.0.0.1:${port}/`;
  await waitFor(
    `JupyterLab for ${name}`,
    async () => {
      if (service.child.exitCode !== null) {
        throw new Error(`JupyterLab for ${name} exited; see ${service.log}`);
      }
      const r = await fetch(`${labUrl}api/status`, {
        headers: { Authorization: `token ${labToken}` },
      });
      return r.ok;
    },
    90_000,
    service.log,
  );
  // The server extension is loaded and reaches the hub as this user.
  const me = await fetch(`${labUrl}orrery/hub/user`, {
    headers: { Authorization: `token ${labToken}` },
  });
  const body = (await me.json().catch(() => ({}))) as { name?: string; message?: string };
  if (!me.ok || body.name !== name) {
    throw new Error(
      `JupyterLab for ${name}: /orrery/hub/user answered ${me.status} ${JSON.stringify(body)}; ` +
        `see ${service.log}`,
    );
  }
  return { service, user: { name, labUrl, labToken } };
}
