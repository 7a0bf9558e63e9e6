/**
 * The hub's one typed configuration object. This is the only module that reads
 * the environment; everything else receives a `HubConfig`.
 * Secrets come from the environment or from a file named by `<NAME>_FILE`, never argv.
 */
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type ComputeDomainConfig, parseComputeDomains } from './compute/domainConfig.ts';
import { type FilesConfig, parseRootVolumes } from './files/config.ts';
import { type JobsConfig, loadJobsConfig } from './jobs/config.ts';

export interface HubConfig {
  /** Address the hub listens on. Env ORRERY_BIND. Default 127.0.0.1 (loopback only). */
  bind: string;
  /** Port the hub listens on. Env ORRERY_PORT. Default 8000 (JupyterHub's). */
  port: number;
  /** Public URL of the hub as users reach it; used for OIDC redirects and links. Env ORRERY_PUBLIC_URL. */
  publicUrl: string;
  /** PostgreSQL connection string. Env DATABASE_URL. Default the local server's `orrery` database. */
  databaseUrl: string;
  /** Apply pending migrations at start instead of refusing to start. Env ORRERY_MIGRATE=1 or `--migrate`. */
  migrateOnStart: boolean;
  /** Log level for pino. Env ORRERY_LOG_LEVEL. Default info. */
  logLevel: string;
  /** Mark cookies Secure (set when the hub is served over https). Env ORRERY_SECURE_COOKIES=1. */
  secureCookies: boolean;
  /**
   * The reverse proxies in front of the hub whose X-Forwarded-* headers are believed: addresses,
   * subnets (`10.1.2.3/32`) or `loopback`. Env ORRERY_TRUST_PROXY, comma-separated; `1` means
   * `loopback` (a proxy on this machine). Default none. Nothing else is trusted: the containers'
   * own networks are private addresses, and a server must not choose the address it is limited by.
   */
  trustProxy: string[];
  /** Lifetime of a browser session, seconds. Env ORRERY_SESSION_SECONDS. Default 24 h (SciServer's token lifetime). */
  sessionSeconds: number;
  /** Lifetime of a per-server token handed to code in a user's container, seconds. Default 24 h. */
  serverTokenSeconds: number;
  /**
   * Check every JSON answer against its route's declared response schema; a mismatch is logged
   * and answered 500, so a test touching the route fails. The test suites turn it on.
   * Env ORRERY_VALIDATE_RESPONSES=1. Default off.
   */
  validateResponses: boolean;
  /**
   * Serve `/hub/metrics` to anyone, as JupyterHub does with `authenticate_prometheus = False`
   * (for a Prometheus that cannot send a token; then only its network should reach the hub).
   * Env ORRERY_METRICS_PUBLIC=1. Default off: the caller needs the `read:metrics` scope.
   */
  metricsPublic: boolean;
  /** Longest lifetime a user may give an API token, seconds. Env ORRERY_MAX_TOKEN_SECONDS. Default 365 days. */
  maxTokenSeconds: number;
  /** New registrations wait for an admin's approval before they can log in. Env ORRERY_REQUIRE_APPROVAL=1. */
  requireApproval: boolean;
  /** Anyone may register (otherwise admins create accounts). Env ORRERY_OPEN_REGISTRATION. Default true. */
  openRegistration: boolean;
  /** argon2id cost; tests lower it. Env ORRERY_ARGON2_MEMORY_KIB / ORRERY_ARGON2_TIME. */
  argon2: { memoryCost: number; timeCost: number };
  /**
   * Wrong passwords for one account from one address before that pair backs off (the owner at
   * another address is not held up). Env ORRERY_LOGIN_FAILURES_BEFORE_BACKOFF. Default 10.
   */
  loginFailuresBeforeBackoff: number;
  /** The first back-off, seconds; it doubles with each further failure. Env ORRERY_LOGIN_BACKOFF_SECONDS. Default 30. */
  loginBackoffSeconds: number;
  /** The longest back-off, seconds. Env ORRERY_LOGIN_BACKOFF_MAX_SECONDS. Default 15 min. */
  loginBackoffMaxSeconds: number;
  /** Login attempts allowed per address, any account, within `loginWindowSeconds`. Env ORRERY_LOGIN_ATTEMPTS_PER_ADDRESS. Default 50. */
  loginAttemptsPerAddress: number;
  /** Env ORRERY_LOGIN_WINDOW_SECONDS. Default 5 min; also how long an address's failures are remembered. */
  loginWindowSeconds: number;
  /** Registrations allowed per address within `registrationWindowSeconds` (each costs an argon2 hash; raise it for a class behind one address). Env ORRERY_REGISTRATIONS_PER_ADDRESS. Default 20. */
  registrationsPerAddress: number;
  /** Env ORRERY_REGISTRATION_WINDOW_SECONDS. Default 1 hour. */
  registrationWindowSeconds: number;
  /** Live API tokens one user may hold (server tokens not counted); above it creating one answers 429. Env ORRERY_MAX_TOKENS_PER_USER. Default 100. */
  maxTokensPerUser: number;
  /** Spawn-progress event streams one user may hold open at once; above it 429. Env ORRERY_MAX_EVENT_STREAMS_PER_USER. Default 10. */
  maxEventStreamsPerUser: number;
  /** WebSockets to servers one user may hold open at once through the proxy; above it 429. Env ORRERY_MAX_WEBSOCKETS_PER_USER. Default 100. */
  maxWebSocketsPerUser: number;
  /** API requests allowed per user per minute. Env ORRERY_API_REQUESTS_PER_MINUTE. Default 1200. */
  apiRequestsPerMinute: number;
  /** Largest JSON request body, bytes. Default 64 KiB. */
  maxBodyBytes: number;
  /** Ordinary groups one user may own; creating one more answers 429. Env ORRERY_MAX_GROUPS_PER_USER. Default 100. */
  maxGroupsPerUser: number;
  /** Unanswered invitations one user may have sent; one more answers 429. Env ORRERY_MAX_PENDING_INVITATIONS_PER_USER. Default 200. */
  maxPendingInvitationsPerUser: number;
  /** Any signed-in user may create a course (false: platform admins only). Env ORRERY_COURSES_OPEN. Default true. */
  coursesOpen: boolean;
  /** How often assignments whose release date came are released, seconds. Env ORRERY_COURSES_RELEASE_SECONDS. Default 60. */
  coursesReleaseSeconds: number;
  /** External OpenID Connect provider, if any (env ORRERY_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET). */
  oidc: OidcConfig | null;
  /** Where the hub keeps local state (its secret key, local servers' files). Env ORRERY_STATE_DIR. Default .orrery */
  stateDir: string;
  /**
   * Key that derives each server's upstream secret (so none is stored). Env ORRERY_SECRET_KEY(_FILE);
   * default: generated once into <stateDir>/secret-key.
   */
  secretKey: string | undefined;
  /**
   * Serve each user's servers from that user's own origin, e.g. `https://{user}.users.example.org`
   * (`{user}` is the leftmost label; the hub must be on a host outside the pattern, its
   * ORRERY_PUBLIC_URL). Code in a server then cannot act with its owner's hub session
   * (docs/security.md, "Browser origin"). Env ORRERY_USER_ORIGIN. Default: none, servers share
   * the hub's origin under /user/.
   */
  userOrigin: string | null;
  /**
   * Pass CORS headers (`Access-Control-Allow-*`) from users' servers through the proxy; they are
   * dropped by default, since Jupyter reflects any Origin. Env ORRERY_USER_SERVER_CORS=1.
   */
  userServerCors: boolean;
  compute: ComputeConfig;
  mydb: MydbConfig;
  /** The files service: root volumes, quarantine and sweep timing (docs/files.md). */
  files: FilesConfig;
  /** Batch jobs: limits per compute domain and dispatch timing (docs/jobs.md). */
  jobs: JobsConfig;
}

