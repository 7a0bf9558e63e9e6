/**
 * FITS (NOST 4.0 / FITS 4.0 standard) binary tables: an empty primary HDU, then one BINTABLE
 * extension with a column per table column (TTYPE, TFORM, TUNIT, TNULL for integers, TCOMM for
 * the description), big-endian values, every header and data unit padded to 2880 bytes.
 *
 * A FITS header states the row count (NAXIS2) and each string column's width before the first
 * row, so the caller measures both first (in the same snapshot as the rows it then streams).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { RecordBatch } from 'apache-arrow';
import { type ColumnKind, kindOf, PG, type ResultColumn } from './arrowTypes.ts';
import { BatchCells } from './cells.ts';

export const BLOCK = 2880;
const CARD = 80;

/** One column's place in a row: its TFORM and byte width. */
export interface FitsColumn {
  kind: ColumnKind;
  tform: string;
  width: number;
  /** The integer written for NULL (TNULL), for integer columns. */
  tnull?: bigint;
}

/** TFORM and width of each column; `textBytes` is the longest value in bytes of each text column. */
export function fitsLayout(
  columns: readonly ResultColumn[],
  textBytes: readonly number[],
): FitsColumn[] {
  return columns.map((column, i) => {
    const kind = kindOf(column.typeOid);
    switch (kind) {
      case 'bool':
        return { kind, tform: 'L', width: 1 };
      case 'int16':
        return { kind, tform: 'I', width: 2, tnull: -32768n };
      case 'int32':
        return { kind, tform: 'J', width: 4, tnull: -2147483648n };
      case 'int64':
      case 'uint32':
        return { kind, tform: 'K', width: 8, tnull: -9223372036854775808n };
      case 'float32':
        return { kind, tform: 'E', width: 4 };
      case 'float64':
        return { kind, tform: 'D', width: 8 };
      case 'date':
        return { kind, tform: '10A', width: 10 };
      case 'timestamp': {
        const width = column.typeOid === PG.TIMESTAMPTZ ? 27 : 26;
        return { kind, tform: `${width}A`, width };
      }
      default: {
        // Text, and every type read as text.
        const width = Math.max(1, textBytes[i] ?? 1);
        return { kind, tform: `${width}A`, width };
      }
    }
  });
}

/** Header text is ASCII: anything else becomes `?`. */
function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** One 80-character header card; strings quoted (`'` doubled), values right-aligned to column 30. */
export function card(
  key: string,
  value: string | number | boolean | bigint,
  comment?: string,
): string {
  let text: string;
  if (typeof value === 'string') {
    const quoted = `'${ascii(value).replace(/'/g, "''").padEnd(8)}'`;
    text = quoted.length > 70 ? `${quoted.slice(0, 69)}'` : quoted;
  } else if (typeof value === 'boolean') text = (value ? 'T' : 'F').padStart(20);
  else text = String(value).padStart(20);
  let line = `${key.padEnd(8)}= ${text}`;
  if (comment) line += ` / ${ascii(comment)}`;
  return line.slice(0, CARD).padEnd(CARD);
}

/** Cards, END, and the padding to a whole block of spaces. */
export function headerBlock(cards: readonly string[]): Buffer {
  const text = [...cards, 'END'.padEnd(CARD)].join('');
  return Buffer.from(text.padEnd(Math.ceil(text.length / BLOCK) * BLOCK), 'ascii');
}

export function fitsHeaders(
  table: string,
  columns: readonly ResultColumn[],
  layout: readonly FitsColumn[],
  rows: number,
): Buffer {
  const primary = headerBlock([
    card('SIMPLE', true, 'conforms to FITS standard'),
    card('BITPIX', 8),
    card('NAXIS', 0),
    card('EXTEND', true),
  ]);
  const rowBytes = layout.reduce((sum, column) => sum + column.width, 0);
  const cards = [
    card('XTENSION', 'BINTABLE', 'binary table extension'),
    card('BITPIX', 8),
    card('NAXIS', 2),
    card('NAXIS1', rowBytes, 'bytes per row'),
    card('NAXIS2', rows, 'rows'),
    card('PCOUNT', 0),
    card('GCOUNT', 1),
    card('TFIELDS', columns.length),
    card('EXTNAME', table),
  ];
  columns.forEach((column, i) => {
    const n = i + 1;
    const place = layout[i]!;
    cards.push(card(`TTYPE${n}`, column.name), card(`TFORM${n}`, place.tform));
    if (column.unit) cards.push(card(`TUNIT${n}`, column.unit));
    if (place.tnull !== undefined) cards.push(card(`TNULL${n}`, place.tnull));
    if (column.description) cards.push(card(`TCOMM${n}`, column.description));
  });
  return Buffer.concat([primary, headerBlock(cards)]);
}

/** A batch's rows in FITS byte order. */
export function fitsRows(
  batch: RecordBatch,
  columns: readonly ResultColumn[],
  layout: readonly FitsColumn[],
): Buffer {
  const cells = new BatchCells(batch, columns);
  const rowBytes = layout.reduce((sum, column) => sum + column.width, 0);
  const out = Buffer.alloc(cells.rows * rowBytes);
  let at = 0;
  for (let row = 0; row < cells.rows; row++) {
    for (let c = 0; c < layout.length; c++) {
      const place = layout[c]!;
      const value = cells.at(row, c);
      switch (place.tform) {
        case 'L':
          // NULL is a zero byte.
          if (value !== null) out[at] = value ? 0x54 : 0x46;
          break;
        case 'I':
          out.writeInt16BE(value === null ? -32768 : (value as number), at);
          break;
        case 'J':
          out.writeInt32BE(value === null ? -2147483648 : (value as number), at);
          break;
        case 'K':
          out.writeBigInt64BE(value === null ? place.tnull! : BigInt(value as number | bigint), at);
          break;
        case 'E':
          out.writeFloatBE(value === null ? Number.NaN : (value as number), at);
          break;
        case 'D':
          out.writeDoubleBE(value === null ? Number.NaN : (value as number), at);
          break;
        default:
          // Strings: UTF-8 bytes, NUL-padded (NULL is empty).
          if (value !== null) out.write(String(value), at, place.width, 'utf8');
      }
      at += place.width;
    }
  }
  return out;
}

/** Record batches in, the FITS file's bytes out (headers first, data padded at the end). */
export class FitsStream extends Transform {
  private written = 0;

  constructor(
    private readonly columns: readonly ResultColumn[],
    private readonly layout: readonly FitsColumn[],
    table: string,
    private readonly rows: number,
  ) {
    super({ writableObjectMode: true, writableHighWaterMark: 2 });
    this.push(fitsHeaders(table, columns, layout, rows));
  }

  override _transform(batch: RecordBatch, _encoding: string, done: TransformCallback): void {
    const bytes = fitsRows(batch, this.columns, this.layout);
    this.written += batch.numRows;
    done(null, bytes);
  }

  override _flush(done: TransformCallback): void {
    if (this.written !== this.rows) {
      done(new Error(`FITS header said ${this.rows} rows, ${this.written} were written`));
      return;
    }
    const rowBytes = this.layout.reduce((sum, column) => sum + column.width, 0);
    const data = rowBytes * this.rows;
    done(null, Buffer.alloc((BLOCK - (data % BLOCK)) % BLOCK));
  }
}
