/**
 * Reading one cell of an Arrow record batch as the file formats want it: 64-bit integers as
 * bigint (never a double), timestamps and dates as ISO 8601 text with every microsecond kept.
 */
import type { RecordBatch, Vector } from 'apache-arrow';
import { type ColumnKind, kindOf, PG, type ResultColumn } from './arrowTypes.ts';

export type Cell = null | boolean | number | bigint | string;

const MICROS_PER_DAY = 86_400_000_000n;

/** `2026-12-01T22:40:00.123456` from microseconds since 1970 (UTC). */
export function isoFromMicros(micros: bigint): string {
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const date = new Date(Number(days) * 86_400_000).toISOString().slice(0, 10);
  const seconds = Number(rest / 1_000_000n);
  const fraction = Number(rest % 1_000_000n);
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return `${date}T${hh}:${mm}:${ss}${fraction ? `.${String(fraction).padStart(6, '0')}` : ''}`;
}

/** The columns of a batch, read cell by cell. */
export class BatchCells {
  private readonly vectors: Vector[];
  private readonly kinds: ColumnKind[];
  private readonly zoned: boolean[];

  constructor(
    readonly batch: RecordBatch,
    columns: readonly ResultColumn[],
  ) {
    this.kinds = columns.map((column) => kindOf(column.typeOid));
    this.zoned = columns.map((column) => column.typeOid === PG.TIMESTAMPTZ);
    this.vectors = columns.map((_, j) => batch.getChildAt(j)!);
  }

  get rows(): number {
    return this.batch.numRows;
  }

  at(row: number, column: number): Cell {
    const vector = this.vectors[column]!;
    if (!vector.isValid(row)) return null;
    switch (this.kinds[column]) {
      case 'timestamp':
        return (
          isoFromMicros(vector.data[0]!.values[row] as bigint) + (this.zoned[column] ? 'Z' : '')
        );
      case 'date':
        return new Date((vector.data[0]!.values[row] as number) * 86_400_000)
          .toISOString()
          .slice(0, 10);
      default:
        return vector.get(row) as Cell;
    }
  }
}
