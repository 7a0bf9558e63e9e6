/**
 * A query result held by columns, as the hub sends it: an Arrow table's vectors read in
 * place (nothing copied per row), or the JSON answer's rows turned into one array per
 * column. The grid's DataModel and the plots read single cells through `get`, so a
 * 500,000-row result is never turned into 500,000 objects.
 */
import { type Table, tableFromIPC } from 'apache-arrow';
import type { IQuickQueryAnswer, IQuickQueryJSON } from '../tokens.js';

export interface IResultColumn {
  name: string;
  /** The SQL type (JSON answers) or the Arrow type (Arrow answers). */
  type: string;
  /** True when the values are numbers (plots offer these columns). */
  numeric: boolean;
  get(row: number): unknown;
}

export interface IQueryResult {
  columns: IResultColumn[];
  rowCount: number;
  /** The hub's row cap cut the result. */
  truncated: boolean;
  elapsedMs: number | null;
  /** How it came: Arrow or JSON. */
  format: 'arrow' | 'json';
}

const NUMERIC_SQL =
  /^(smallint|integer|bigint|real|double precision|numeric|oid|decimal)(\(.*\))?$/;
const NUMERIC_ARROW = /^(Int|Uint|Float|Decimal)/;

function fromArrow(table: Table, truncatedHeader: boolean | null): IQueryResult {
  const meta = table.schema.metadata;
  const flag = meta.get('orrery.truncated');
  const elapsed = meta.get('orrery.elapsed_ms');
  const columns = table.schema.fields.map((field, i): IResultColumn => {
    const vector = table.getChildAt(i);
    const type = String(field.type);
    // Arrow's timestamps and dates are numbers of milliseconds: shown as dates.
    const time = /^(Timestamp|Date)/.test(type);
    return {
      name: field.name,
      type,
      numeric: NUMERIC_ARROW.test(type),
      get: (row) => {
        const v = vector?.get(row) ?? null;
        return time && typeof v === 'number' ? new Date(v) : v;
      },
    };
  });
  return {
    columns,
    rowCount: table.numRows,
    truncated: flag !== undefined ? flag === 'true' : (truncatedHeader ?? false),
    elapsedMs: elapsed !== undefined ? Number(elapsed) : null,
    format: 'arrow',
  };
}

function fromJSON(body: IQuickQueryJSON): IQueryResult {
  const columns = body.columns.map((c, i): IResultColumn => {
    const values = body.rows.map((r) => r[i]);
    return {
      name: c.name,
      type: c.type,
      numeric: NUMERIC_SQL.test(c.type),
      get: (row) => values[row] ?? null,
    };
  });
  return {
    columns,
    rowCount: body.row_count,
    truncated: body.truncated,
    elapsedMs: body.elapsed_ms,
    format: 'json',
  };
}

/** The hub's answer as a columnar result. */
export function toResult(answer: IQuickQueryAnswer): IQueryResult {
  return answer.format === 'arrow'
    ? fromArrow(tableFromIPC(answer.bytes), answer.truncated)
    : fromJSON(answer.body);
}

/** A cell as numbers go into plots: bigints and numeric text converted, the rest NaN. */
export function numberOf(value: unknown): number {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'bigint') {
    return Number(value);
  }
  if (typeof value === 'string' && value.trim() !== '') {
    return Number(value);
  }
  return Number.NaN;
}

/** A cell as the grid shows it: 64-bit integers in full, dates as ISO 8601, NULL visible. */
export function displayOf(value: unknown): string {
  if (value === null || value === undefined) {
    return 'NULL';
  }
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (typeof value === 'object') {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
  return String(value);
}

export type RowRegion = 'body' | 'column-header';
export type ColumnRegion = 'body' | 'row-header';
export type CellRegion = 'body' | 'row-header' | 'column-header' | 'corner-header';

/**
 * The cells of a result as the grid asks for them, read on demand: only the visible ones
 * are ever formatted. `grid.ts` puts it behind Lumino's DataModel (kept apart because
 * @lumino/datagrid needs a DOM to load, and this is unit-tested without one).
 */
export class ResultCells {
  constructor(readonly result: IQueryResult) {}

  rowCount(region: RowRegion): number {
    return region === 'body' ? this.result.rowCount : 1;
  }

  columnCount(region: ColumnRegion): number {
    return region === 'body' ? this.result.columns.length : 1;
  }

  data(region: CellRegion, row: number, column: number): string {
    switch (region) {
      case 'body':
        return displayOf(this.result.columns[column]?.get(row));
      case 'column-header':
        return this.result.columns[column]?.name ?? '';
      case 'row-header':
        return String(row + 1);
      default:
        return '';
    }
  }
}
