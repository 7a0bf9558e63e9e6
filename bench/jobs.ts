/**
 * Batch jobs: the queue's own overhead per job beyond the container, and fair share, next to a
 * floor measured in the same run on the same machine.
 *
 * 1. Floor: N trivial containers of exactly the job's spec (buildJobSpec: same image, command
 *    wrapper, limits, the same user's Storage folder and volume view bound, no network) through
 *    dockerode, at most SLOTS at once: create → start → wait → logs → remove. No database, no
 *    queue.
 * 2. Hub: a real hub (startHub, dispatcher on, the domain capped at SLOTS running at once and
 *    SLOTS per user) runs the same N trivial jobs of user A submitted through the API; once A
 *    fills every slot, user B submits one job. Wall time from the first claim to the last
 *    recorded outcome, versus the floor's wall time at the same concurrency:
 *    overhead per job = (hub wall − floor wall) × SLOTS / N, the time a slot is held per job
 *    beyond what Docker itself needs. Target < 50 ms.
 *    The queue's own time per job, measured directly (Docker's events for the job containers
 *    against the jobs' own claim and record times): claim → container started, less the
 *    floor's create + start; plus container died → outcome recorded, less the floor's died →
 *    (wait, logs) removed.
 *    Fair share: how many of A's jobs were claimed after B submitted and before B's job (0 is
 *    "B starts at the next free slot"), and B's wait next to one floor container's run.
 * 3. The database's part alone: claimNext and the recording compare-and-set with N jobs queued
 *    in a domain no dispatcher serves, versus SELECT 1 on the same pool.
 * 4. Claim cost against the queue's length: claimNext's p50 with 10, 1,000 and 10,000 jobs
 *    queued (two users' jobs, each claim recorded as it would be, the queue kept at its size),
 *    versus SELECT 1. ORRERY_BENCH_JOBS_PART=claims runs only this part (no containers).
 *
 * Run: npx tsx bench/jobs.ts   (as root, Docker and orrery/lab:latest present; ~5–10 minutes)
 * Knobs: ORRERY_BENCH_JOBS (default 1000), ORRERY_BENCH_JOB_SLOTS (8), ORRERY_BENCH_JOB_POLL_MS
 * (the dispatcher's poll interval, default the hub's own 1000).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createAccount } from '../hub/src/accounts/service.ts';
import type { UserRecord } from '../hub/src/auth/principal.ts';
import { createToken } from '../hub/src/auth/tokens.ts';
import { domain } from '../hub/src/compute/domainConfig.ts';
import { computeModule } from '../hub/src/compute/module.ts';
import { bindRootsOf } from '../hub/src/compute/setup.ts';
import { type HubConfig, loadConfig } from '../hub/src/config.ts';
import { createPool, inTransaction } from '../hub/src/db/pool.ts';
import { viewsRootOf } from '../hub/src/files/config.ts';
import { buildJobSpec, JOB_LABELS } from '../hub/src/jobs/jobSpec.ts';
import { transition } from '../hub/src/jobs/status.ts';
import { claimNext, insertJob, insertSweep, type JobRecord } from '../hub/src/jobs/store.ts';
import { createLogger } from '../hub/src/log.ts';
import { startHub } from '../hub/src/server.ts';
import { connectLocalDocker } from './support/computeFloors.ts';
import { ADMIN_DATABASE_URL, createBenchDatabase } from './support/database.ts';
import {
  machine,
  msSince,
  ratio,
  summarise,
  timeSequential,
  writeResult,
} from './support/stats.ts';

const IMAGE = 'orrery/lab:latest';
const N = Number(process.env.ORRERY_BENCH_JOBS ?? 1000);
const SLOTS = Number(process.env.ORRERY_BENCH_JOB_SLOTS ?? 8);
const POLL_MS = process.env.ORRERY_BENCH_JOB_POLL_MS;
const TARGET_MS = 50;
const PREFIX = `orrery-bench-jobs-${randomBytes(2).toString('hex')}-`;
const FLOOR_VOLUME = `${PREFIX}floor-work`;
const COMMAND = 'true';
/** `claims`: only part 4 (the claim against the queue's length), no containers. */
const PART = process.env.ORRERY_BENCH_JOBS_PART ?? 'all';
/** Queue lengths part 4 measures a claim at, and how many claims at each. */
const QUEUE_SIZES = [10, 1000, 10_000];
const CLAIMS_PER_SIZE = 200;

