/**
 * Compute: spawn latency, proxy throughput, WebSocket and kernel round trips, proxy memory,
 * each next to a floor measured in the same run on the same machine:
 *
 * 1. Spawn: start request → JupyterLab answering api/status through the proxy, N sequential,
 *    versus the same container spec started bare (buildContainerSpec + dockerode) answering
 *    directly; then 20 users spawning at once, versus 20 bare containers at once.
 * 2. Proxy: small and 1 MiB GETs at concurrency 1/10/50 through the Orrery proxy, straight to
 *    Jupyter, and through configurable-http-proxy; kernel_info round trips over the kernel
 *    WebSocket through each; hub RSS before and after 2,000 WebSocket opens and closes.
 * 3. Kernels: kernel_info p50 through the proxy to orrery/lab (TCP_NODELAY websockets) versus
 *    the same image with ORRERY_WS_NODELAY=0 (stock Nagle).
 *
 * The hub runs as a child process (its CPU and RSS are its own), on a throw-away database,
 * with the Docker backend and everything named `orrery-bench-`; all of it is removed at the end
 * and the run fails if any container or volume is left.
 * Run: npx tsx bench/compute.ts   (as root, Docker and orrery/lab:latest present)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAccount } from '../hub/src/accounts/service.ts';
import { createToken } from '../hub/src/auth/tokens.ts';
import { deploymentIdentity, deploymentNames } from '../hub/src/compute/deployment.ts';
import { domain } from '../hub/src/compute/domainConfig.ts';
import { serverSecret } from '../hub/src/compute/secrets.ts';
import { findServer } from '../hub/src/compute/store.ts';
import { type HubConfig, loadConfig } from '../hub/src/config.ts';
import { createPool, type Db, inTransaction } from '../hub/src/db/pool.ts';
import {
  BENCH_PREFIX,
  bareSpawn,
  benchLeftovers,
  buildStockImage,
  connectLocalDocker,
  sweep,
} from './support/computeFloors.ts';
import {
  cpuSeconds,
  followProgress,
  httpLoad,
  kernelRoundTrips,
  type LoadResult,
  percentiles,
  type RoundTripResult,
  residentBytes,
  untilOk,
  websocketChurn,
} from './support/computeLoad.ts';
import { forkHub, type HubProcess, startChp } from './support/computeProcesses.ts';
import { createBenchDatabase } from './support/database.ts';
import { machine, msSince, RESULTS_DIR, ratio, writeResult } from './support/stats.ts';

const IMAGE = 'orrery/lab:latest';
const STOCK_IMAGE = 'orrery-bench/lab-stock:latest';
/** This run's user network: named after its database's deployment identity, read once the hub migrated it. */
let NETWORK = '';
const SEQUENTIAL = Number(process.env.ORRERY_BENCH_SPAWNS ?? 5);
const CONCURRENT = Number(process.env.ORRERY_BENCH_CONCURRENT_SPAWNS ?? 20);
/** Seconds per throughput measurement (per target, payload and concurrency). */
const LOAD_SECONDS = Number(process.env.ORRERY_BENCH_LOAD_SECONDS ?? 4);
const CONCURRENCIES = [1, 10, 50];
/**
 * Which phases run (comma list, default all): spawn, concurrent, http, websocket, memory,
 * kernels. `ORRERY_BENCH_PHASES=http,kernels` measures only the proxy against its floors.
 */
const ALL_PHASES = ['spawn', 'concurrent', 'http', 'websocket', 'memory', 'kernels'] as const;
type Phase = (typeof ALL_PHASES)[number];
const PHASES = new Set(
  (process.env.ORRERY_BENCH_PHASES ?? ALL_PHASES.join(','))
    .split(',')
    .map((phase) => phase.trim())
    .filter(Boolean),
);
for (const phase of PHASES)
  if (!(ALL_PHASES as readonly string[]).includes(phase))
    throw new Error(`ORRERY_BENCH_PHASES: unknown phase "${phase}" (${ALL_PHASES.join(', ')})`);
const runs = (phase: Phase) => PHASES.has(phase);
/**
 * Rounds of the HTTP matrix and of the kernel round trips (default 1). Each round rotates the
 * order of the targets; a cell reports the median over rounds, and its ratios are the medians
 * of the per-round ratios (each against the floor measured seconds apart in the same round).
 */
