/**
 * Test support: each test file gets its own freshly migrated database on the
 * real PostgreSQL server and a real hub listening on a free port.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeSystemUser, systemUserName } from '@orrery/spawner';
import pg from 'pg';
import { deploymentIdentity, deploymentNames } from '../src/compute/deployment.ts';
import { domain } from '../src/compute/domainConfig.ts';
import { computeModule } from '../src/compute/module.ts';
import type { Compute } from '../src/compute/orchestrator.ts';
import { type HubConfig, loadConfig } from '../src/config.ts';
import { defaultRootVolumes, viewsRootOf } from '../src/files/config.ts';
import { createLogger } from '../src/log.ts';
import { type AnyModule, MODULES } from '../src/modules.ts';
import { type RunningHub, startHub } from '../src/server.ts';

/** The server tests create their databases on. Env ORRERY_TEST_DATABASE_URL, else the local server. */
export const ADMIN_DATABASE_URL =
  process.env.ORRERY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrlFor(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Create an empty database named orrery_test_<label>_<random>; returns its URL and a drop function. */
export async function createTestDatabase(
  label: string,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `orrery_test_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: databaseUrlFor(name),
    name,
    async drop() {
      // A hub made MyDB roles (server-wide, named after its deployment) and a science database.
      const identity = await deploymentOf(databaseUrlFor(name));
      const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.query(`DROP DATABASE IF EXISTS ${name}_science WITH (FORCE)`);
      if (identity) {
        const { rows } = await client.query(
          "SELECT rolname FROM pg_roles WHERE rolname LIKE 'orrery\\_' || $1 || '\\_u\\_%'",
          [identity],
        );
        for (const { rolname } of rows)
          await client.query(`DROP ROLE ${pg.escapeIdentifier(rolname)}`);
      }
      await client.end();
    },
  };
}

/** The deployment identity kept in a hub database, if it got that far. */
async function deploymentOf(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query('SELECT id FROM deployment');
    return rows[0]?.id;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Config for tests: cheap argon2, a free port, and compute kept to itself: local processes,
 * a private state folder and name prefix, so one test hub never touches another's servers.
 */
/** Settings a test changes; compute settings merge with the test defaults one by one. */
export type TestOverrides = Partial<Omit<HubConfig, 'compute'>> & {
  compute?: Partial<HubConfig['compute']>;
};

export function testConfig(databaseUrl: string, overrides: TestOverrides = {}): HubConfig {
  const base = loadConfig({
    ORRERY_PORT: '0',
    DATABASE_URL: databaseUrl,
    ORRERY_ARGON2_MEMORY_KIB: '1024',
    ORRERY_ARGON2_TIME: '1',
  });
  const id = randomBytes(3).toString('hex');
  const stateDir = path.join(tmpdir(), `orrery-test-${id}`);
  return {
    ...base,
    migrateOnStart: true,
    logLevel: 'warn',
    // Every answer a test provokes is checked against its route's declared schema.
    validateResponses: true,
    stateDir,
    // Volumes under the test's own state folder, never the checkout's.
    files: { ...base.files, rootVolumes: defaultRootVolumes(stateDir) },
    secretKey: randomBytes(32).toString('base64url'),
    ...overrides,
    compute: {
      ...base.compute,
      domains: [domain('local', 'local')],
      namePrefix: `orrery-test-${id}-`,
      loopSeconds: 3600,
      ...overrides.compute,
    },
  };
}

export interface TestHub extends RunningHub {
  databaseUrl: string;
  logLines: string[];
  /** The hub's compute service (throws for a hub composed without the compute module). */
  compute(): Compute;
  stop(): Promise<void>;
}

/**
 * A real hub on a fresh database, composed of `modules` (all of them by default); log lines
 * are captured for assertions.
 */
export async function startTestHub(
  label: string,
  overrides: TestOverrides = {},
  modules: readonly AnyModule[] = MODULES,
): Promise<TestHub> {
  const database = await createTestDatabase(label);
  const logLines: string[] = [];
  const config = testConfig(database.url, overrides);
  const log = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const running = await startHub(config, log, modules);
  return {
    ...running,
    databaseUrl: database.url,
    logLines,
    compute: () => running.modules.serviceOf(computeModule),
    async stop() {
      // A test that failed half-way may leave servers running: none outlives its hub here.
      const compute = running.modules.has(computeModule)
        ? running.modules.serviceOf(computeModule)
        : undefined;
      for (const backend of compute?.backends.values() ?? []) {
        for (const server of await backend.listManaged().catch(() => []))
          await backend.stop(server.state).catch(() => undefined);
      }
      await running.close();
      await releaseViews(config);
      await removeServerUsers(config);
      await removeStateDir(config.stateDir);
      await database.drop();
    },
  };
}

/**
 * The system users a hub running as root made for its local servers, removed (they are named
 * after the deployment's resource prefix, known from its database).
 */
async function removeServerUsers(config: HubConfig): Promise<void> {
  if (process.getuid?.() !== 0) return;
  if (!config.compute.domains.some((d) => d.backend === 'local')) return;
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
  try {
    const { resourcePrefix } = deploymentNames(
      config.compute.namePrefix,
      await deploymentIdentity(db),
      [],
    );
    const { rows } = await db.query('SELECT name, safe_name AS "safeName" FROM users');
    for (const user of rows) await removeSystemUser(systemUserName(resourcePrefix, user));
  } finally {
    await db.end();
  }
}

/** The hub's state folder, removed unless something is still mounted under it (kept then). */
async function removeStateDir(stateDir: string): Promise<void> {
  const mountPoints = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '');
  if (mountPoints.some((point) => point === stateDir || point.startsWith(`${stateDir}/`))) return;
  await rm(stateDir, { recursive: true, force: true });
}

/**
 * The activity payload keys in a hub's database that are not snake_case, as "type: key" (every
 * API field is snake_case, the payloads the activity search shows included).
 */
export async function activityKeysNotSnakeCase(databaseUrl: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT DISTINCT a.type || ': ' || key AS found
         FROM activity a, jsonb_object_keys(a.payload) AS key
        WHERE jsonb_typeof(a.payload) = 'object' AND key ~ '[A-Z]'
        ORDER BY 1`,
    );
    return rows.map((row) => row.found);
  } finally {
    await db.end();
  }
}