const docker = connectLocalDocker();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Run `work(i)` for i < count with at most `width` at once. */
async function pool(count: number, width: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** What a job's container binds besides its workspace volume: the user's folders. */
type FloorMounts = {
  bindRoots: string[];
  workspaceHostPath?: string;
  volumesViewHostPath?: string;
};

/**
 * The floor: the job's own container spec, with the same user's folders bound as their jobs
 * bind, bare through dockerode.
 */
async function floor(mounts: FloorMounts): Promise<{
  wallMs: number;
  perContainer: ReturnType<typeof summarise>;
  createAndStart: ReturnType<typeof summarise>;
  diedToRemoved: ReturnType<typeof summarise>;
}> {
  await docker.createVolume({ Name: FLOOR_VOLUME });
  const samples: number[] = [];
  const startSamples: number[] = [];
  const removedAt = new Map<string, number>();
  const events = await containerEvents();
  const began = process.hrtime.bigint();
  await pool(N, SLOTS, async (i) => {
    const job = {
      id: 1_000_000 + i,
      kind: 'command',
      command: COMMAND,
      notebook: null,
      parameters: null,
      image: IMAGE,
      workingDir: '',
      cpus: 1,
      memoryBytes: 256 * 2 ** 20,
    } as JobRecord;
    const spec = buildJobSpec(job, {
      name: `${PREFIX}floor-${i}`,
      deployment: `${PREFIX}floor`,
      owner: 'floor',
      workspaceVolume: FLOOR_VOLUME,
      ...mounts,
    });
    const start = process.hrtime.bigint();
    const container = await docker.createContainer(spec);
    await container.start();
    startSamples.push(msSince(start));
    const { StatusCode } = await container.wait();
    if (StatusCode !== 0) throw new Error(`floor container ${i} exited ${StatusCode}`);
    await container.logs({ stdout: true, stderr: true, follow: false });
    await container.remove({ force: true });
    removedAt.set(spec.name!, Date.now());
    samples.push(msSince(start));
  });
  const wallMs = Math.round(msSince(began));
  events.stop();
  const afterExit: number[] = [];
  for (const [name, removed] of removedAt) {
    const died = events.seen.get(name)?.die;
    if (died !== undefined) afterExit.push(removed - died);
  }
  return {
    wallMs,
    perContainer: summarise(samples),
    createAndStart: summarise(startSamples),
    diedToRemoved: summarise(afterExit),
  };
}

/** When each job container started and died, from Docker's event stream (ms since the epoch). */
async function containerEvents() {
  const seen = new Map<string, { start?: number; die?: number }>();
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['start', 'die'], label: [JOB_LABELS.job] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as {
        Action: string;
        timeNano: number;
        Actor: { Attributes: { name: string } };
      };
      const entry = seen.get(event.Actor.Attributes.name) ?? {};
      entry[event.Action as 'start' | 'die'] = event.timeNano / 1e6;
      seen.set(event.Actor.Attributes.name, entry);
    }
  });
  return { seen, stop: () => stream.destroy() };
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
    stateDir: path.join(tmpdir(), `${PREFIX}state`),
    secretKey: randomBytes(32).toString('base64url'),
    compute: {
      ...base.compute,
      domains: [domain('docker', 'docker')],
      images: [IMAGE],
      namePrefix: PREFIX,
      loopSeconds: 3600,
    },
    jobs: {
      ...base.jobs,
      ...(POLL_MS ? { pollMs: Number(POLL_MS) } : {}),
      domains: { docker: { maxRunning: SLOTS, maxRunningPerUser: SLOTS, maxSeconds: 600 } },
    },
  };
}

