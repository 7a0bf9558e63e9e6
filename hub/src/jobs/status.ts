/**
 * The one place a job's status changes: a compare-and-set from the statuses a step may leave
 * to the one it reaches. Whoever loses a race (two hubs recording one exit, a cancel beside a
 * finish) gets null and does nothing more, so each outcome is recorded once.
 */
import type { Queryable } from '../db/pool.ts';

export const JOB_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_STATUSES: readonly JobStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
];

export const FAILURES = [
  'exit_code',
  'oom',
  'image_missing',
  'start_failed',
  'cell_error',
  'notebook_error',
] as const;
/** Why a job failed: see docs/jobs.md, "Statuses". */
export type Failure = (typeof FAILURES)[number];

/** Which status each status may become: queued and running are the only ones with a way on. */
const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running', 'cancelled'],
  // Back to queued only when the container of a claimed start never came to be.
  running: ['queued', 'succeeded', 'failed', 'cancelled', 'timed_out'],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
};

/** What a step records beside the status. */
export interface StatusChange {
  /** running: the dispatcher that claimed it and the container it will have. */
  dispatcher?: string;
  containerName?: string;
  exitCode?: number | null;
  failure?: Failure;
  message?: string;
  stdout?: string;
  stderr?: string;
  /** Each stream's whole length in bytes (the kept text is its tail). */
  stdoutBytes?: number;
  stderrBytes?: number;
}

/**
 * Move job `id` from any of `from` to `to`; returns the job's id, or null when it was not in
 * `from` any more (someone else moved it first). Throws for a step the status graph lacks.
 */
export async function transition(
  db: Queryable,
  id: number,
  from: readonly JobStatus[],
  to: JobStatus,
  change: StatusChange = {},
): Promise<number | null> {
  for (const status of from) {
    if (!NEXT[status].includes(to)) throw new Error(`a job cannot go from ${status} to ${to}`);
  }
  // The change and, for an end, its line in the owner's activity log: one statement.
  const { rows } = await db.query(
    `WITH moved AS (UPDATE jobs SET
       status = $3,
       dispatcher = CASE WHEN $3 = 'running' THEN $4 ELSE NULL END,
       heartbeat_at = CASE WHEN $3 = 'running' THEN now() ELSE NULL END,
       container_name = CASE WHEN $3 = 'running' THEN $5 ELSE container_name END,
       attempts = attempts + CASE WHEN $3 = 'running' THEN 1 ELSE 0 END,
       started_at = CASE WHEN $3 = 'running' THEN now() WHEN $3 = 'queued' THEN NULL
                         ELSE started_at END,
       finished_at = CASE WHEN $3 IN ('queued', 'running') THEN NULL ELSE now() END,
       exit_code = $6, failure = $7, message = $8,
       stdout = coalesce($9, stdout), stderr = coalesce($10, stderr),
       stdout_bytes = coalesce($11, stdout_bytes), stderr_bytes = coalesce($12, stderr_bytes)
     WHERE id = $1 AND status = ANY($2) RETURNING id, user_id, status, failure, exit_code),
     logged AS (
       INSERT INTO activity (user_id, actor_id, type, payload)
       SELECT user_id, user_id, 'job.end',
              jsonb_build_object('job', id, 'status', status, 'failure', failure,
                                 'exit_code', exit_code)
         FROM moved WHERE status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))
     SELECT id FROM moved`,
    [
      id,
      from,
      to,
      change.dispatcher ?? null,
      change.containerName ?? null,
      change.exitCode ?? null,
      change.failure ?? null,
      change.message ?? null,
      change.stdout ?? null,
      change.stderr ?? null,
      change.stdoutBytes ?? null,
      change.stderrBytes ?? null,
    ],
  );
  return rows[0]?.id === undefined ? null : Number(rows[0].id);
}