const ROUNDS = Math.max(1, Number(process.env.ORRERY_BENCH_ROUNDS ?? 1));
const ROUND_TRIPS = 200;
const CHURN = 2000;
const SPAWN_TARGET = 1.1;
const KERNEL_TARGET_MS = 5;

const log = (line: string) => console.log(`compute: ${line}`);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

interface BenchUser {
  name: string;
  safeName: string;
  id: number;
  auth: Record<string, string>;
}

function hubConfig(databaseUrl: string): HubConfig {
  const base = loadConfig({
    ORRERY_PORT: '0',
    DATABASE_URL: databaseUrl,
    ORRERY_ARGON2_MEMORY_KIB: '1024',
    ORRERY_ARGON2_TIME: '1',
  });
  return {
    ...base,
    migrateOnStart: true,
    logLevel: 'warn',
    apiRequestsPerMinute: 1_000_000,
    stateDir: path.join(tmpdir(), `orrery-bench-${randomBytes(3).toString('hex')}`),
    secretKey: randomBytes(32).toString('base64url'),
    compute: {
      ...base.compute,
      domains: [domain('local', 'docker')],
      images: [IMAGE, STOCK_IMAGE],
      namePrefix: BENCH_PREFIX,
      maxConcurrentSpawns: 50,
      maxServersPerUser: 3,
      idleCullSeconds: 0,
      spawnTimeoutSeconds: 180,
      // One reconcile at start, none during the run.
      loopSeconds: 3600,
    },
  };
}

async function createUsers(db: Db, config: HubConfig, names: string[]): Promise<BenchUser[]> {
  const records = await inTransaction(db, async (client) => {
    const made = [];
    for (const username of names)
      made.push(
        await createAccount(client, config, { username, approved: true }, { type: 'user.create' }),
      );
    return made;
  });
  return Promise.all(
    records.map(async (user) => {
      const { token } = await createToken(db, user.id, {
        scopes: ['servers', 'access:servers'],
        seconds: 3600,
      });
      return {
        name: user.name,
        safeName: user.safeName,
        id: user.id,
        auth: { authorization: `token ${token}` },
      };
    }),
  );
}

/** POST a server, follow its progress, then GET api/status through the proxy until 200. */
async function hubSpawn(
  hub: HubProcess,
  user: BenchUser,
  server: string,
  image = IMAGE,
): Promise<{ ms: number; url: string }> {
  const started = process.hrtime.bigint();
  const res = await fetch(`${hub.url}/hub/api/users/${user.name}/servers/${server}`, {
    method: 'POST',
    headers: { ...user.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ image }),
  });
  const body = (await res.json()) as { url: string; progress_url: string; message?: string };
  if (res.status !== 202)
    throw new Error(`start ${user.name}/${server}: ${res.status} ${body.message}`);
  const progress = await followProgress(`${hub.url}${body.progress_url}`, user.auth);
  if (!progress.ready) throw new Error(`spawn ${user.name}/${server} failed: ${progress.message}`);
  await untilOk(`${hub.url}${body.url}api/status`, user.auth, 60_000);
  return { ms: msSince(started), url: body.url };
}

async function hubStop(hub: HubProcess, user: BenchUser, server: string): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await fetch(`${hub.url}/hub/api/users/${user.name}/servers/${server}`, {
    method: 'DELETE',
    headers: user.auth,
  });
  await res.arrayBuffer();
  if (res.status !== 204 && res.status !== 404)
    throw new Error(`stop ${user.name}/${server}: HTTP ${res.status}`);
  return msSince(started);
}

const bareOptions = (config: HubConfig, index: number) => ({
  index,
  image: IMAGE,
  network: NETWORK,
  limits: config.compute.limits,
});