/**
 * claimNext's cost with `size` jobs queued in a domain of their own: `size + CLAIMS_PER_SIZE`
 * jobs of two users (alternating) are queued, then CLAIMS_PER_SIZE are claimed one after
 * another and each recorded at once, so the queue stays at about `size` throughout.
 */
async function claimsAt(db: ReturnType<typeof createPool>, userIds: number[], size: number) {
  const domain = `claims-${size}`;
  const total = size + CLAIMS_PER_SIZE;
  for (const [i, userId] of userIds.entries()) {
    const count = Math.floor(total / userIds.length) + (i < total % userIds.length ? 1 : 0);
    await insertSweep(
      db,
      userId,
      {
        kind: 'command',
        command: COMMAND,
        notebook: null,
        parameters: null,
        image: IMAGE,
        domain,
        workingDir: '',
        cpus: 1,
        memoryBytes: 2 ** 28,
        timeLimitSeconds: 60,
      },
      Array.from({ length: count }, (_, n) => ({ n })),
    );
  }
  await db.query('ANALYZE jobs');
  const limits = { maxRunning: 8, maxRunningPerUser: 8, maxSeconds: 600 };
  return summarise(
    await timeSequential(CLAIMS_PER_SIZE, async () => {
      const job = await claimNext(db, domain, limits, 3600, 'bench', (id) => `x-${id}`);
      if (!job) throw new Error(`nothing claimed with ${size} queued`);
      await transition(db, job.id, ['running'], 'succeeded', { exitCode: 0 });
    }),
  );
}

