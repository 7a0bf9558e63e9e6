/**
 * Batch queries as users see them: submit (queued, result always into a MyDB table), list, look
 * at one, cancel. Running them is runner.ts.
 */
import { lockUser } from '../../accounts/store.ts';
import { type ActivityPayload, recordActivity } from '../../activity/store.ts';
import type { Db, Queryable } from '../../db/pool.ts';
import { inTransaction } from '../../db/pool.ts';
import { Conflict, LimitReached, NotFound } from '../../errors.ts';
import { clip } from '../../log.ts';
import type { QueryStatus } from '../queryStatus.ts';
import { transition } from '../queryStatus.ts';
import { tableExists, tableNameOf, tableTakenError } from '../resultTable.ts';
import { signalBackendsNamed } from '../roleConnection.ts';
import { type BatchLimits, type BatchRunner, backendName } from './runner.ts';
import { type BatchRecord, countQueued, findBatch, insertBatch, listBatches } from './store.ts';

export interface BatchRequest {
  sql: string;
  context?: string;
  table?: string;
  timeout_seconds?: number;
}

export interface BatchQueryView {
  id: number;
  sql: string;
  context: string;
  table: string;
  status: 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';
  queue_position: number | null;
  submitted_at: string;
  started_at: string | null;
  finished_at: string | null;
  row_count: number | null;
  error: { message: string; position?: number } | null;
}

/** The user's own space, resolved by the service: who, where their tables go, and their role. */
export interface OwnSpace {
  userId: number;
  /** Where the request came from, for the activity log. */
  address: string | null;
  schema: string;
  role: string;
  /** Throws NotFound for a context the user may not query. */
  checkContext(context: string): Promise<void>;
}

export class BatchQueries {
  constructor(
    private readonly db: Db,
    private readonly scienceAdmin: Db,
    readonly runner: BatchRunner,
    private readonly limits: BatchLimits,
  ) {}

  async submit(space: OwnSpace, request: BatchRequest): Promise<BatchQueryView> {
    const table = request.table === undefined ? null : tableNameOf(request.table);
    const context = request.context ?? 'mydb';
    await space.checkContext(context);
    if (table && (await tableExists(this.scienceAdmin, space.schema, table)))
      throw tableTakenError(table);
    const timeoutSeconds =
      request.timeout_seconds === undefined
        ? null
        : Math.min(request.timeout_seconds, this.limits.timeoutSeconds);
    const id = await inTransaction(this.db, async (client) => {
      // Count and insert under the user's lock: two submissions at once cannot both pass the cap.
      if (!(await lockUser(client, space.userId)))
        throw new NotFound('user', 'Your account no longer exists');
      const queued = await countQueued(client, space.userId);
      if (queued >= this.limits.queuedPerUser)
        throw new LimitReached(
          'batch_queue_full',
          `You already have ${queued} batch queries waiting (the limit is ${this.limits.queuedPerUser}); cancel some or wait`,
          { retryAfterSeconds: 60 },
        );
      const id = await insertBatch(client, {
        userId: space.userId,
        sql: request.sql,
        context,
        table,
        timeoutSeconds,
      });
      await this.record(client, space, { id, status: 'submitted', sql: clip(request.sql, 1000) });
      return id;
    });
    this.runner.kick();
    return this.get(space.userId, id);
  }

  async get(userId: number, id: number): Promise<BatchQueryView> {
    const found = await findBatch(this.db, userId, id);
    if (!found) throw new NotFound('batch_query', `You have no batch query ${id}`);
    return viewOf(found);
  }

  async list(
    userId: number,
    filter: { status?: QueryStatus; limit: number; offset: number },
  ): Promise<{ queries: BatchQueryView[]; total: number }> {
    const { queries, total } = await listBatches(this.db, userId, filter);
    return { queries: queries.map(viewOf), total };
  }

  /** Cancel a queued or running query; its backend is signalled whichever hub runs it. */
  async cancel(space: OwnSpace, id: number): Promise<BatchQueryView> {
    const was = await inTransaction(this.db, async (client) => {
      const { rows } = await client.query(
        `SELECT status FROM mydb_queries WHERE id = $1 AND user_id = $2 AND kind = 'batch' FOR UPDATE`,
        [id, space.userId],
      );
      const status = rows[0]?.status as QueryStatus | undefined;
      if (!status) throw new NotFound('batch_query', `You have no batch query ${id}`);
      if (!(await transition(client, id, 'cancelled')))
        throw new Conflict('batch_query_ended', `Batch query ${id} has already ${status}`);
      await this.record(client, space, { id, status: 'cancelled', was: status });
      return status;
    });
    if (was === 'running') {
      this.runner.stopLocal(id);
      // Another hub's runner also notices at its next heartbeat; this stops the query at once.
      await signalBackendsNamed(
        this.scienceAdmin,
        backendName(id),
        space.role,
        'pg_cancel_backend',
      );
    }
    return this.get(space.userId, id);
  }

  /** Submissions and cancels are events `mydb.batch` in the user's activity log; the rest is the history. */
  private record(client: Queryable, space: OwnSpace, payload: ActivityPayload) {
    return recordActivity(client, {
      type: 'mydb.batch',
      userId: space.userId,
      address: space.address,
      payload,
    });
  }
}

function viewOf(record: BatchRecord): BatchQueryView {
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return {
    id: record.id,
    sql: record.sql,
    context: record.context,
    table: record.table,
    status: record.status as BatchQueryView['status'],
    queue_position: record.status === 'queued' ? record.queuePosition : null,
    submitted_at: record.submittedAt.toISOString(),
    started_at: iso(record.startedAt),
    finished_at: iso(record.finishedAt),
    row_count: record.rowCount,
    error:
      record.error === null
        ? null
        : {
            message: record.error,
            ...(record.errorPosition !== null ? { position: record.errorPosition } : {}),
          },
  };
}