async function spawnLatency(hub: HubProcess, config: HubConfig, user: BenchUser) {
  const docker = connectLocalDocker();
  log(`spawn: warm-up, then ${SEQUENTIAL} sequential through the hub and bare, alternating`);
  await hubSpawn(hub, user, 'warm');
  await hubStop(hub, user, 'warm');
  await (await bareSpawn(docker, bareOptions(config, 0))).stop();
  const hubMs: number[] = [];
  const bareMs: number[] = [];
  const stopMs: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const viaHub = async () => {
      hubMs.push((await hubSpawn(hub, user, 's1')).ms);
      stopMs.push(await hubStop(hub, user, 's1'));
    };
    const bare = async () => {
      const server = await bareSpawn(docker, bareOptions(config, i));
      bareMs.push(server.ms);
      await server.stop();
    };
    // Alternate who goes first so drift in the machine's load falls on both.
    if (i % 2 === 0) await viaHub().then(bare);
    else await bare().then(viaHub);
    log(
      `  ${i + 1}/${SEQUENTIAL}: hub ${round(hubMs.at(-1)!)} ms, bare ${round(bareMs.at(-1)!)} ms`,
    );
  }
  const viaHub = percentiles(hubMs);
  const bare = percentiles(bareMs);
  return {
    n: SEQUENTIAL,
    hubMs: viaHub,
    bareMs: bare,
    stopMs: percentiles(stopMs),
    ratioP50: ratio(viaHub.p50, bare.p50),
    addedP50Ms: round(viaHub.p50 - bare.p50),
    target: `hub p50 <= ${SPAWN_TARGET} x bare p50`,
    meetsTarget: viaHub.p50 <= SPAWN_TARGET * bare.p50,
    samples: { hub: hubMs.map((ms) => round(ms)), bare: bareMs.map((ms) => round(ms)) },
  };
}

async function concurrentSpawns(hub: HubProcess, config: HubConfig, users: BenchUser[]) {
  const docker = connectLocalDocker();
  log(`spawn: ${users.length} users at once through the hub`);
  let started = process.hrtime.bigint();
  const outcomes = await Promise.allSettled(users.map((user) => hubSpawn(hub, user, 'c')));
  const hubWallMs = msSince(started);
  const failures = outcomes
    .filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
    .map((outcome) => String(outcome.reason));
  const hubMs = outcomes.flatMap((outcome) =>
    outcome.status === 'fulfilled' ? [outcome.value.ms] : [],
  );
  await Promise.all(users.map((user) => hubStop(hub, user, 'c').catch(() => 0)));

  log(`spawn: ${users.length} bare containers at once`);
  started = process.hrtime.bigint();
  const bare = await Promise.allSettled(
    users.map((_, index) => bareSpawn(docker, bareOptions(config, 100 + index))),
  );
  const bareWallMs = msSince(started);
  await Promise.all(
    bare.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.stop() : undefined)),
  );
  const bareMs = bare.flatMap((outcome) =>
    outcome.status === 'fulfilled' ? [outcome.value.ms] : [],
  );
  const viaHub = percentiles(hubMs);
  const floor = percentiles(bareMs);
  return {
    users: users.length,
    succeeded: hubMs.length,
    allSucceeded: failures.length === 0,
    failures,
    hubWallMs: round(hubWallMs),
    hubMs: viaHub,
    bareSucceeded: bareMs.length,
    bareWallMs: round(bareWallMs),
    bareMs: floor,
    ratioP50: ratio(viaHub.p50, floor.p50),
    ratioP95: ratio(viaHub.p95, floor.p95),
  };
}

type Target = { base: string; headers: Record<string, string> };
interface Targets {
  orrery: Target;
  direct: Target;
  chp: Target;
  /** Straight to the container's own address on the user network (no docker-proxy). */
  bridge: Target;
  /** The Orrery proxy with its route pointed at the container's own address. */
  orreryBridge: Target;
}
type TargetName = keyof Targets;
type MainTarget = 'orrery' | 'direct' | 'chp';
const TARGETS: MainTarget[] = ['orrery', 'direct', 'chp'];
/**
 * With ORRERY_BENCH_BRIDGE=1 the HTTP matrix also measures the container's own address, straight
 * and through the proxy (route re-pointed for that measurement only). The hub's route already
 * points there for servers on this machine, so by default these would repeat "direct".
 */
const HTTP_TARGETS: TargetName[] =
  process.env.ORRERY_BENCH_BRIDGE === '1' ? [...TARGETS, 'orreryBridge', 'bridge'] : [...TARGETS];