async function main() {
  const database = await createBenchDatabase('jobs');
  const config = hubConfig(database.url);
  const hub = await startHub(config, createLogger('warn'));
  const db = createPool(database.url, 4);
  const result: Record<string, unknown> = {
    machine: await machine(),
    jobs: N,
    slots: SLOTS,
    pollMs: config.jobs.pollMs,
    image: IMAGE,
    command: COMMAND,
  };
  try {
    // Users and tokens straight in the database, as the other benchmarks make them.
    const users = await inTransaction(db, async (client) =>
      Promise.all(
        ['alice', 'bob'].map((username) =>
          createAccount(client, config, { username, approved: true }, { type: 'user.create' }),
        ),
      ),
    );
    const auth = await Promise.all(
      users.map(async (user) => {
        const { token } = await createToken(db, user.id, {
          scopes: ['jobs', 'read:jobs'],
          seconds: 3600,
        });
        return { authorization: `token ${token}`, 'content-type': 'application/json' };
      }),
    );
    const submit = async (who: 0 | 1) => {
      const res = await fetch(`${hub.url}/hub/api/users/${users[who]!.name}/jobs`, {
        method: 'POST',
        headers: auth[who],
        body: JSON.stringify({ command: COMMAND, image: IMAGE, memory_mb: 256 }),
      });
      if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: number }).id;
    };

    if (PART !== 'claims') {
      console.log(`floor: ${N} bare containers, ${SLOTS} at once`);
      // Alice's folders, prepared as for her jobs, bound by the floor's containers too.
      const aliceMounts = await hub.modules
        .serviceOf(computeModule)
        .containerVolumes(users[0] as UserRecord, 'docker');
      const bare = await floor({ bindRoots: bindRootsOf(config), ...aliceMounts });
      result.floor = bare;
      console.log(
        `  wall ${bare.wallMs} ms, per container p50 ${bare.perContainer.p50} ms, create + start p50 ${bare.createAndStart.p50} ms, died → removed p50 ${bare.diedToRemoved.p50} ms`,
      );
      const events = await containerEvents();

      console.log(`hub: ${N} jobs of alice, then one of bob once alice fills every slot`);
      const submitMs: number[] = [];
      let bobId = 0;
      let bobSubmitted: Promise<void> | undefined;
      const running = async () =>
        (await db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'running'`)).rows[0].n;
      const watchForBob = (async () => {
        while ((await running()) < SLOTS) await sleep(20);
        bobSubmitted = submit(1).then((id) => {
          bobId = id;
        });
      })();
      await pool(N, 10, async () => {
        const start = process.hrtime.bigint();
        await submit(0);
        submitMs.push(msSince(start));
      });
      await watchForBob;
      await bobSubmitted;
      for (;;) {
        const { rows } = await db.query(
          `SELECT count(*) FILTER (WHERE status IN ('queued', 'running'))::int AS open,
                  count(*) FILTER (WHERE status NOT IN ('queued', 'running', 'succeeded'))::int AS bad
             FROM jobs`,
        );
        if (rows[0].bad > 0) throw new Error(`${rows[0].bad} jobs did not succeed`);
        if (rows[0].open === 0) break;
        await sleep(500);
      }
      const { rows: spans } = await db.query(
        `SELECT extract(epoch FROM max(finished_at) - min(started_at)) * 1000 AS wall,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000) AS slot_p50,
                max(attempts) AS attempts
           FROM jobs WHERE user_id = $1`,
        [users[0]!.id],
      );
      events.stop();
      const { rows: times } = await db.query(
        `SELECT container_name AS name, extract(epoch FROM started_at) * 1000 AS claimed,
                extract(epoch FROM finished_at) * 1000 AS recorded
           FROM jobs WHERE user_id = $1`,
        [users[0]!.id],
      );
      const toStart: number[] = [];
      const toRecord: number[] = [];
      for (const row of times) {
        const seen = events.seen.get(row.name);
        if (seen?.start === undefined || seen.die === undefined) continue;
        toStart.push(seen.start - Number(row.claimed));
        toRecord.push(Number(row.recorded) - seen.die);
      }
      const claimToStart = summarise(toStart);
      const exitToRecord = summarise(toRecord);
      const ownMs = Math.round(
        claimToStart.p50 - bare.createAndStart.p50 + exitToRecord.p50 - bare.diedToRemoved.p50,
      );
      result.queueOwnTime = {
        jobsSeen: toStart.length,
        claimToStarted: claimToStart,
        floorCreateAndStart: bare.createAndStart,
        diedToRecorded: exitToRecord,
        floorDiedToRemoved: bare.diedToRemoved,
        perJobMs: ownMs,
        meetsTarget: ownMs < TARGET_MS,
      };
      console.log(
        `  queue's own time per job (p50s, ${toStart.length} jobs seen): claim → started ${claimToStart.p50} ms − floor create + start ${bare.createAndStart.p50} ms + died → recorded ${exitToRecord.p50} ms − floor died → removed ${bare.diedToRemoved.p50} ms = ${ownMs} ms`,
      );
      const hubWallMs = Math.round(Number(spans[0].wall));
      const overheadMs = Math.round(((hubWallMs - bare.wallMs) * SLOTS) / N);
      result.hub = {
        wallMs: hubWallMs,
        vsFloor: ratio(hubWallMs, bare.wallMs),
        overheadPerJobMs: overheadMs,
        slotHeldP50Ms: Math.round(Number(spans[0].slot_p50)),
        maxAttempts: Number(spans[0].attempts),
        submit: summarise(submitMs),
        targetMs: TARGET_MS,
        meetsTarget: overheadMs < TARGET_MS,
      };
      console.log(
        `  wall ${hubWallMs} ms (${ratio(hubWallMs, bare.wallMs)}x floor): ${overheadMs} ms per job beyond Docker; submit p50 ${summarise(submitMs).p50} ms`,
      );

      const { rows: fair } = await db.query(
        `SELECT b.submitted_at, b.started_at,
                extract(epoch FROM b.started_at - b.submitted_at) * 1000 AS wait_ms,
                (SELECT count(*)::int FROM jobs a WHERE a.user_id = $2
                    AND a.started_at > b.submitted_at AND a.started_at < b.started_at) AS overtaken,
                (SELECT count(*)::int FROM jobs a WHERE a.user_id = $2
                    AND a.started_at < b.started_at) AS started_before,
                (SELECT count(*)::int FROM jobs a WHERE a.user_id = $2
                    AND a.finished_at > b.submitted_at AND a.finished_at <= b.started_at) AS freed_meanwhile
           FROM jobs b WHERE b.id = $1`,
        [bobId, users[0]!.id],
      );
      const f = fair[0];
      result.fairShare = {
        bobStartedAfterAliceJobs: f.started_before,
        aliceJobsClaimedWhileBobWaited: f.overtaken,
        aliceJobsEndedWhileBobWaited: f.freed_meanwhile,
        bobWaitMs: Math.round(Number(f.wait_ms)),
        floorContainerP50Ms: bare.perContainer.p50,
        startedAtNextFreeSlot: f.overtaken === 0,
      };
      console.log(
        `  bob's job: claimed after ${f.started_before} of alice's, ${f.overtaken} of hers claimed while it waited, wait ${Math.round(Number(f.wait_ms))} ms`,
      );

      // The database's part: claim and record with N queued, no Docker.
      const alice = users[0]!;
      for (let i = 0; i < N; i++)
        await insertJob(db, {
          userId: alice.id,
          kind: 'command',
          command: COMMAND,
          notebook: null,
          parameters: null,
          image: IMAGE,
          domain: 'nodispatch',
          workingDir: '',
          cpus: 1,
          memoryBytes: 2 ** 28,
          timeLimitSeconds: 60,
          idempotencyKey: null,
        });
      const limits = { maxRunning: N + 1, maxRunningPerUser: N + 1, maxSeconds: 600 };
      const claimed: number[] = [];
      const claims = await timeSequential(N, async () => {
        const job = await claimNext(db, 'nodispatch', limits, 3600, 'bench', (id) => `x-${id}`);
        claimed.push(job!.id);
      });
      const records = await timeSequential(N, (i) =>
        transition(db, claimed[i]!, ['running'], 'succeeded', {
          exitCode: 0,
          stdout: '',
          stderr: '',
        }),
      );
      const selects = await timeSequential(N, () => db.query('SELECT 1'));
      const s1 = summarise(selects);
      result.database = {
        claim: { ...summarise(claims), ratioP50: ratio(summarise(claims).p50, s1.p50) },
        record: { ...summarise(records), ratioP50: ratio(summarise(records).p50, s1.p50) },
        select1: s1,
      };
      console.log(
        `  database: claim p50 ${summarise(claims).p50} ms (${N} queued → 0), record p50 ${summarise(records).p50} ms, SELECT 1 p50 ${s1.p50} ms`,
      );
    }
    // Part 4: the claim against the queue's length.
    const claimsBySize: Record<string, unknown> = {};
    const s1 = summarise(await timeSequential(1000, () => db.query('SELECT 1')));
    for (const size of QUEUE_SIZES) {
      const claims = await claimsAt(
        db,
        users.map((u) => u.id),
        size,
      );
      claimsBySize[size] = { ...claims, ratioP50: ratio(claims.p50, s1.p50) };
      console.log(
        `  claim with ${size} queued: p50 ${claims.p50} ms, p99 ${claims.p99} ms (SELECT 1 p50 ${s1.p50} ms)`,
      );
    }
    result.claimsByQueueLength = { select1: s1, ...claimsBySize };
  } finally {
    await hub.close();
    await db.end();
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${JOB_LABELS.deployment}`] },
    });
    for (const info of left)
      if ((info.Names[0] ?? '').startsWith(`/${PREFIX}`))
        await docker.getContainer(info.Id).remove({ force: true });
    for (const { Name } of (await docker.listVolumes()).Volumes ?? [])
      if (Name.startsWith(PREFIX)) await docker.getVolume(Name).remove({ force: true });
    await database.drop();
    // The hub made its science database beside it (MyDB); it goes too.
    const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database.name}_science WITH (FORCE)`);
    await admin.end();
    // A hub keeps its volume views mounted across restarts (running servers use them); the
    // benchmark's hub is gone for good, so its views and state folder go too.
    const views = viewsRootOf(config.files, config.stateDir);
    for (const folder of [views, `${views}-stage`])
      await new Promise((resolve) => execFile('umount', ['-R', folder], resolve));
    await rm(config.stateDir, { recursive: true, force: true });
  }
  console.log(`wrote ${writeResult('jobs', result)}`);
}

await main();
