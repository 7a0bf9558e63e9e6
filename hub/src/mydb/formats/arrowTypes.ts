/**
 * Which Arrow type each PostgreSQL column becomes, and which columns travel as text. The types
 * listed here are read in PostgreSQL's binary COPY form and written straight into Arrow buffers;
 * every other type (numeric, interval, json, arrays, user types, …) is cast to `text` by the
 * query itself, so no digit and no detail is lost.
 */
import {
  Bool,
  type DataType,
  DateDay,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Schema,
  Timestamp,
  TimeUnit,
  Uint32,
  Utf8,
} from 'apache-arrow';

export const PG = {
  BOOL: 16,
  NAME: 19,
  INT8: 20,
  INT2: 21,
  INT4: 23,
  TEXT: 25,
  OID: 26,
  FLOAT4: 700,
  FLOAT8: 701,
  BPCHAR: 1042,
  VARCHAR: 1043,
  DATE: 1082,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
} as const;

/** How one column's binary values are laid out. */
export type ColumnKind =
  | 'bool'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'float32'
  | 'float64'
  | 'date'
  | 'timestamp'
  | 'text';

const KIND_OF: Record<number, ColumnKind> = {
  [PG.BOOL]: 'bool',
  [PG.INT2]: 'int16',
  [PG.INT4]: 'int32',
  [PG.INT8]: 'int64',
  [PG.OID]: 'uint32',
  [PG.FLOAT4]: 'float32',
  [PG.FLOAT8]: 'float64',
  [PG.DATE]: 'date',
  [PG.TIMESTAMP]: 'timestamp',
  [PG.TIMESTAMPTZ]: 'timestamp',
  [PG.TEXT]: 'text',
  [PG.VARCHAR]: 'text',
  [PG.BPCHAR]: 'text',
  [PG.NAME]: 'text',
};

/** A result column as the server describes it, with its SQL type name. */
export interface ResultColumn {
  name: string;
  typeOid: number;
  /** `format_type` of the column, e.g. `bigint`, `numeric(6,3)`. */
  type: string;
  unit?: string | null;
  description?: string | null;
}

/** The layout a column is read in; `text` for every type read as its text form. */
export function kindOf(typeOid: number): ColumnKind {
  return KIND_OF[typeOid] ?? 'text';
}

/** Whether the query must cast the column to text (its binary form is not one we read). */
export function needsTextCast(typeOid: number): boolean {
  return KIND_OF[typeOid] === undefined;
}

export function arrowTypeOf(column: ResultColumn): DataType {
  switch (kindOf(column.typeOid)) {
    case 'bool':
      return new Bool();
    case 'int16':
      return new Int16();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'uint32':
      return new Uint32();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'date':
      return new DateDay();
    case 'timestamp':
      return new Timestamp(TimeUnit.MICROSECOND, column.typeOid === PG.TIMESTAMPTZ ? 'UTC' : null);
    case 'text':
      return new Utf8();
  }
}

/**
 * The Arrow schema of a result: each field carries its PostgreSQL type (`orrery.pg_type`), and
 * its unit and description when the column has them; `metadata` goes on the schema.
 */
export function arrowSchemaOf(
  columns: readonly ResultColumn[],
  metadata: Record<string, string> = {},
): Schema {
  const fields = columns.map((column) => {
    const meta = new Map([['orrery.pg_type', column.type]]);
    if (column.unit) meta.set('unit', column.unit);
    if (column.description) meta.set('description', column.description);
    return new Field(column.name, arrowTypeOf(column), true, meta);
  });
  return new Schema(fields, new Map(Object.entries(metadata)));
}