/** One target in one cell: medians over the rounds, and each round's figure. */
interface CellResult {
  concurrency: number;
  rounds: number;
  requests: number;
  errors: number;
  firstError?: string;
  reqPerSec: number;
  mbPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  cpuMsPerRequest?: number;
  reqPerSecRounds: number[];
}
interface CellRatios {
  vsDirect: number;
  vsChp: number;
  cpuVsChp?: number;
  bridgeProxyVsBridge?: number;
  bridgeProxyVsDirect?: number;
  directVsBridge?: number;
  vsDirectRounds: number[];
  vsChpRounds: number[];
}

const median = (values: number[]) => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function throughput(
  targets: Targets,
  hubPid: number,
  chpPid: number,
  /** Called before each measurement of a target (the proxy's route depends on it). */
  prepare: (name: TargetName) => Promise<void>,
) {
  const payloads = { small: 'api/status', large: 'files/bench-1mib.bin' } as const;
  const TARGETS: TargetName[] = HTTP_TARGETS;
  // Warm every path (connections, JIT, the proxy's auth cache) before anything counts.
  for (const name of TARGETS) {
    await prepare(name);
    await httpLoad(`${targets[name].base}${payloads.small}`, targets[name].headers, 10, 1);
  }
  type Measured = LoadResult & { cpuMsPerRequest?: number };
  const measured: Record<string, Record<TargetName, Measured>[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate who goes first so drift in the machine's load falls on every target.
    const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length]!);
    for (const [payload, suffix] of Object.entries(payloads)) {
      for (const concurrency of CONCURRENCIES) {
        const row = {} as Record<TargetName, Measured>;
        for (const name of order) {
          await prepare(name);
          const pid = name.startsWith('orrery') ? hubPid : name === 'chp' ? chpPid : undefined;
          const cpuBefore = pid ? cpuSeconds(pid) : 0;
          const result = await httpLoad(
            `${targets[name].base}${suffix}`,
            targets[name].headers,
            concurrency,
            LOAD_SECONDS,
          );
          row[name] = pid
            ? {
                ...result,
                cpuMsPerRequest: round(
                  ((cpuSeconds(pid) - cpuBefore) * 1000) / Math.max(1, result.requests),
                  3,
                ),
              }
            : result;
        }
        const key = `${payload} c=${concurrency}`;
        measured[key] = [...(measured[key] ?? []), row];
        const cell = (name: TargetName) =>
          payload === 'small' ? `${row[name].reqPerSec} req/s` : `${row[name].mbPerSec} MB/s`;
        log(
          `  ${ROUNDS > 1 ? `round ${r + 1}/${ROUNDS} ` : ''}${key}: orrery ${cell('orrery')}, direct ${cell('direct')}, chp ${cell('chp')}` +
            `  (proxy/direct ${ratio(row.orrery.reqPerSec, row.direct.reqPerSec)}, proxy/chp ${ratio(row.orrery.reqPerSec, row.chp.reqPerSec)};` +
            ` CPU ms/req orrery ${row.orrery.cpuMsPerRequest}, chp ${row.chp.cpuMsPerRequest})` +
            (row.bridge
              ? `; container address: direct ${cell('bridge')}, orrery ${cell('orreryBridge')} (CPU ${row.orreryBridge.cpuMsPerRequest})`
              : ''),
        );
      }
    }
  }
  const cells: Record<string, Record<TargetName, CellResult>> = {};
  const ratios: Record<string, CellRatios & { meetsTarget: boolean }> = {};
  for (const [key, rows] of Object.entries(measured)) {
    const summary = {} as Record<TargetName, CellResult>;
    for (const name of TARGETS) {
      const of = rows.map((row) => row[name]);
      const cpu = of.map((result) => result.cpuMsPerRequest ?? Number.NaN);
      summary[name] = {
        concurrency: of[0]!.concurrency,
        rounds: of.length,
        requests: of.reduce((sum, result) => sum + result.requests, 0),
        errors: of.reduce((sum, result) => sum + result.errors, 0),
        ...(of.find((result) => result.firstError)
          ? { firstError: of.find((result) => result.firstError)!.firstError }
          : {}),
        reqPerSec: round(median(of.map((result) => result.reqPerSec))),
        mbPerSec: round(median(of.map((result) => result.mbPerSec))),
        latencyP50Ms: round(median(of.map((result) => result.latencyMs.p50)), 3),
        latencyP99Ms: round(median(of.map((result) => result.latencyMs.p99)), 3),
        ...(name === 'direct' || name === 'bridge'
          ? {}
          : { cpuMsPerRequest: round(median(cpu), 3) }),
        reqPerSecRounds: of.map((result) => result.reqPerSec),
      };
    }
    cells[key] = summary;
    const vsDirectRounds = rows.map((row) => round(row.orrery.reqPerSec / row.direct.reqPerSec, 2));
    const vsChpRounds = rows.map((row) => round(row.orrery.reqPerSec / row.chp.reqPerSec, 2));
    const vsDirect = round(median(vsDirectRounds), 2);
    const vsChp = round(median(vsChpRounds), 2);
    ratios[key] = {
      vsDirect,
      vsChp,
      cpuVsChp: round(
        median(
          rows.map(
            (row) => (row.orrery.cpuMsPerRequest ?? Number.NaN) / (row.chp.cpuMsPerRequest ?? 1),
          ),
        ),
        2,
      ),
      vsDirectRounds,
      vsChpRounds,
      meetsTarget: vsDirect >= 0.8 && vsChp >= 1,
      ...(rows[0]!.bridge && rows[0]!.orreryBridge
        ? {
            // Without docker-proxy on either side: the proxy to the container's address versus
            // the client to the container's address; and what the published port costs direct.
            bridgeProxyVsBridge: round(
              median(rows.map((row) => row.orreryBridge.reqPerSec / row.bridge.reqPerSec)),
              2,
            ),
            bridgeProxyVsDirect: round(
              median(rows.map((row) => row.orreryBridge.reqPerSec / row.direct.reqPerSec)),
              2,
            ),
            directVsBridge: round(
              median(rows.map((row) => row.direct.reqPerSec / row.bridge.reqPerSec)),
              2,
            ),
          }
        : {}),
    };
  }
  return { cells, ratios };
}

