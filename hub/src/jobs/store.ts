/**
 * The job queue in the hub's database (migration 0015). Every hub sharing the database may
 * take work from it: a claim serialises on its domain (an advisory lock, so the caps hold)
 * and takes the job row with FOR UPDATE SKIP LOCKED (so a cancel holding it is passed over).
 */
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import type { BatchLimits } from './config.ts';
import { type Failure, type JobStatus, transition } from './status.ts';

export type JobKind = 'command' | 'notebook';

export interface JobDefinition {
  kind: JobKind;
  /** A command job's shell command line (null for a notebook job). */
  command: string | null;
  /** A notebook job's notebook, relative to the workspace (null for a command job). */
  notebook: string | null;
  /** A notebook's parameters, or a sweep command job's parameter set. */
  parameters: Record<string, unknown> | null;
  image: string;
  domain: string;
  workingDir: string;
  cpus: number;
  memoryBytes: number;
  timeLimitSeconds: number;
}

export interface JobRecord extends JobDefinition {
  id: number;
  userId: number;
  status: JobStatus;
  failure: Failure | null;
  message: string | null;
  exitCode: number | null;
  idempotencyKey: string | null;
  resubmittedFrom: number | null;
  sweepId: string | null;
  attempts: number;
  dispatcher: string | null;
  containerName: string | null;
  queuePosition: number | null;
  submittedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * Each user's recent use of a domain, in CPU-seconds: running jobs count their time so far
 * (at least one second, so a job started this instant already counts), finished ones their
 * run time halved every `$2` seconds since they ended (forgotten after 20 half-lives). The
 * two parts are read apart, each through its own index (jobs_running, jobs_recent), so the
 * queued rows are never read: what this costs grows with the running and recent jobs only.
 */
const USAGE = `
  usage AS MATERIALIZED (
    SELECT user_id, sum(used) AS used FROM (
      SELECT user_id, cpus * greatest(extract(epoch FROM now() - started_at), 1) AS used
        FROM jobs WHERE domain = $1 AND status = 'running' AND started_at IS NOT NULL
      UNION ALL
      SELECT user_id, cpus * extract(epoch FROM finished_at - started_at)
                      * power(0.5, extract(epoch FROM now() - finished_at) / $2)
        FROM jobs
       WHERE domain = $1 AND finished_at > now() - make_interval(secs => $2 * 20)
         AND status <> 'running' AND started_at IS NOT NULL) parts
     GROUP BY user_id),
  running AS MATERIALIZED (SELECT user_id, count(*) AS n FROM jobs
               WHERE domain = $1 AND status = 'running' GROUP BY user_id)`;

/**
 * The claim's candidates: each waiting user's oldest queued job in the domain (their turn 0 of
 * the fair order below), with the user's use and running count. The users are found by a skip
 * scan of jobs_queued (domain, user_id, id) — one index probe per user, not a read of every
 * queued job — and each one's oldest job by one more probe, so a claim costs the same with ten
 * jobs queued or ten thousand (docs/jobs.md, "The queue and fair share").
 */
const CANDIDATES = `
  waiting(user_id) AS (
    (SELECT user_id FROM jobs WHERE domain = $1 AND status = 'queued' ORDER BY user_id LIMIT 1)
    UNION ALL
    SELECT (SELECT q.user_id FROM jobs q
             WHERE q.domain = $1 AND q.status = 'queued' AND q.user_id > w.user_id
             ORDER BY q.user_id LIMIT 1)
      FROM waiting w WHERE w.user_id IS NOT NULL),
  ${USAGE},
  candidates AS MATERIALIZED (
    SELECT (SELECT q.id FROM jobs q
             WHERE q.domain = $1 AND q.status = 'queued' AND q.user_id = w.user_id
             ORDER BY q.id LIMIT 1) AS id,
           coalesce(u.used, 0) AS used, coalesce(r.n, 0) AS running
      FROM waiting w LEFT JOIN usage u USING (user_id) LEFT JOIN running r USING (user_id)
     WHERE w.user_id IS NOT NULL)`;

const COLUMNS = `j.id::int, j.user_id::int AS "userId", j.kind, j.command, j.notebook,
  j.parameters, j.sweep_id AS "sweepId", j.image, j.domain,
  j.working_dir AS "workingDir", j.cpus, j.memory_bytes::float8 AS "memoryBytes",
  j.time_limit_seconds AS "timeLimitSeconds", j.status, j.failure, j.message,
  j.exit_code AS "exitCode", j.idempotency_key AS "idempotencyKey",
  j.resubmitted_from::int AS "resubmittedFrom", j.attempts, j.dispatcher,
  j.container_name AS "containerName", j.submitted_at AS "submittedAt",
  j.started_at AS "startedAt", j.finished_at AS "finishedAt"`;

/**
 * Queue a job. With an idempotency key the user already used, nothing is queued and the job
 * that key made comes back with `created: false`.
 */
export async function insertJob(
  db: Queryable,
  job: JobDefinition & { userId: number; idempotencyKey: string | null; resubmittedFrom?: number },
): Promise<{ id: number; created: boolean }> {
  const { rows } = await db.query(
    `INSERT INTO jobs (user_id, kind, command, notebook, parameters, image, domain, working_dir,
                       cpus, memory_bytes, time_limit_seconds, idempotency_key, resubmitted_from)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING id::int`,
    [
      job.userId,
      job.kind,
      job.command,
      job.notebook,
      job.parameters === null ? null : JSON.stringify(job.parameters),
      job.image,
      job.domain,
      job.workingDir,
      job.cpus,
      job.memoryBytes,
      job.timeLimitSeconds,
      job.idempotencyKey,
      job.resubmittedFrom ?? null,
    ],
  );
  if (rows[0]) return { id: rows[0].id, created: true };
  const existing = await db.query(
    'SELECT id::int FROM jobs WHERE user_id = $1 AND idempotency_key = $2',
    [job.userId, job.idempotencyKey],
  );
  return { id: existing.rows[0].id, created: false };
}

/**
 * Queue one job per parameter set, all or none, under one new sweep id; their ids in the
 * order of the sets. One statement, so a sweep of 1,000 is one round trip.
 */
export async function insertSweep(
  db: Queryable,
  userId: number,
  definition: JobDefinition,
  parameterSets: Record<string, unknown>[],
): Promise<{ sweepId: string; ids: number[] }> {
  const { rows } = await db.query(
    `WITH sweep AS (SELECT gen_random_uuid() AS id)
     INSERT INTO jobs (user_id, kind, command, notebook, parameters, image, domain, working_dir,
                       cpus, memory_bytes, time_limit_seconds, sweep_id)
     SELECT $1, $2, $3, $4, p.set, $6, $7, $8, $9, $10, $11, sweep.id
       FROM sweep, jsonb_array_elements($5::jsonb) WITH ORDINALITY AS p(set, n)
      ORDER BY p.n
     RETURNING id::int, sweep_id::text AS "sweepId"`,
    [
      userId,
      definition.kind,
      definition.command,
      definition.notebook,
      JSON.stringify(parameterSets),
      definition.image,
      definition.domain,
      definition.workingDir,
      definition.cpus,
      definition.memoryBytes,
      definition.timeLimitSeconds,
    ],
  );
  // Identity values follow the insert order, which the ORDER BY fixes: sort to be sure.
  const ids = rows.map((r) => r.id as number).sort((a, b) => a - b);
  return { sweepId: rows[0].sweepId, ids };
}

/** What an estimate of queued jobs' start needs of a domain (docs/jobs.md, "Estimated start"). */
export interface DomainLoad {
  /** Running jobs: when each started and its time limit. */
  running: { startedAt: Date; timeLimitSeconds: number }[];
  /** The median run time of the domain's last 50 jobs that ran to an end, null without any. */
  typicalSeconds: number | null;
}

export async function domainLoad(db: Queryable, domain: string): Promise<DomainLoad> {
  const running = await db.query(
    `SELECT started_at AS "startedAt", time_limit_seconds AS "timeLimitSeconds" FROM jobs
      WHERE domain = $1 AND status = 'running' AND started_at IS NOT NULL`,
    [domain],
  );
  const typical = await db.query(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::float8 AS median
       FROM (SELECT extract(epoch FROM finished_at - started_at) AS seconds FROM jobs
              WHERE domain = $1 AND started_at IS NOT NULL AND finished_at IS NOT NULL
                AND status IN ('succeeded', 'failed', 'timed_out')
              ORDER BY finished_at DESC LIMIT 50) recent`,
    [domain],
  );
  return { running: running.rows, typicalSeconds: typical.rows[0]?.median ?? null };
}

/** A job's kept output: the tail of each stream and each stream's whole length in bytes. */
export async function keptOutput(db: Queryable, id: number) {
  const { rows } = await db.query(
    `SELECT coalesce(stdout, '') AS stdout, coalesce(stderr, '') AS stderr,
            stdout_bytes::float8 AS "stdoutBytes", stderr_bytes::float8 AS "stderrBytes"
       FROM jobs WHERE id = $1`,
    [id],
  );
  return rows[0] as {
    stdout: string;
    stderr: string;
    stdoutBytes: number | null;
    stderrBytes: number | null;
  };
}

/** The domains where `userId` has running jobs (their volume view must be kept there too). */
export async function runningJobDomains(db: Queryable, userId: number): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT domain FROM jobs WHERE user_id = $1 AND status = 'running'`,
    [userId],
  );
  return rows.map((r) => r.domain);
}

/** Users with a running job (their volume views are reconciled at hub start). */
export async function usersWithRunningJobs(db: Queryable): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT user_id::int AS id FROM jobs WHERE status = 'running'`,
  );
  return rows.map((r) => r.id);
}

/**
 * Every queued job's place in its domain's fair order, computed once for all of them, for
 * every domain at once: users take turns, least recent use first (the use of USAGE); each
 * user's own jobs go oldest first. A user's k-th waiting job (from 0) has turn k; turns are
 * ordered by (turn, use, id). `$2` is the half-life. Each part is MATERIALIZED (computed
 * once): inlined, the planner, which sees a young jobs table as one row, re-ran the ranking
 * for every queued row. This reads every queued job; the claim does not (CANDIDATES).
 */
const POSITIONS = `
  usage_all AS MATERIALIZED (
    SELECT domain, user_id, sum(cpus * CASE
             WHEN status = 'running' THEN greatest(extract(epoch FROM now() - started_at), 1)
             ELSE extract(epoch FROM finished_at - started_at)
                  * power(0.5, extract(epoch FROM now() - finished_at) / $2)
           END) AS used
      FROM jobs
     WHERE started_at IS NOT NULL
       AND (status = 'running' OR finished_at > now() - make_interval(secs => $2 * 20))
     GROUP BY domain, user_id),
  ranked_all AS MATERIALIZED (
    SELECT q.id, q.domain,
           row_number() OVER (PARTITION BY q.domain, q.user_id ORDER BY q.id) - 1 AS turn,
           coalesce(u.used, 0) AS used
      FROM jobs q LEFT JOIN usage_all u ON u.domain = q.domain AND u.user_id = q.user_id
     WHERE q.status = 'queued'),
  positions AS MATERIALIZED (
    SELECT id, row_number() OVER (PARTITION BY domain ORDER BY turn, used, id) AS position
      FROM ranked_all)`;

/** A user's jobs, newest first (or one of them), with queued jobs' places in their domain. */
export async function listJobs(
  db: Queryable,
  filter: {
    userId?: number;
    id?: number;
    status?: JobStatus;
    sweepId?: string;
    limit?: number;
    offset?: number;
  },
  halfLifeSeconds: number,
): Promise<JobRecord[]> {
  const { rows } = await db.query(
    `WITH ${POSITIONS}
     SELECT ${COLUMNS}, p.position::int AS "queuePosition"
       FROM jobs j LEFT JOIN positions p ON p.id = j.id
      WHERE ($1::bigint IS NULL OR j.user_id = $1) AND ($3::bigint IS NULL OR j.id = $3)
        AND ($4::text IS NULL OR j.status = $4) AND ($7::uuid IS NULL OR j.sweep_id = $7)
      ORDER BY j.id DESC LIMIT $5 OFFSET $6`,
    [
      filter.userId ?? null,
      halfLifeSeconds,
      filter.id ?? null,
      filter.status ?? null,
      filter.limit ?? 100,
      filter.offset ?? 0,
      filter.sweepId ?? null,
    ],
  );
  return rows;
}

/**
 * Claim the next job of `domain` for `dispatcher`, or null when none may start: the domain
 * or every waiting user is at its cap, or nothing waits. The job is `running` when this
 * returns; its container is started next (and found again by name if this hub dies first).
 */
export async function claimNext(
  db: Db,
  domain: string,
  limits: BatchLimits,
  halfLifeSeconds: number,
  dispatcher: string,
  containerNameOf: (id: number) => string,
): Promise<JobRecord | null> {
  return inTransaction(db, async (client) => {
    // One claim per domain at a time, across hubs: the caps below are read, then written.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('orrery.jobs:' || $1))`, [domain]);
    const { rows: count } = await client.query(
      `SELECT count(*)::int AS n FROM jobs WHERE domain = $1 AND status = 'running'`,
      [domain],
    );
    if (count[0].n >= limits.maxRunning) return null;
    // The fair order's first job among users below their cap: the least used user's oldest
    // job, ties to the oldest. Only turn-0 jobs compete, so a user whose oldest job a cancel
    // holds (SKIP LOCKED) waits for the next claim, as their turn would in the full order.
    const { rows } = await client.query(
      `WITH RECURSIVE ${CANDIDATES}
       SELECT j.id::int FROM jobs j JOIN candidates c ON c.id = j.id
        WHERE c.running < $3 AND j.status = 'queued'
        ORDER BY c.used, c.id LIMIT 1
          FOR UPDATE OF j SKIP LOCKED`,
      [domain, halfLifeSeconds, limits.maxRunningPerUser],
    );
    if (!rows[0]) return null;
    const id: number = rows[0].id;
    await transition(client, id, ['queued'], 'running', {
      dispatcher,
      containerName: containerNameOf(id),
    });
    // A running job has no place in the queue: no need for listJobs' positions of them all.
    return (await jobsById(client, [id]))[0] ?? null;
  });
}

