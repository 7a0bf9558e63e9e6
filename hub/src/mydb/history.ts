/**
 * The history of a user's MyDB queries, quick and batch, as CasJobs keeps it: text, context,
 * session, when, how long, rows, status, error, the table it filled. A quick query is written
 * when it starts and again when it ends; writing the record never decides the query's fate: a
 * failed write is logged and the answer goes out all the same. Batch queries are their own
 * records (batch/store.ts). Rows go with the account (ON DELETE CASCADE, migration 0010).
 *
 * A quick query's two writes run beside it, not before and after it on the answer's path (each
 * is a commit, slower than a small query): the end waits for the start, `list` waits for every
 * write under way (so one sees one's own queries at once), and `settled` lets the hub finish
 * them before it stops.
 */
import type { Db, Queryable } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { type QueryStatus, transition } from './queryStatus.ts';

export interface HistoryEntry {
  id: number;
  kind: 'quick' | 'batch';
  sql: string;
  context: string;
  session: string | null;
  submitted_at: string;
  duration_ms: number | null;
  row_count: number | null;
  status: QueryStatus;
  error: string | null;
  table: string | null;
}

export interface HistoryFilter {
  /** Words searched for in the SQL text (case-insensitive, literally: `%` and `_` are themselves). */
  q?: string;
  kind?: 'quick' | 'batch';
  limit: number;
  offset: number;
}

export interface QuickStart {
  userId: number;
  sql: string;
  context: string;
  session: string | null;
  table: string | null;
}

export class QueryHistory {
  /** Writes under way. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /**
   * The record of a quick query starting now, written beside the query: its id, or undefined
   * (logged) if it could not be written. Never rejects.
   */
  started(start: QuickStart): Promise<number | undefined> {
    return this.track(this.insertStarted(start));
  }

  /** Every write under way has ended. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private track<T>(write: Promise<T>): Promise<T> {
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
    return write;
  }

  private async insertStarted(start: QuickStart): Promise<number | undefined> {
    try {
      const { rows } = await this.db.query(
        `INSERT INTO mydb_queries (user_id, kind, sql, context, session, target_table, status, started_at)
         VALUES ($1, 'quick', $2, $3, $4, $5, 'running', now()) RETURNING id`,
        [start.userId, start.sql, start.context, start.session, start.table],
      );
      return rows[0].id;
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not record a MyDB query in the history');
      return undefined;
    }
  }

  /** The quick query whose record `started` gave ended so; written beside the answer. Never rejects. */
  ended(
    record: Promise<number | undefined>,
    status: 'finished' | 'failed' | 'timed_out' | 'cancelled',
    details: { rowCount?: number; error?: string; errorPosition?: number },
  ): Promise<void> {
    return this.track(record.then((id) => this.transition(id, status, details)));
  }

  private async transition(
    id: number | undefined,
    status: 'finished' | 'failed' | 'timed_out' | 'cancelled',
    details: { rowCount?: number; error?: string; errorPosition?: number },
  ): Promise<void> {
    if (id === undefined) return;
    try {
      await transition(this.db, id, status, details);
    } catch (err) {
      this.log.warn({ id, err: String(err) }, 'could not record the end of a MyDB query');
    }
  }

  /** The user's queries, newest first, with the total matching `filter`. */
  async list(
    userId: number,
    filter: HistoryFilter,
  ): Promise<{ queries: HistoryEntry[]; total: number }> {
    await this.settled();
    const where = [
      'user_id = $1',
      '($2::text IS NULL OR kind = $2)',
      '($3::text IS NULL OR strpos(lower(sql), lower($3)) > 0)',
    ].join(' AND ');
    const args = [userId, filter.kind ?? null, filter.q || null];
    const { rows } = await this.db.query(
      `SELECT ${ENTRY_COLUMNS} FROM mydb_queries WHERE ${where}
        ORDER BY id DESC LIMIT $4 OFFSET $5`,
      [...args, filter.limit, filter.offset],
    );
    const counted = await this.db.query(
      `SELECT count(*)::int AS total FROM mydb_queries WHERE ${where}`,
      args,
    );
    return { queries: rows.map(asEntry), total: counted.rows[0].total };
  }
}

const ENTRY_COLUMNS = `id, kind, sql, context, session, submitted_at, duration_ms, row_count,
  status, error, target_table`;

function asEntry(row: Record<string, unknown>): HistoryEntry {
  return {
    id: row.id as number,
    kind: row.kind as HistoryEntry['kind'],
    sql: row.sql as string,
    context: row.context as string,
    session: (row.session as string | null) ?? null,
    submitted_at: (row.submitted_at as Date).toISOString(),
    duration_ms: (row.duration_ms as number | null) ?? null,
    row_count: (row.row_count as number | null) ?? null,
    status: row.status as QueryStatus,
    error: (row.error as string | null) ?? null,
    table: (row.target_table as string | null) ?? null,
  };
}

/** Every query record of the user goes with the account (the cascade does it too; this is explicit). */
export async function deleteHistory(db: Queryable, userId: number): Promise<void> {
  await db.query('DELETE FROM mydb_queries WHERE user_id = $1', [userId]);
}