async function websockets(
  wsTargets: Record<MainTarget, { url: string; headers: Record<string, string> }>,
) {
  const out: Record<string, Record<MainTarget, RoundTripResult>> = {};
  for (const connections of CONCURRENCIES) {
    const row = {} as Record<MainTarget, RoundTripResult>;
    for (const name of TARGETS)
      row[name] = await kernelRoundTrips(
        wsTargets[name].url,
        wsTargets[name].headers,
        connections,
        ROUND_TRIPS,
        LOAD_SECONDS,
      );
    out[String(connections)] = row;
    const cell = (name: MainTarget) => `${row[name].latencyMs.p50}/${row[name].latencyMs.p99} ms`;
    log(
      `  ws c=${connections} p50/p99: orrery ${cell('orrery')}, direct ${cell('direct')}, chp ${cell('chp')}`,
    );
  }
  return out;
}

/** Hub RSS after a forced GC, before and after CHURN WebSocket opens and closes through it. */
async function memoryChurn(hub: HubProcess, url: string, headers: Record<string, string>) {
  const failuresWarm = await websocketChurn(url, headers, 200, 20);
  const heapBefore = await hub.gc();
  const before = residentBytes(hub.pid);
  const started = process.hrtime.bigint();
  const failures = await websocketChurn(url, headers, CHURN, 20);
  const churnMs = msSince(started);
  const afterNoGc = residentBytes(hub.pid);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const heapAfter = await hub.gc();
  const after = residentBytes(hub.pid);
  const mib = (bytes: number) => round(bytes / 2 ** 20);
  return {
    sockets: CHURN,
    failures: failures + failuresWarm,
    seconds: round(churnMs / 1000, 2),
    rssBeforeMiB: mib(before),
    rssAfterMiB: mib(after),
    rssAfterNoGcMiB: mib(afterNoGc),
    growthMiB: mib(after - before),
    growthBytesPerSocket: Math.round((after - before) / CHURN),
    // RSS keeps pages the allocator has not returned; the heap after a full GC is the leak test.
    heapBeforeMiB: mib(heapBefore),
    heapAfterMiB: mib(heapAfter),
  };
}

/** A kernel on the server, via the contents of its API (direct, with the secret). */
async function startKernel(direct: Targets['direct']): Promise<string> {
  const res = await fetch(`${direct.base}api/kernels`, {
    method: 'POST',
    headers: { ...direct.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'python3' }),
  });
  const body = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(`start kernel: HTTP ${res.status}`);
  return body.id;
}