/** Say that `dispatcher` still watches its running jobs. */
export async function heartbeat(db: Queryable, dispatcher: string): Promise<void> {
  await db.query(
    `UPDATE jobs SET heartbeat_at = now() WHERE dispatcher = $1 AND status = 'running'`,
    [dispatcher],
  );
}

/**
 * Take over the running jobs of `domains` whose dispatcher has been silent for
 * `staleSeconds` (its hub died): they are `dispatcher`'s to watch from now on.
 */
export async function adoptStale(
  db: Queryable,
  dispatcher: string,
  domains: readonly string[],
  staleSeconds: number,
): Promise<number[]> {
  const { rows } = await db.query(
    `UPDATE jobs SET dispatcher = $1, heartbeat_at = now()
      WHERE status = 'running' AND domain = ANY($2)
        AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $3))
      RETURNING id::int`,
    [dispatcher, domains, staleSeconds],
  );
  return rows.map((r) => r.id);
}

/** The running jobs `dispatcher` watches. */
export async function runningOf(db: Queryable, dispatcher: string): Promise<JobRecord[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS}, NULL::int AS "queuePosition" FROM jobs j
      WHERE j.dispatcher = $1 AND j.status = 'running' ORDER BY j.id`,
    [dispatcher],
  );
  return rows;
}

/** Jobs by id as they are now, without queue positions (for jobs known not to be queued). */
async function jobsById(db: Queryable, ids: number[]): Promise<JobRecord[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS}, NULL::int AS "queuePosition" FROM jobs j WHERE j.id = ANY($1) ORDER BY j.id`,
    [ids],
  );
  return rows;
}

/** Statuses of the jobs named, for sweeping containers whose job has ended. */
export async function statusesOf(db: Queryable, ids: number[]): Promise<Map<number, JobStatus>> {
  const { rows } = await db.query('SELECT id::int, status FROM jobs WHERE id = ANY($1)', [ids]);
  return new Map(rows.map((r) => [r.id, r.status]));
}
