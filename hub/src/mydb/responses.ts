/** What the MyDB routes answer. */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp, Username } from '../http/schemas.ts';
import { QuickQueryModeFields } from './batchSchemas.ts';

export const MydbSpace = Strict({
  schema: Type.String({ description: 'Your schema in the science database' }),
  role: Type.String({ description: 'The PostgreSQL role your queries will run as' }),
  quota_bytes: Type.Integer({ minimum: 0 }),
  used_bytes: Type.Integer({ minimum: 0, description: 'Tables and their indexes, in bytes' }),
  over_quota: Type.Boolean({
    description: 'Over its quota: writing is refused until tables are dropped or truncated',
  }),
  scratch_schema: Type.String({ description: 'Your MyScratch schema (no quota, tables expire)' }),
  created_at: Timestamp,
});

export const QuotaBody = Type.Object(
  { quota_bytes: Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 }) },
  { additionalProperties: false },
);

const TableName = Type.String({ minLength: 1, maxLength: 63 });

export const ShareBody = Type.Union([
  Type.Object(
    { table: Type.Optional(TableName), user: Type.String({ minLength: 1, maxLength: 64 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { table: Type.Optional(TableName), group: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { table: Type.Optional(TableName), public: Type.Literal(true) },
    { additionalProperties: false },
  ),
]);

export const Share = Strict({
  id: Type.Integer({ description: 'The RACM privilege; DELETE …/shares/{id} takes it back' }),
  table: Nullable(Type.String({ description: 'The shared table; null: the whole MyDB' })),
  user: Nullable(Type.String()),
  group: Nullable(Strict({ id: Type.Integer(), name: Type.String() })),
  public: Type.Boolean({ description: 'Shared with everyone (the Public group)' }),
  granted_at: Timestamp,
});

export const ShareList = Strict({ shares: Type.Array(Share) });

export const DatabaseContextList = Type.Array(
  Strict({
    name: Type.String({
      description:
        'The context’s name: `mydb` your own MyDB, `myscratch` your MyScratch, `mydb:<owner>` a MyDB shared with you, else a catalog',
    }),
    kind: Type.Union([
      Type.Literal('mydb'),
      Type.Literal('myscratch'),
      Type.Literal('catalog'),
      Type.Literal('shared'),
    ]),
    schema: Type.String({ description: 'Its schema in the science database' }),
    description: Type.String(),
    actions: Type.Array(Type.String(), { description: 'What you may do with it (RACM actions)' }),
  }),
);

const Column = Strict({
  name: Type.String(),
  type: Type.String({ description: 'PostgreSQL type' }),
  unit: Nullable(Type.String({ description: 'Unit, e.g. deg, mag, mas/yr' })),
  description: Nullable(Type.String()),
});

export const ContextTables = Type.Array(
  Strict({
    name: Type.String(),
    kind: Type.Union([
      Type.Literal('table'),
      Type.Literal('view'),
      Type.Literal('materialized_view'),
    ]),
    description: Nullable(Type.String()),
    row_estimate: Nullable(
      Type.Integer({ minimum: 0, description: 'Rows, as the planner estimates them' }),
    ),
    columns: Type.Array(Column),
  }),
);

export const ContextFunctions = Type.Array(
  Strict({
    name: Type.String(),
    schema: Type.String({
      description: 'Where it lives: the context’s schema, or `orrery` (shared)',
    }),
    kind: Type.Union([
      Type.Literal('function'),
      Type.Literal('procedure'),
      Type.Literal('aggregate'),
      Type.Literal('window'),
    ]),
    arguments: Type.String({ description: 'Arguments as PostgreSQL prints them, with defaults' }),
    returns: Nullable(Type.String({ description: 'Result type (null for a procedure)' })),
    unit: Nullable(Type.String({ description: 'Unit of the result, e.g. deg' })),
    description: Nullable(Type.String()),
  }),
);

export const QuickQueryBody = Type.Object(
  {
    sql: Type.String({
      minLength: 1,
      maxLength: 60_000,
      description: 'One statement or a script; the last statement’s result is answered',
    }),
    context: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'A context from GET /mydb/contexts (default mydb): its schema comes first in the search_path, then your MyDB',
      }),
    ),
    max_rows: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'At most the hub’s cap (ORRERY_MYDB_QUICK_MAX_ROWS)',
      }),
    ),
    timeout_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'At most the hub’s limit (ORRERY_MYDB_QUICK_TIMEOUT_SECONDS)',
      }),
    ),
    ...QuickQueryModeFields,
  },
  { additionalProperties: false },
);

export const QuickQueryResult = Strict({
  columns: Type.Array(
    Strict({
      name: Type.String(),
      type: Type.String({ description: 'The column’s SQL type, e.g. bigint' }),
    }),
  ),
  rows: Type.Array(
    Type.Array(Type.Unknown(), {
      description: '64-bit integers and numerics as strings; timestamps as ISO 8601 strings',
    }),
  ),
  row_count: Type.Integer({ minimum: 0, description: 'Rows in `rows`' }),
  truncated: Type.Boolean({ description: 'More rows than `rows` holds: the row cap was reached' }),
  command: Nullable(
    Type.String({ description: 'The last statement’s command (SELECT, INSERT, …)' }),
  ),
  elapsed_ms: Type.Integer({ minimum: 0 }),
});

/** A table of the user's MyDB named in a path: as PostgreSQL stores it (case kept). */
export const TableParams = Type.Object(
  {
    name: Username,
    table: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }),
  },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(
  {
    format: Type.Union(
      [Type.Literal('csv'), Type.Literal('votable'), Type.Literal('fits'), Type.Literal('parquet')],
      { description: 'csv, votable (TABLEDATA), fits (BINTABLE) or parquet' },
    ),
  },
  { additionalProperties: false },
);

export const ImportQuery = Type.Object(
  {
    format: Type.Union([Type.Literal('csv'), Type.Literal('votable'), Type.Literal('fits')], {
      description: 'csv (header row; types inferred), votable (TABLEDATA) or fits (BINTABLE)',
    }),
  },
  { additionalProperties: false },
);

export const ExportedFile = Type.Unknown({
  description:
    'The file itself, streamed (Content-Disposition: attachment): text/csv, application/x-votable+xml, application/fits or application/vnd.apache.parquet',
});

export const ImportResult = Strict({
  table: Type.String(),
  row_count: Type.Integer({ minimum: 0 }),
  columns: Type.Array(
    Strict({
      name: Type.String(),
      type: Type.String({
        description: 'The column’s SQL type, as inferred or as the file declared it',
      }),
    }),
  ),
});