/** Where one running server answers: through the hub, and directly with its secret. */
async function serverTargets(
  db: Db,
  config: HubConfig,
  hub: HubProcess,
  user: BenchUser,
  server: string,
  proxyPath: string,
) {
  const row = await findServer(db, user.id, server);
  if (!row?.url) throw new Error(`no running server ${user.name}/${server}`);
  const secret = serverSecret(config.secretKey!, row);
  // The container's own address on the user network: no docker-proxy on the way.
  const { containerId } = row.state as { containerId: string };
  const info = await connectLocalDocker().getContainer(containerId).inspect();
  const address = info.NetworkSettings.Networks[NETWORK]?.IPAddress;
  return {
    upstream: row.url,
    bridgeUpstream: `http://${address}:8888`,
    bridge: {
      base: `http://${address}:8888${proxyPath}`,
      headers: { authorization: `token ${secret}` },
    },
    orrery: { base: `${hub.url}${proxyPath}`, headers: user.auth },
    direct: { base: `${row.url}${proxyPath}`, headers: { authorization: `token ${secret}` } },
  };
}

/** How many processes named `name` run now (from /proc). */
function countProcesses(name: string): number {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    }).length;
}

const wsUrl = (base: string, rest: string) => `${base.replace(/^http/, 'ws')}${rest}`;

/** kernel_info round trips on one connection per path, ROUNDS times in rotating order, pooled. */
async function kernelPaths(
  paths: Record<string, { url: string; headers: Record<string, string> }>,
) {
  const names = Object.keys(paths);
  const samples: Record<string, number[]> = {};
  const p50Rounds: Record<string, number[]> = {};
  const planned: Record<string, number> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    for (const name of order) {
      const result = await kernelRoundTrips(
        paths[name]!.url,
        paths[name]!.headers,
        1,
        ROUND_TRIPS,
        20,
        true,
      );
      samples[name] = [...(samples[name] ?? []), ...(result.samples ?? [])];
      p50Rounds[name] = [...(p50Rounds[name] ?? []), result.latencyMs.p50];
      planned[name] = (planned[name] ?? 0) + result.planned;
    }
  }
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        connections: 1,
        planned: planned[name]!,
        latencyMs: percentiles(samples[name]!),
        p50Rounds: p50Rounds[name]!,
      },
    ]),
  );
}

