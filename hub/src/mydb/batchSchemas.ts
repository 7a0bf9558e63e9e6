/** Bodies, queries and answers of batch queries, sessions, `into` and the history (docs/mydb.md). */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp, Username } from '../http/schemas.ts';

const Sql = Type.String({
  minLength: 1,
  maxLength: 60_000,
  description: 'One query (SELECT, WITH, VALUES or TABLE); its result becomes the table',
});
const TableName = Type.String({
  minLength: 1,
  maxLength: 63,
  description: 'A plain identifier ([A-Za-z_][A-Za-z0-9_]*), folded to lower case',
});
const ContextName = Type.String({ minLength: 1, maxLength: 64 });

/** A quick query's own session id: 1-64 characters of [A-Za-z0-9_-]. */
export const SessionName = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** Fields `into` and `session` of the quick query's body. */
export const QuickQueryModeFields = {
  session: Type.Optional(SessionName),
  into: Type.Optional(TableName),
};

export const IntoResult = Strict({
  table: Type.String({ description: 'The new table in your MyDB' }),
  row_count: Type.Integer({ minimum: 0 }),
  elapsed_ms: Type.Integer({ minimum: 0 }),
});

export const BatchBody = Type.Object(
  {
    sql: Sql,
    context: Type.Optional(ContextName),
    table: Type.Optional(TableName),
    timeout_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'At most the hub’s limit (ORRERY_MYDB_BATCH_TIMEOUT_SECONDS)',
      }),
    ),
  },
  { additionalProperties: false },
);

const BatchStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('finished'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);

export const BatchQuery = Strict({
  id: Type.Integer({ minimum: 1 }),
  sql: Type.String(),
  context: Type.String(),
  table: Type.String({ description: 'The MyDB table the result goes to' }),
  status: BatchStatus,
  queue_position: Nullable(
    Type.Integer({
      minimum: 1,
      description: 'While queued: its place in the fair order (1 starts next)',
    }),
  ),
  submitted_at: Timestamp,
  started_at: Nullable(Timestamp),
  finished_at: Nullable(Timestamp),
  row_count: Nullable(Type.Integer({ minimum: 0 })),
  error: Nullable(
    Strict({
      message: Type.String(),
      position: Type.Optional(
        Type.Integer({ minimum: 1, description: 'Character in `sql` where PostgreSQL placed it' }),
      ),
    }),
  ),
});

export const BatchList = Strict({
  queries: Type.Array(BatchQuery),
  total: Type.Integer({ minimum: 0 }),
});

const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
};

export const BatchListQuery = Type.Object(
  { status: Type.Optional(BatchStatus), ...Paging },
  { additionalProperties: false },
);

export const BatchParams = Type.Object({ name: Username, id: Id }, { additionalProperties: false });

export const SessionParams = Type.Object(
  { name: Username, session: SessionName },
  { additionalProperties: false },
);

export const HistoryQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Text searched for in the SQL' })),
    kind: Type.Optional(Type.Union([Type.Literal('quick'), Type.Literal('batch')])),
    ...Paging,
  },
  { additionalProperties: false },
);

export const HistoryList = Strict({
  queries: Type.Array(
    Strict({
      id: Type.Integer({ minimum: 1 }),
      kind: Type.Union([Type.Literal('quick'), Type.Literal('batch')]),
      sql: Type.String(),
      context: Type.String(),
      session: Nullable(Type.String()),
      submitted_at: Timestamp,
      duration_ms: Nullable(Type.Integer({ minimum: 0 })),
      row_count: Nullable(Type.Integer({ minimum: 0 })),
      status: Type.Union([
        Type.Literal('queued'),
        Type.Literal('running'),
        Type.Literal('finished'),
        Type.Literal('failed'),
        Type.Literal('cancelled'),
        Type.Literal('timed_out'),
      ]),
      error: Nullable(Type.String()),
      table: Nullable(Type.String()),
    }),
  ),
  total: Type.Integer({ minimum: 0 }),
});
