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
  /** The integer written for NULL (TNULL), for integer columns and vectors. */
  tnull?: bigint;
  /** An array column written as a vector of `count` values of TFORM `code` (`count` + `code`). */
  vector?: { code: VectorCode; count: number; width: number };
}

type VectorCode = 'L' | 'I' | 'J' | 'K' | 'E' | 'D';

/** Array types written as FITS vectors (TFORM `nD`), by their OID: element code, width, TNULL. */
const VECTORS: Record<number, { code: VectorCode; width: number; tnull?: bigint }> = {
  1000: { code: 'L', width: 1 },
  1005: { code: 'I', width: 2, tnull: -32768n },
  1007: { code: 'J', width: 4, tnull: -2147483648n },
  1016: { code: 'K', width: 8, tnull: -9223372036854775808n },
  1021: { code: 'E', width: 4 },
  1022: { code: 'D', width: 8 },
};

/** Whether a column of type `typeOid` is written as a FITS vector (its length is measured first). */
export function isFitsVector(typeOid: number): boolean {
  return VECTORS[typeOid] !== undefined;
}

/**
 * TFORM and width of each column; `textBytes` is the longest value in bytes of each text column,
 * `elements` the most elements of each array column (a vector as long as the longest; shorter
 * arrays are padded with NULL elements: NaN, TNULL, or a zero byte for booleans).
 */
export function fitsLayout(
  columns: readonly ResultColumn[],
  textBytes: readonly number[],
  elements: readonly number[] = [],
): FitsColumn[] {
  return columns.map((column, i) => {
    const kind = kindOf(column.typeOid);
    const vector = VECTORS[column.typeOid];
    if (vector) {
      // A column of no values is not one every reader takes: at least one, NULL.
      const count = Math.max(1, elements[i] ?? 1);
      return {
        kind,
        tform: `${count}${vector.code}`,
        width: count * vector.width,
        ...(vector.tnull !== undefined ? { tnull: vector.tnull } : {}),
        vector: { code: vector.code, count, width: vector.width },
      };
    }
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
      if (place.vector) {
        writeVector(out, at, place, value as string | null);
        at += place.width;
        continue;
      }
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

/** One element of a vector from its text in an array literal (`NULL` for NULL). */
function writeElement(out: Buffer, at: number, place: FitsColumn, text: string | undefined): void {
  const code = place.vector!.code;
  const missing = text === undefined || text === 'NULL';
  switch (code) {
    case 'L':
      if (!missing) out[at] = text === 't' ? 0x54 : 0x46;
      break;
    case 'I':
      out.writeInt16BE(missing ? Number(place.tnull) : Number(text), at);
      break;
    case 'J':
      out.writeInt32BE(missing ? Number(place.tnull) : Number(text), at);
      break;
    case 'K':
      out.writeBigInt64BE(missing ? place.tnull! : BigInt(text), at);
      break;
    case 'E':
      out.writeFloatBE(missing ? Number.NaN : Number(text), at);
      break;
    case 'D':
      out.writeDoubleBE(missing ? Number.NaN : Number(text), at);
      break;
  }
}

/**
 * An array's text (`{1,2,NULL}`; a multidimensional one's elements in order) as a vector, padded
 * with NULL elements to the column's length. A NULL array is all NULL elements.
 */
function writeVector(out: Buffer, at: number, place: FitsColumn, text: string | null): void {
  const { count, width } = place.vector!;
  // Elements of these types never hold a brace, comma or quote.
  const inner = text === null ? '' : text.replace(/[{}]/g, '');
  const elements = inner === '' ? [] : inner.split(',');
  for (let i = 0; i < count; i++) writeElement(out, at + i * width, place, elements[i]);
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
