/**
 * The batch queue in the hub's database (migration 0010's `mydb_queries`, kind `batch`). Every
 * hub process sharing the database takes work from it; status changes go through
 * queryStatus.ts's compare-and-set.
 */
import type { Db, Queryable } from '../../db/pool.ts';
import { inTransaction } from '../../db/pool.ts';
import type { QueryStatus } from '../queryStatus.ts';
import { transition } from '../queryStatus.ts';

export interface BatchRecord {
  id: number;
  userId: number;
  sql: string;
  context: string;
  table: string;
  status: QueryStatus;
  timeoutSeconds: number | null;
  queuePosition: number | null;
  submittedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  rowCount: number | null;
  error: string | null;
  errorPosition: number | null;
}

/**
 * A queued query's place in the fair order: each user's k-th waiting query (from 0) takes turn
 * (queries the user has running + k), turns ordered by age. This is exactly the order the
 * dispatcher would start them in if nothing finished or arrived meanwhile.
 */
const FAIR_ORDER = `
  running AS (SELECT user_id, count(*) AS n FROM mydb_queries
               WHERE kind = 'batch' AND status = 'running' GROUP BY user_id),
  waiting AS (SELECT q.id, coalesce(r.n, 0)
                        + row_number() OVER (PARTITION BY q.user_id ORDER BY q.id) - 1 AS turn
                FROM mydb_queries q LEFT JOIN running r ON r.user_id = q.user_id
               WHERE q.kind = 'batch' AND q.status = 'queued'),
  positions AS (SELECT id, row_number() OVER (ORDER BY turn, id) AS queue_position FROM waiting)`;

const COLUMNS = `q.id, q.user_id AS "userId", q.sql, q.context, q.target_table AS "table", q.status,
  q.timeout_seconds AS "timeoutSeconds", p.queue_position::int AS "queuePosition",
  q.submitted_at AS "submittedAt", q.started_at AS "startedAt", q.finished_at AS "finishedAt",
  q.row_count AS "rowCount", q.error, q.error_position AS "errorPosition"`;

export async function insertBatch(
  db: Queryable,
  batch: {
    userId: number;
    sql: string;
    context: string;
    /** null: named `batch_<id>` in the same statement. */
    table: string | null;
    timeoutSeconds: number | null;
  },
): Promise<number> {
  const { rows } = await db.query(
    `WITH next AS (SELECT nextval(pg_get_serial_sequence('mydb_queries', 'id')) AS id)
     INSERT INTO mydb_queries (id, user_id, kind, sql, context, target_table, status, timeout_seconds)
     OVERRIDING SYSTEM VALUE
     SELECT next.id, $1, 'batch', $2, $3, coalesce($4, 'batch_' || next.id), 'queued', $5 FROM next
     RETURNING id`,
    [batch.userId, batch.sql, batch.context, batch.table, batch.timeoutSeconds],
  );
  return rows[0].id;
}

export async function countQueued(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM mydb_queries WHERE user_id = $1 AND kind = 'batch' AND status = 'queued'`,
    [userId],
  );
  return rows[0].n;
}

export async function findBatch(
  db: Queryable,
  userId: number,
  id: number,
): Promise<BatchRecord | undefined> {
  const { rows } = await db.query(
    `WITH ${FAIR_ORDER}
     SELECT ${COLUMNS} FROM mydb_queries q LEFT JOIN positions p ON p.id = q.id
      WHERE q.id = $1 AND q.user_id = $2 AND q.kind = 'batch'`,
    [id, userId],
  );
  return rows[0];
}

export async function listBatches(
  db: Queryable,
  userId: number,
  filter: { status?: QueryStatus; limit: number; offset: number },
): Promise<{ queries: BatchRecord[]; total: number }> {
  const where = `q.user_id = $1 AND q.kind = 'batch' AND ($2::text IS NULL OR q.status = $2)`;
  const { rows } = await db.query(
    `WITH ${FAIR_ORDER}
     SELECT ${COLUMNS} FROM mydb_queries q LEFT JOIN positions p ON p.id = q.id
      WHERE ${where} ORDER BY q.id DESC LIMIT $3 OFFSET $4`,
    [userId, filter.status ?? null, filter.limit, filter.offset],
  );
  const counted = await db.query(
    `SELECT count(*)::int AS total FROM mydb_queries q WHERE ${where}`,
    [userId, filter.status ?? null],
  );
  return { queries: rows, total: counted.rows[0].total };
}

/** Serialises dispatch across hub processes: the caps are counted and taken in one step. */
const DISPATCH_LOCK = "SELECT pg_advisory_xact_lock(hashtext('orrery.mydb.batch.dispatch'))";

/**
 * Take the next query to run, if the caps allow one, and mark it running for `runner`. The pick
 * is fair: among users below their cap, the one with the fewest running; their oldest query;
 * ties by age. The advisory lock makes count-then-start atomic across hubs (a rule that reads
 * then writes takes a lock); `FOR UPDATE SKIP LOCKED` passes over a row a cancel holds rather
 * than wait for it.
 */
export async function claimNext(
  db: Db,
  runner: string,
  caps: { perUser: number; total: number },
): Promise<BatchRecord | undefined> {
  return inTransaction(db, async (client) => {
    await client.query(DISPATCH_LOCK);
    const { rows: running } = await client.query(
      `SELECT count(*)::int AS n FROM mydb_queries WHERE kind = 'batch' AND status = 'running'`,
    );
    if (running[0].n >= caps.total) return undefined;
    const { rows } = await client.query(
      `WITH running AS (SELECT user_id, count(*) AS n FROM mydb_queries
                         WHERE kind = 'batch' AND status = 'running' GROUP BY user_id)
       SELECT q.id FROM mydb_queries q LEFT JOIN running r ON r.user_id = q.user_id
        WHERE q.kind = 'batch' AND q.status = 'queued' AND coalesce(r.n, 0) < $1
        ORDER BY coalesce(r.n, 0), q.id
        LIMIT 1 FOR UPDATE OF q SKIP LOCKED`,
      [caps.perUser],
    );
    const id = rows[0]?.id as number | undefined;
    if (id === undefined) return undefined;
    if (!(await transition(client, id, 'running', { runner }))) return undefined;
    const { rows: claimed } = await client.query(
      `SELECT ${COLUMNS} FROM mydb_queries q CROSS JOIN (SELECT NULL::int AS queue_position) p
        WHERE q.id = $1`,
      [id],
    );
    return claimed[0];
  });
}

/**
 * The runner is alive: stamp the heartbeat of the queries it runs. Answers the ids still running
 * under it; one missing was cancelled (perhaps by another hub) or its account deleted.
 */
export async function beat(db: Queryable, runner: string, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query(
    `UPDATE mydb_queries SET heartbeat_at = now()
      WHERE id = ANY($1::bigint[]) AND runner = $2 AND status = 'running' RETURNING id`,
    [ids, runner],
  );
  return new Set(rows.map((row) => row.id as number));
}

/** Running queries whose runner has not beaten for `staleSeconds`: their hub stopped. */
export async function staleRunning(
  db: Queryable,
  staleSeconds: number,
): Promise<{ id: number; userId: number; runner: string }[]> {
  const { rows } = await db.query(
    `SELECT id, user_id AS "userId", runner FROM mydb_queries
      WHERE kind = 'batch' AND status = 'running'
        AND heartbeat_at < now() - make_interval(secs => $1)`,
    [staleSeconds],
  );
  return rows;
}