/** Users' personal database spaces (docs/mydb.md). */
export interface MydbConfig {
  /**
   * An administrative connection to the science database, where users' MyDB schemas and roles
   * live; never the hub's own database. Env ORRERY_SCIENCE_DATABASE_URL(_FILE). Default (null):
   * the server of DATABASE_URL, database `<hub database>_science` (created at start if missing;
   * see `scienceDatabaseUrlOf`).
   */
  scienceDatabaseUrl: string | null;
  /** Each new space's quota, bytes (CasJobs starts at 0.5 GB). Env ORRERY_MYDB_QUOTA_BYTES. Default 512 MiB. */
  quotaBytes: number;
  /** `temp_file_limit` of users' roles, MiB. Env ORRERY_MYDB_TEMP_FILE_LIMIT_MB. Default 1024. */
  tempFileLimitMb: number;
  /** `work_mem` of users' roles, MiB. Env ORRERY_MYDB_WORK_MEM_MB. Default 64. */
  workMemMb: number;
  /** `statement_timeout` of users' roles, seconds (a backstop; CasJobs' batch limit). Env ORRERY_MYDB_STATEMENT_TIMEOUT_SECONDS. Default 8 h. */
  statementTimeoutSeconds: number;
  /** Quick queries: the time limit the hub enforces, seconds. Env ORRERY_MYDB_QUICK_TIMEOUT_SECONDS. Default 60. */
  quickTimeoutSeconds: number;
  /** Quick queries: rows answered at most (the rest are dropped, `truncated: true`). Env ORRERY_MYDB_QUICK_MAX_ROWS. Default 500000. */
  quickMaxRows: number;
  /** Quick queries one user may have running at once (per hub process). Env ORRERY_MYDB_QUICK_PER_USER. Default 2. */
  quickPerUser: number;
  /** Quick queries: connections kept logged in as one user's role between queries (per hub process; 0 turns keeping off). Env ORRERY_MYDB_QUICK_KEPT_PER_USER. Default 2. */
  quickKeptPerUser: number;
  /** Quick queries: connections kept logged in as users' roles in all (per hub process). Env ORRERY_MYDB_QUICK_KEPT_TOTAL. Default 20. */
  quickKeptTotal: number;
  /** Quick queries: a kept connection unused this long is closed, seconds. Env ORRERY_MYDB_QUICK_KEPT_IDLE_SECONDS. Default 30. */
  quickKeptIdleSeconds: number;
  /** MyScratch tables older than this are dropped, hours. Env ORRERY_MYDB_SCRATCH_MAX_AGE_HOURS. Default 72. */
  scratchMaxAgeHours: number;
  /** Seconds between the rounds that re-check grants and quotas and sweep MyScratch. Env ORRERY_MYDB_SWEEP_SECONDS. Default 300. */
  sweepSeconds: number;
  /** Batch queries: the time limit the hub enforces, seconds. Env ORRERY_MYDB_BATCH_TIMEOUT_SECONDS. Default 8 h. */
  batchTimeoutSeconds: number;
  /** Batch queries one user may have running at once (all hub processes). Env ORRERY_MYDB_BATCH_PER_USER. Default 2. */
  batchPerUser: number;
  /** Batch queries running at once in the deployment. Env ORRERY_MYDB_BATCH_TOTAL. Default 4. */
  batchTotal: number;
  /** Batch queries one user may have waiting. Env ORRERY_MYDB_BATCH_QUEUED_PER_USER. Default 1000. */
  batchQueuedPerUser: number;
  /** How often a runner looks for work and beats its heart, seconds. Env ORRERY_MYDB_BATCH_POLL_SECONDS. Default 5. */
  batchPollSeconds: number;
  /** A running batch query whose heartbeat is older than this belongs to a stopped hub, seconds. Env ORRERY_MYDB_BATCH_STALE_SECONDS. Default 60. */
  batchStaleSeconds: number;
  /** Quick-query sessions close after this long unused, seconds. Env ORRERY_MYDB_SESSION_IDLE_SECONDS. Default 600. */
  sessionIdleSeconds: number;
  /** Sessions one user may hold open (per hub process). Env ORRERY_MYDB_SESSIONS_PER_USER. Default 3. */
  sessionsPerUser: number;
}