/**
 * Unmount what a hub mounted for Docker servers' volume views under its test state folder (a
 * real hub keeps them across restarts: running servers still use them).
 */
export async function releaseViews(config: {
  files: Pick<HubConfig['files'], 'volumeViewsRoot'>;
  stateDir: string;
}) {
  const views = viewsRootOf(config.files, config.stateDir);
  for (const folder of [views, `${views}-stage`]) {
    if (!existsSync(folder)) continue;
    await new Promise((resolve) => execFile('umount', ['-R', folder], resolve));
  }
}

/** A small HTTP client that keeps cookies and sends the XSRF header, like a browser page would. */
export class Client {
  private readonly cookies = new Map<string, string>();
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  static withToken(base: string, token: string): Client {
    return new Client(base, token);
  }

  get xsrf(): string | undefined {
    return this.cookies.get('_xsrf');
  }

  /** Headers that carry this client's credentials, for requests made by other means (WebSockets, SSE). */
  authHeaders(): Record<string, string> {
    if (this.token) return { authorization: `token ${this.token}` };
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    if (!this.token && !this.cookies.has('_xsrf') && method !== 'GET')
      await this.request('GET', '/hub/api/');
    const init: RequestInit = {
      method,
      redirect: 'manual',
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `token ${this.token}` } : {}),
        ...(this.cookies.size
          ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
          : {}),
        ...(!this.token && this.xsrf ? { 'x-xsrftoken': this.xsrf } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    };
    const res = await fetch(this.base + path, init);
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      if (/expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name!);
      else this.cookies.set(name!, value.join('='));
    }
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the hub answered
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  get = (path: string) => this.request('GET', path);
  post = (path: string, body?: unknown) => this.request('POST', path, body ?? {});
  patch = (path: string, body: unknown) => this.request('PATCH', path, body);
  delete = (path: string) => this.request('DELETE', path);
}

/** Register and log in a user; returns a cookie client for them. */
export async function signUp(
  base: string,
  username: string,
  password = 'correct horse',
): Promise<Client> {
  const client = new Client(base);
  const registered = await client.post('/hub/api/register', {
    username,
    email: `${encodeURIComponent(username)}@example.org`.replace(/%/g, 'x'),
    password,
  });
  if (registered.status !== 201)
    throw new Error(`register ${username}: ${registered.status} ${registered.text}`);
  const login = await client.post('/hub/api/login', { username, password });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${login.text}`);
  return client;
}
