/**
 * The one place a MyDB query's status changes (migration 0010's `mydb_queries`). Each change is a
 * compare-and-set: it applies only if the row is in a state the move is allowed from (and, for a
 * batch query, still held by the runner that asks), so a cancel and a finish racing each other,
 * or two hubs, cannot both win.
 *
 *   queued  → running | cancelled                      (batch only)
 *   running → finished | failed | cancelled | timed_out (timed_out: quick only; a batch query
 *                                                        past its limit is failed, saying so)
 */
import type { Queryable } from '../db/pool.ts';

export type QueryStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled' | 'timed_out';

const ALLOWED_FROM: Record<QueryStatus, readonly QueryStatus[]> = {
  queued: [],
  running: ['queued'],
  finished: ['running'],
  failed: ['running'],
  timed_out: ['running'],
  cancelled: ['queued', 'running'],
};

export interface Ending {
  rowCount?: number | null;
  error?: string | null;
  errorPosition?: number | null;
}

export interface TransitionGuard {
  /** Only if the row is held by this runner (a hub process). */
  runner?: string;
  /** Only if the runner has not beaten its heart for this many seconds (its hub stopped). */
  staleSeconds?: number;
}

/**
 * Move query `id` to `to`; true if it moved. Starting (`running`) stamps `started_at` and the
 * runner's heartbeat; an ending stamps `finished_at` and the duration since it started.
 */
export async function transition(
  db: Queryable,
  id: number,
  to: QueryStatus,
  details: Ending & { runner?: string } = {},
  guard: TransitionGuard = {},
): Promise<boolean> {
  const from = ALLOWED_FROM[to];
  const starting = to === 'running';
  const { rowCount } = await db.query(
    `UPDATE mydb_queries SET status = $2,
            started_at = CASE WHEN $3 THEN now() ELSE started_at END,
            runner = CASE WHEN $3 THEN $4 ELSE runner END,
            heartbeat_at = CASE WHEN $3 THEN now() ELSE NULL END,
            finished_at = CASE WHEN $3 THEN NULL ELSE now() END,
            duration_ms = CASE WHEN $3 OR started_at IS NULL THEN NULL
                          ELSE round(extract(epoch FROM now() - started_at) * 1000) END,
            row_count = $5, error = $6, error_position = $7
      WHERE id = $1 AND status = ANY($8::text[]) AND ($9::text IS NULL OR runner = $9)
        AND ($10::int IS NULL OR heartbeat_at < now() - make_interval(secs => $10))`,
    [
      id,
      to,
      starting,
      details.runner ?? null,
      details.rowCount ?? null,
      details.error ?? null,
      details.errorPosition ?? null,
      from,
      guard.runner ?? null,
      guard.staleSeconds ?? null,
    ],
  );
  return (rowCount ?? 0) > 0;
}