async function proxyAndKernels(db: Db, config: HubConfig, hub: HubProcess, user: BenchUser) {
  const wantsStock = runs('kernels');
  log(`proxy: starting a NODELAY server${wantsStock ? ' and a stock one' : ''}`);
  const lab = await hubSpawn(hub, user, 'lab');
  const stock = wantsStock ? await hubSpawn(hub, user, 'stock', STOCK_IMAGE) : undefined;
  const labTargets = await serverTargets(db, config, hub, user, 'lab', lab.url);
  const stockTargets = stock
    ? await serverTargets(db, config, hub, user, 'stock', stock.url)
    : undefined;
  const chp = await startChp(lab.url, labTargets.upstream);
  try {
    const targets: Targets = {
      orrery: labTargets.orrery,
      direct: labTargets.direct,
      chp: { base: `${chp.url}${lab.url}`, headers: labTargets.direct.headers },
      bridge: labTargets.bridge,
      orreryBridge: labTargets.orrery,
    };
    let routedTo = labTargets.upstream;
    const prepare = async (name: TargetName) => {
      const want = name === 'orreryBridge' ? labTargets.bridgeUpstream : labTargets.upstream;
      if (want === routedTo) return;
      await hub.route(user.safeName, 'lab', want);
      routedTo = want;
    };
    let http: Awaited<ReturnType<typeof throughput>> | undefined;
    if (runs('http')) {
      const put = await fetch(`${targets.direct.base}api/contents/bench-1mib.bin`, {
        method: 'PUT',
        headers: { ...targets.direct.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'file', format: 'text', content: 'x'.repeat(2 ** 20) }),
      });
      if (put.status !== 200 && put.status !== 201)
        throw new Error(`PUT 1 MiB: HTTP ${put.status}`);
      log(`proxy: HTTP throughput, ${LOAD_SECONDS} s per cell, ${ROUNDS} round(s)`);
      http = await throughput(targets, hub.pid, chp.pid, prepare);
      await prepare('orrery');
    }

    const kernel = await startKernel(targets.direct);
    const channels = `api/kernels/${kernel}/channels`;
    let ws: Awaited<ReturnType<typeof websockets>> | undefined;
    if (runs('websocket')) {
      log(`proxy: kernel WebSocket round trips, up to ${ROUND_TRIPS} per connection`);
      ws = await websockets({
        orrery: { url: wsUrl(targets.orrery.base, channels), headers: targets.orrery.headers },
        direct: { url: wsUrl(targets.direct.base, channels), headers: targets.direct.headers },
        chp: { url: wsUrl(targets.chp.base, channels), headers: targets.chp.headers },
      });
    }

    let memory: Awaited<ReturnType<typeof memoryChurn>> | undefined;
    if (runs('memory')) {
      log(`proxy: hub RSS around ${CHURN} WebSocket opens and closes`);
      memory = await memoryChurn(
        hub,
        wsUrl(targets.orrery.base, 'api/events/subscribe'),
        user.auth,
      );
    }

    let kernels: Record<string, unknown> | undefined;
    if (stockTargets) {
      log(
        `kernels: NODELAY (orrery/lab) versus stock (ORRERY_WS_NODELAY=0), one connection, ${ROUNDS} round(s)`,
      );
      const stockKernel = await startKernel(stockTargets.direct);
      const path = (base: string, id: string, headers: Record<string, string>) => ({
        url: wsUrl(base, `api/kernels/${id}/channels`),
        headers,
      });
      const measured = await kernelPaths({
        nodelayProxy: path(labTargets.orrery.base, kernel, labTargets.orrery.headers),
        stockProxy: path(stockTargets.orrery.base, stockKernel, stockTargets.orrery.headers),
        nodelayDirect: path(labTargets.direct.base, kernel, labTargets.direct.headers),
        stockDirect: path(stockTargets.direct.base, stockKernel, stockTargets.direct.headers),
        // Published ports on 127.0.0.1 go through docker-proxy when Docker's userland proxy is on.
        nodelayBridge: path(labTargets.bridge.base, kernel, labTargets.bridge.headers),
      });
      const proxyP50 = measured.nodelayProxy!.latencyMs.p50;
      kernels = {
        ...measured,
        dockerProxyProcesses: countProcesses('docker-proxy'),
        targetP50Ms: KERNEL_TARGET_MS,
        meetsTarget: proxyP50 <= KERNEL_TARGET_MS,
        proxyAddedP50Ms: round(proxyP50 - measured.nodelayDirect!.latencyMs.p50, 3),
        proxyAddedP50MsRounds: measured.nodelayProxy!.p50Rounds.map((p50, i) =>
          round(p50 - measured.nodelayDirect!.p50Rounds[i]!, 3),
        ),
      };
    }
    return { http, ws, memory, kernels };
  } finally {
    await chp.stop();
    await hubStop(hub, user, 'lab').catch(() => 0);
    if (stock) await hubStop(hub, user, 'stock').catch(() => 0);
  }
}