/** The science database's URL: the configured one, else the hub's with `_science` added to its name. */
export function scienceDatabaseUrlOf(config: Pick<HubConfig, 'databaseUrl' | 'mydb'>): string {
  if (config.mydb.scienceDatabaseUrl) return config.mydb.scienceDatabaseUrl;
  const url = new URL(config.databaseUrl);
  const hubDatabase = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!hubDatabase)
    throw new Error('DATABASE_URL names no database: set ORRERY_SCIENCE_DATABASE_URL');
  url.pathname = `/${encodeURIComponent(`${hubDatabase}_science`)}`;
  return url.toString();
}

export interface ComputeConfig {
  /**
   * The compute domains users choose from, the first being the default (each a RACM
   * ComputeDomain). Env ORRERY_COMPUTE_DOMAINS (syntax in compute/domainConfig.ts); without it one
   * domain named ORRERY_COMPUTE_DOMAIN ('local') with backend ORRERY_COMPUTE ('auto': Docker when
   * a daemon answers, else local processes) on the hosts ORRERY_DOCKER_HOSTS (comma-separated).
   */
  domains: ComputeDomainConfig[];
  /** Images users may start (the allow-list; each is a RACM DockerImage). Env ORRERY_IMAGES, comma-separated. */
  images: string[];
  /**
   * Those of `images` whose servers run JupyterHub's stock `jupyterhub-singleuser` (e.g.
   * images/singleuser, `orrery/lab-singleuser:latest`): they sign users in through the hub's
   * OAuth endpoints instead of taking the server's secret (docs/jupyterhub.md). Container
   * backends only. Env ORRERY_SINGLEUSER_IMAGES, comma-separated.
   */
  singleuserImages: string[];
  /** Servers one user may run at once (SciServer: 3). Env ORRERY_MAX_SERVERS_PER_USER. */
  maxServersPerUser: number;
  /** Spawns in progress at once across the hub; above it a start answers 429. Env ORRERY_MAX_CONCURRENT_SPAWNS. */
  maxConcurrentSpawns: number;
  /** How long a spawn may take before it is abandoned and cleaned up. Env ORRERY_SPAWN_TIMEOUT_SECONDS. */
  spawnTimeoutSeconds: number;
  /** A server idle this long is stopped, its files kept (SciServer: 3 days). Env ORRERY_IDLE_CULL_SECONDS; 0 disables. */
  idleCullSeconds: number;
  /** How long before culling the user is warned inside JupyterLab. Env ORRERY_CULL_WARNING_SECONDS. */
  cullWarningSeconds: number;
  /** How often the culler and the reconcile loop run. Env ORRERY_COMPUTE_LOOP_SECONDS. */
  loopSeconds: number;
  /** Per-server limits. Env ORRERY_SERVER_MEMORY_MB, ORRERY_SERVER_CPUS, ORRERY_SERVER_PIDS. */
  limits: { memoryBytes: number; cpus: number; pids: number };
  /** The jupyter command of the local-process backend. Env ORRERY_JUPYTER. Default .venv/bin/jupyter if present, else jupyter. */
  jupyterCommand: string;
  /**
   * The one account that may start local servers when the hub does not run as root (local
   * servers then run as the hub's own OS user: single-user development mode). Env
   * ORRERY_LOCAL_USER; default: the first account whose server starts. Ignored as root, where
   * each account's servers run as its own system user.
   */
  localUser: string | null;
  /** Prefix of every container, volume and service name (tests use their own). Env ORRERY_NAME_PREFIX. */
  namePrefix: string;
  /**
   * The hub's URL as code inside a server reaches it. Env ORRERY_HUB_URL_FOR_SERVERS. Default:
   * on a Docker host that is this machine, the hub listens on the user network's gateway and
   * servers use that; elsewhere a host's `hub=` setting, else the public URL.
   */
  hubUrlForServers: string | null;
}

export interface OidcConfig {
  /** Issuer URL, discovered via /.well-known/openid-configuration. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Short name shown on the login button and stored with the external identity. */
  name: string;
  /** Allow plain http to the provider (tests and loopback only). Env ORRERY_OIDC_ALLOW_HTTP=1. */
  allowHttp: boolean;
}

type Env = Record<string, string | undefined>;

function secret(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').trim();
  return env[name];
}

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase());
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** ORRERY_TRUST_PROXY: addresses, subnets or proxy-addr's names; `1` is the proxy on this machine. */
function trustedProxies(env: Env): string[] {
  const raw = (env.ORRERY_TRUST_PROXY ?? '').trim();
  if (['', '0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return [];
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return ['loopback'];
  const entries = list(env, 'ORRERY_TRUST_PROXY', []);
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = net.isIP(address ?? '');
    const prefixOk =
      prefix === undefined ||
      (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!PROXY_NAMES.has(entry) && (!family || !prefixOk || extra !== undefined))
      throw new Error(
        `ORRERY_TRUST_PROXY entries are addresses, subnets (a.b.c.d/n) or loopback, got "${entry}"`,
      );
  }
  return entries;
}

function choice<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw as T))
    throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function loadConfig(env: Env = process.env, argv: string[] = []): HubConfig {
  const port = int(env, 'ORRERY_PORT', 8000);
  const stateDir = env.ORRERY_STATE_DIR ?? '.orrery';
  const bind = env.ORRERY_BIND ?? '127.0.0.1';
  const issuer = env.ORRERY_OIDC_ISSUER;
  return {
    bind,
    port,
    publicUrl: (env.ORRERY_PUBLIC_URL ?? `http://127.0.0.1:${port}`).replace(/\/$/, ''),
    databaseUrl: secret(env, 'DATABASE_URL') ?? 'postgres://127.0.0.1:5432/orrery',
    migrateOnStart: argv.includes('--migrate') || flag(env, 'ORRERY_MIGRATE', false),
    logLevel: env.ORRERY_LOG_LEVEL ?? 'info',
    secureCookies: flag(env, 'ORRERY_SECURE_COOKIES', false),
    trustProxy: trustedProxies(env),
    sessionSeconds: int(env, 'ORRERY_SESSION_SECONDS', 24 * 3600),
    serverTokenSeconds: int(env, 'ORRERY_SERVER_TOKEN_SECONDS', 24 * 3600),
    validateResponses: flag(env, 'ORRERY_VALIDATE_RESPONSES', false),
    metricsPublic: flag(env, 'ORRERY_METRICS_PUBLIC', false),
    maxTokenSeconds: int(env, 'ORRERY_MAX_TOKEN_SECONDS', 365 * 24 * 3600),
    requireApproval: flag(env, 'ORRERY_REQUIRE_APPROVAL', false),
    openRegistration: flag(env, 'ORRERY_OPEN_REGISTRATION', true),
    argon2: {
      memoryCost: int(env, 'ORRERY_ARGON2_MEMORY_KIB', 19456),
      timeCost: int(env, 'ORRERY_ARGON2_TIME', 2),
    },
    loginFailuresBeforeBackoff: int(env, 'ORRERY_LOGIN_FAILURES_BEFORE_BACKOFF', 10),
    loginBackoffSeconds: int(env, 'ORRERY_LOGIN_BACKOFF_SECONDS', 30),
    loginBackoffMaxSeconds: int(env, 'ORRERY_LOGIN_BACKOFF_MAX_SECONDS', 900),
    loginAttemptsPerAddress: int(env, 'ORRERY_LOGIN_ATTEMPTS_PER_ADDRESS', 50),
    loginWindowSeconds: int(env, 'ORRERY_LOGIN_WINDOW_SECONDS', 300),
    registrationsPerAddress: int(env, 'ORRERY_REGISTRATIONS_PER_ADDRESS', 20),
    registrationWindowSeconds: int(env, 'ORRERY_REGISTRATION_WINDOW_SECONDS', 3600),
    maxTokensPerUser: int(env, 'ORRERY_MAX_TOKENS_PER_USER', 100),
    maxEventStreamsPerUser: int(env, 'ORRERY_MAX_EVENT_STREAMS_PER_USER', 10),
    maxWebSocketsPerUser: int(env, 'ORRERY_MAX_WEBSOCKETS_PER_USER', 100),
    apiRequestsPerMinute: int(env, 'ORRERY_API_REQUESTS_PER_MINUTE', 1200),
    maxBodyBytes: int(env, 'ORRERY_MAX_BODY_BYTES', 64 * 1024),
    maxGroupsPerUser: int(env, 'ORRERY_MAX_GROUPS_PER_USER', 100),
    maxPendingInvitationsPerUser: int(env, 'ORRERY_MAX_PENDING_INVITATIONS_PER_USER', 200),
    coursesOpen: flag(env, 'ORRERY_COURSES_OPEN', true),
    coursesReleaseSeconds: int(env, 'ORRERY_COURSES_RELEASE_SECONDS', 60),
    oidc: issuer
      ? {
          issuer,
          clientId: env.ORRERY_OIDC_CLIENT_ID ?? '',
          clientSecret: secret(env, 'ORRERY_OIDC_CLIENT_SECRET') ?? '',
          name: env.ORRERY_OIDC_NAME ?? 'sso',
          allowHttp: flag(env, 'ORRERY_OIDC_ALLOW_HTTP', false),
        }
      : null,
    stateDir,
    secretKey: secret(env, 'ORRERY_SECRET_KEY'),
    userOrigin: env.ORRERY_USER_ORIGIN?.trim() || null,
    userServerCors: flag(env, 'ORRERY_USER_SERVER_CORS', false),
    compute: {
      domains: parseComputeDomains(
        env.ORRERY_COMPUTE_DOMAINS,
        {
          name: env.ORRERY_COMPUTE_DOMAIN ?? 'local',
          backend: choice(
            env,
            'ORRERY_COMPUTE',
            ['auto', 'docker', 'swarm', 'local'] as const,
            'auto',
          ),
          hosts: list(env, 'ORRERY_DOCKER_HOSTS', []),
        },
        { sshAgent: env.SSH_AUTH_SOCK ?? null },
      ),
      images: list(env, 'ORRERY_IMAGES', ['orrery/lab:latest']),
      singleuserImages: singleuserImages(
        list(env, 'ORRERY_SINGLEUSER_IMAGES', []),
        list(env, 'ORRERY_IMAGES', ['orrery/lab:latest']),
      ),
      maxServersPerUser: int(env, 'ORRERY_MAX_SERVERS_PER_USER', 3),
      maxConcurrentSpawns: int(env, 'ORRERY_MAX_CONCURRENT_SPAWNS', 10),
      spawnTimeoutSeconds: int(env, 'ORRERY_SPAWN_TIMEOUT_SECONDS', 120),
      idleCullSeconds: int(env, 'ORRERY_IDLE_CULL_SECONDS', 3 * 24 * 3600),
      cullWarningSeconds: int(env, 'ORRERY_CULL_WARNING_SECONDS', 3600),
      loopSeconds: int(env, 'ORRERY_COMPUTE_LOOP_SECONDS', 30),
      limits: {
        memoryBytes: int(env, 'ORRERY_SERVER_MEMORY_MB', 2048) * 1024 * 1024,
        cpus: Number(env.ORRERY_SERVER_CPUS ?? 1),
        pids: int(env, 'ORRERY_SERVER_PIDS', 512),
      },
      jupyterCommand:
        env.ORRERY_JUPYTER ??
        (existsSync('.venv/bin/jupyter') ? path.resolve('.venv/bin/jupyter') : 'jupyter'),
      localUser: env.ORRERY_LOCAL_USER || null,
      namePrefix: env.ORRERY_NAME_PREFIX ?? 'orrery-',
      hubUrlForServers: env.ORRERY_HUB_URL_FOR_SERVERS ?? null,
    },
    jobs: loadJobsConfig(env),
    mydb: {
      scienceDatabaseUrl: secret(env, 'ORRERY_SCIENCE_DATABASE_URL') || null,
      quotaBytes: int(env, 'ORRERY_MYDB_QUOTA_BYTES', 512 * 1024 * 1024),
      tempFileLimitMb: int(env, 'ORRERY_MYDB_TEMP_FILE_LIMIT_MB', 1024),
      workMemMb: int(env, 'ORRERY_MYDB_WORK_MEM_MB', 64),
      statementTimeoutSeconds: int(env, 'ORRERY_MYDB_STATEMENT_TIMEOUT_SECONDS', 8 * 3600),
      quickTimeoutSeconds: int(env, 'ORRERY_MYDB_QUICK_TIMEOUT_SECONDS', 60),
      quickMaxRows: int(env, 'ORRERY_MYDB_QUICK_MAX_ROWS', 500_000),
      quickPerUser: int(env, 'ORRERY_MYDB_QUICK_PER_USER', 2),
      quickKeptPerUser: int(env, 'ORRERY_MYDB_QUICK_KEPT_PER_USER', 2),
      quickKeptTotal: int(env, 'ORRERY_MYDB_QUICK_KEPT_TOTAL', 20),
      quickKeptIdleSeconds: int(env, 'ORRERY_MYDB_QUICK_KEPT_IDLE_SECONDS', 30),
      scratchMaxAgeHours: int(env, 'ORRERY_MYDB_SCRATCH_MAX_AGE_HOURS', 72),
      sweepSeconds: int(env, 'ORRERY_MYDB_SWEEP_SECONDS', 300),
      batchTimeoutSeconds: int(env, 'ORRERY_MYDB_BATCH_TIMEOUT_SECONDS', 8 * 3600),
      batchPerUser: int(env, 'ORRERY_MYDB_BATCH_PER_USER', 2),
      batchTotal: int(env, 'ORRERY_MYDB_BATCH_TOTAL', 4),
      batchQueuedPerUser: int(env, 'ORRERY_MYDB_BATCH_QUEUED_PER_USER', 1000),
      batchPollSeconds: int(env, 'ORRERY_MYDB_BATCH_POLL_SECONDS', 5),
      batchStaleSeconds: int(env, 'ORRERY_MYDB_BATCH_STALE_SECONDS', 60),
      sessionIdleSeconds: int(env, 'ORRERY_MYDB_SESSION_IDLE_SECONDS', 600),
      sessionsPerUser: int(env, 'ORRERY_MYDB_SESSIONS_PER_USER', 3),
    },
    files: {
      rootVolumes: parseRootVolumes(env.ORRERY_ROOT_VOLUMES, stateDir),
      quarantineDays: int(env, 'ORRERY_FILES_QUARANTINE_DAYS', 7),
      maxVolumesPerUser: int(env, 'ORRERY_FILES_MAX_VOLUMES_PER_USER', 100),
      sweepSeconds: int(env, 'ORRERY_FILES_SWEEP_SECONDS', 3600),
      ...viewsRoot(env.ORRERY_VOLUME_VIEWS_ROOT),
    },
  };
}

/** ORRERY_SINGLEUSER_IMAGES: each one offered (in ORRERY_IMAGES), so a typo stops the hub. */
function singleuserImages(listed: string[], images: string[]): string[] {
  for (const image of listed)
    if (!images.includes(image))
      throw new Error(`ORRERY_SINGLEUSER_IMAGES names "${image}", which is not in ORRERY_IMAGES`);
  return listed;
}

/** ORRERY_VOLUME_VIEWS_ROOT, absolute; absent: `<state>/views` (files/config.ts viewsRootOf). */
function viewsRoot(raw: string | undefined): { volumeViewsRoot?: string } {
  if (!raw?.trim()) return {};
  if (!path.isAbsolute(raw.trim()))
    throw new Error('ORRERY_VOLUME_VIEWS_ROOT must be an absolute path');
  return { volumeViewsRoot: path.resolve(raw.trim()) };
}