async function main() {
  const began = process.hrtime.bigint();
  const docker = connectLocalDocker();
  await sweep(docker, STOCK_IMAGE);
  if (runs('kernels')) await buildStockImage(IMAGE, STOCK_IMAGE);
  const database = await createBenchDatabase('compute');
  const config = hubConfig(database.url);
  const profileDir = process.env.ORRERY_BENCH_PROFILE
    ? path.join(RESULTS_DIR, 'profiles')
    : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  let hub: HubProcess | undefined;
  const db = createPool(database.url);
  let leftovers: string[] = [];
  try {
    hub = await forkHub(config, profileDir);
    NETWORK = deploymentNames(BENCH_PREFIX, await deploymentIdentity(db), []).network;
    const users = await createUsers(db, config, [
      'spawner',
      'proxyuser',
      ...Array.from({ length: CONCURRENT }, (_, i) => `crowd${i + 1}`),
    ]);
    const [spawner, proxyuser, ...crowd] = users;
    const rssAtStartMiB = round(residentBytes(hub.pid) / 2 ** 20);
    const spawn = runs('spawn') ? await spawnLatency(hub, config, spawner!) : undefined;
    const concurrent = runs('concurrent') ? await concurrentSpawns(hub, config, crowd) : undefined;
    const proxy = ['http', 'websocket', 'memory', 'kernels'].some((phase) => PHASES.has(phase))
      ? await proxyAndKernels(db, config, hub, proxyuser!)
      : undefined;
    const result = {
      benchmark: 'compute',
      machine: await machine(),
      image: IMAGE,
      phases: [...PHASES],
      rounds: ROUNDS,
      loadSeconds: LOAD_SECONDS,
      hubRssAtStartMiB: rssAtStartMiB,
      spawn,
      concurrent,
      http: proxy?.http?.cells,
      httpRatios: proxy?.http?.ratios,
      websocket: proxy?.ws,
      memory: proxy?.memory,
      kernels: proxy?.kernels,
      seconds: 0,
      leftovers: [] as string[],
    };
    await hub.stop();
    hub = undefined;
    await sweep(docker, STOCK_IMAGE);
    leftovers = await benchLeftovers(docker);
    result.leftovers = leftovers;
    result.seconds = round(msSince(began) / 1000);
    const file = writeResult(process.env.ORRERY_BENCH_RESULT ?? 'compute', result);
    report(result);
    log(`results: ${file}`);
  } finally {
    await hub?.stop();
    await db.end();
    await database.drop();
    await sweep(docker, STOCK_IMAGE);
    if (NETWORK)
      await docker
        .getNetwork(NETWORK)
        .remove()
        .catch(() => undefined);
  }
  if (leftovers.length > 0) {
    console.error(`compute: LEAK, left behind: ${leftovers.join(', ')}`);
    process.exitCode = 1;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the result object printed is the one just built.
function report(r: any) {
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  if (r.spawn)
    log(
      `spawn (n=${r.spawn.n}): hub p50 ${round(r.spawn.hubMs.p50)} ms vs bare ${round(r.spawn.bareMs.p50)} ms = ${r.spawn.ratioP50}x (+${r.spawn.addedP50Ms} ms); <= 1.1x ${verdict(r.spawn.meetsTarget)}`,
    );
  if (r.concurrent)
    log(
      `spawn x${r.concurrent.users}: ${r.concurrent.succeeded}/${r.concurrent.users} ok, p50 ${round(r.concurrent.hubMs.p50)} / p95 ${round(r.concurrent.hubMs.p95)} ms (bare ${round(r.concurrent.bareMs.p50)} / ${round(r.concurrent.bareMs.p95)} ms)`,
    );
  for (const [cell, value] of Object.entries(r.httpRatios ?? {}) as [
    string,
    { vsDirect: number; vsChp: number; cpuVsChp: number; meetsTarget: boolean },
  ][]) {
    const row = r.http[cell];
    log(
      `http ${cell}: proxy/direct ${value.vsDirect}, proxy/chp ${value.vsChp}; CPU ms/req orrery ${row.orrery.cpuMsPerRequest}, chp ${row.chp.cpuMsPerRequest} (${value.cpuVsChp}x)  ${verdict(value.meetsTarget)}`,
    );
  }
  if (r.memory)
    log(
      `memory: RSS ${r.memory.rssBeforeMiB} -> ${r.memory.rssAfterMiB} MiB, heap ${r.memory.heapBeforeMiB} -> ${r.memory.heapAfterMiB} MiB after ${r.memory.sockets} WebSockets (${r.memory.failures} failed)`,
    );
  const k = r.kernels;
  if (k)
    log(
      `kernel_info p50: proxy nodelay ${k.nodelayProxy.latencyMs.p50} ms, stock ${k.stockProxy.latencyMs.p50} ms; direct nodelay ${k.nodelayDirect.latencyMs.p50} ms, stock ${k.stockDirect.latencyMs.p50} ms; container address ${k.nodelayBridge.latencyMs.p50} ms (docker-proxy processes: ${k.dockerProxyProcesses}); proxy adds ${k.proxyAddedP50Ms} ms (rounds ${k.proxyAddedP50MsRounds.join(', ')}); <= ${k.targetP50Ms} ms ${verdict(k.meetsTarget)}`,
    );
  log(`took ${r.seconds} s; leftovers: ${r.leftovers.length ? r.leftovers.join(', ') : 'none'}`);
}

await main();
