/**
 * PostgreSQL's binary COPY stream decoded into Arrow record batches, without a JavaScript object
 * per row or per value: each value's bytes go straight into the batch's column buffers (byte
 * order swapped, epochs moved), so this is the fast path of every result format.
 *
 * Format (PostgreSQL docs, "COPY", binary format): an 11-byte signature, a 32-bit flags word and
 * a header extension; then per row a 16-bit field count (-1 ends the data) and per field a 32-bit
 * length (-1 is NULL) and the value's bytes, all big-endian.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { makeData, RecordBatch, type Schema, Struct } from 'apache-arrow';
import { type ColumnKind, kindOf, type ResultColumn } from './arrowTypes.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Rows per record batch: large enough to amortise the batch overhead, small enough to stream. */
export const BATCH_ROWS = 65_536;
/** Days between 1970-01-01 (Arrow) and 2000-01-01 (PostgreSQL). */
const EPOCH_SHIFT_DAYS = 10_957;
/** The same shift in microseconds, 946,684,800,000,000, as its high and low 32-bit words. */
const EPOCH_SHIFT_US_HIGH = 0x35d01;
const EPOCH_SHIFT_US_LOW = 0x3b37e000;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const TWO_32 = 0x1_0000_0000;

/** Column kinds as small integers: the per-value switch compares numbers, not strings. */
const K_BOOL = 0;
const K_INT16 = 1;
const K_INT32 = 2;
const K_INT64 = 3;
const K_UINT32 = 4;
const K_FLOAT32 = 5;
const K_FLOAT64 = 6;
const K_DATE = 7;
const K_TIMESTAMP = 8;
const K_TEXT = 9;

const KIND: Record<ColumnKind, number> = {
  bool: K_BOOL,
  int16: K_INT16,
  int32: K_INT32,
  int64: K_INT64,
  uint32: K_UINT32,
  float32: K_FLOAT32,
  float64: K_FLOAT64,
  date: K_DATE,
  timestamp: K_TIMESTAMP,
  text: K_TEXT,
};

const WIDTH: Record<ColumnKind, number> = {
  bool: 0,
  int16: 2,
  int32: 4,
  int64: 8,
  uint32: 4,
  float32: 4,
  float64: 8,
  date: 4,
  timestamp: 8,
  text: 0,
};

/** A big-endian reader over `bytes`. */
function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function setBit(bits: Uint8Array, index: number): void {
  bits[index >> 3] = bits[index >> 3]! | (1 << (index & 7));
}

function clearBit(bits: Uint8Array, index: number): void {
  bits[index >> 3] = bits[index >> 3]! & ~(1 << (index & 7));
}

/** Set bits of each byte value. */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let bit = byte; bit; bit &= bit - 1) count++;
  return count;
});

/** Set bits in the first `length` bits of `bits`. */
function countSet(bits: Uint8Array, length: number): number {
  let count = 0;
  const whole = length >> 3;
  for (let i = 0; i < whole; i++) count += BITS_SET[bits[i]!]!;
  for (let i = whole * 8; i < length; i++) if (bits[i >> 3]! & (1 << (i & 7))) count++;
  return count;
}

/** One column of the batch being filled. */
class ColumnBuffer {
  readonly width: number;
  readonly code: number;
  validity: Uint8Array;
  values: Uint8Array;
  /** The same bytes as `values`, to write a number in one call (fixed-width kinds). */
  private readonly view: DataView;
  /** Text only: where each value starts in `values`. */
  offsets: Int32Array;
  textBytes = 0;

  /** `textBytes`: a text column's first guess of its bytes (the last batch's, say). */
  constructor(
    readonly kind: ColumnKind,
    capacity: number,
    textBytes = 64 * 1024,
  ) {
    this.width = WIDTH[kind];
    this.code = KIND[kind];
    this.validity = new Uint8Array(Math.ceil(capacity / 8));
    this.values =
      kind === 'bool'
        ? new Uint8Array(Math.ceil(capacity / 8))
        : new Uint8Array(kind === 'text' ? textBytes : capacity * this.width);
    this.view = new DataView(this.values.buffer, this.values.byteOffset, this.values.byteLength);
    this.offsets = new Int32Array(kind === 'text' ? capacity + 1 : 0);
  }

  /** NULL: its validity bit stays clear (NULLs are counted from the bitmap at the end). */
  setNull(row: number): void {
    if (this.code === K_TEXT) this.offsets[row + 1] = this.textBytes;
  }

  /**
   * The value of `row` from `source[at, at + length)` (`reader` views the same bytes: DataView
   * reads are big-endian and skip the argument checks of Buffer's); false if it is one Arrow
   * cannot hold.
   */
  set(row: number, source: Buffer, reader: DataView, at: number, length: number): boolean {
    setBit(this.validity, row);
    const values = this.values;
    switch (this.code) {
      case K_FLOAT64:
        this.view.setFloat64(row * 8, reader.getFloat64(at), true);
        return true;
      case K_INT64: {
        // Two 32-bit words, swapped: no BigInt per value.
        const to = row * 8;
        this.view.setInt32(to, reader.getInt32(at + 4), true);
        this.view.setInt32(to + 4, reader.getInt32(at), true);
        return true;
      }
      case K_INT32:
        this.view.setInt32(row * 4, reader.getInt32(at), true);
        return true;
      case K_TEXT: {
        const needed = this.textBytes + length;
        if (needed > values.length) {
          const grown = new Uint8Array(Math.max(needed, values.length * 2));
          grown.set(values.subarray(0, this.textBytes));
          this.values = grown;
        }
        // Short values byte by byte: cheaper than a native copy's call for a few bytes.
        if (length < 48) {
          const target = this.values;
          const start = this.textBytes;
          for (let i = 0; i < length; i++) target[start + i] = source[at + i]!;
        } else source.copy(this.values, this.textBytes, at, at + length);
        this.textBytes = needed;
        this.offsets[row + 1] = needed;
        return true;
      }
      case K_BOOL:
        if (source[at]) setBit(values, row);
        return true;
      case K_TIMESTAMP: {
        // A 64-bit addition in two 32-bit words, the carry moved by hand: no BigInt per value.
        const high = reader.getInt32(at);
        const low = reader.getUint32(at + 4);
        // ±infinity have no Arrow timestamp: NULL.
        if ((high === INT32_MAX && low === 0xffffffff) || (high === INT32_MIN && low === 0))
          return false;
        const sum = low + EPOCH_SHIFT_US_LOW;
        const carry = sum >= TWO_32 ? 1 : 0;
        this.view.setUint32(row * 8, sum - carry * TWO_32, true);
        this.view.setInt32(row * 8 + 4, high + EPOCH_SHIFT_US_HIGH + carry, true);
        return true;
      }
      case K_DATE: {
        const days = reader.getInt32(at);
        if (days === INT32_MAX || days === INT32_MIN) return false;
        this.view.setInt32(row * 4, days + EPOCH_SHIFT_DAYS, true);
        return true;
      }
      default: {
        // Fixed-width numbers: the big-endian bytes reversed into the little-endian buffer.
        const width = this.width;
        const to = row * width + width - 1;
        for (let i = 0; i < width; i++) values[to - i] = source[at + i]!;
        return true;
      }
    }
  }

  /** A value Arrow cannot hold becomes NULL; a text column carries the previous end offset. */
  unset(row: number): void {
    clearBit(this.validity, row);
    this.setNull(row);
  }

  /** Forget what `row` wrote (it was not all in the chunk): its bits cleared, its text taken back. */
  undo(row: number): void {
    clearBit(this.validity, row);
    if (this.code === K_BOOL) clearBit(this.values, row);
    if (this.code === K_TEXT) this.textBytes = this.offsets[row]!;
  }

  /** NULLs among the first `length` rows. */
  nulls(length: number): number {
    return length - countSet(this.validity, length);
  }
}

/** Fills batches of `schema` from binary COPY rows; `flush` hands over the batch so far. */
export class BatchBuilder {
  private columns: ColumnBuffer[] = [];
  private rows = 0;
  readonly kinds: ColumnKind[];

  constructor(
    readonly schema: Schema,
    columns: readonly ResultColumn[],
    private readonly capacity = BATCH_ROWS,
  ) {
    this.kinds = columns.map((column) => kindOf(column.typeOid));
    this.reset();
  }

  get full(): boolean {
    return this.rows >= this.capacity;
  }

  get length(): number {
    return this.rows;
  }

  /**
   * Reads one row's fields starting at `at`, in one pass, not past `limit`; returns the offset
   * after it, or -1 if the row is not all there (then nothing of it is kept).
   */
  addRow(source: Buffer, at: number, limit = source.length, reader = viewOf(source)): number {
    const row = this.rows;
    const columns = this.columns;
    let offset = at;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      if (offset + 4 > limit) return this.undo(row, c);
      const length = reader.getInt32(offset);
      offset += 4;
      if (length < 0) column.setNull(row);
      else {
        if (offset + length > limit) return this.undo(row, c);
        if (!column.set(row, source, reader, offset, length)) column.unset(row);
        offset += length;
      }
    }
    this.rows++;
    return offset;
  }

  private undo(row: number, columns: number): -1 {
    for (let c = 0; c < columns; c++) this.columns[c]!.undo(row);
    return -1;
  }

  flush(): RecordBatch | null {
    if (this.rows === 0) return null;
    const length = this.rows;
    const children = this.columns.map((column, i) => {
      const type = this.schema.fields[i]!.type;
      const nullCount = column.nulls(length);
      const nullBitmap = nullCount ? column.validity.subarray(0, Math.ceil(length / 8)) : undefined;
      const common = { type, length, nullCount, nullBitmap };
      if (column.kind === 'text')
        return makeData({
          ...common,
          valueOffsets: column.offsets.subarray(0, length + 1),
          data: column.values.subarray(0, column.textBytes),
        });
      if (column.kind === 'bool')
        return makeData({ ...common, data: column.values.subarray(0, Math.ceil(length / 8)) });
      return makeData({ ...common, data: typedView(column.kind, column.values, length) });
    });
    const batch = new RecordBatch(
      this.schema,
      makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children }),
    );
    this.reset();
    return batch;
  }

  private reset(): void {
    this.rows = 0;
    // A text column starts as large as the last batch's was (an eighth more): no regrowing.
    const last = this.columns;
    this.columns = this.kinds.map(
      (kind, i) =>
        new ColumnBuffer(
          kind,
          this.capacity,
          kind === 'text' && last[i] ? Math.ceil(last[i]!.textBytes * 1.125) + 1024 : undefined,
        ),
    );
  }
}

function typedView(kind: ColumnKind, bytes: Uint8Array, length: number) {
  const { buffer, byteOffset } = bytes;
  switch (kind) {
    case 'int16':
      return new Int16Array(buffer, byteOffset, length);
    case 'int32':
    case 'date':
      return new Int32Array(buffer, byteOffset, length);
    case 'uint32':
      return new Uint32Array(buffer, byteOffset, length);
    case 'int64':
    case 'timestamp':
      return new BigInt64Array(buffer, byteOffset, length);
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
    default:
      return new Float64Array(buffer, byteOffset, length);
  }
}

/**
 * A transform from the bytes of `COPY … TO STDOUT (FORMAT binary)` to Arrow record batches
 * (object mode on the readable side). Partial rows wait for the next chunk.
 */
export class CopyBinaryToArrow extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private headerRead = false;
  private ended = false;
  private readonly builder: BatchBuilder;
  rowCount = 0;

  constructor(schema: Schema, columns: readonly ResultColumn[], batchRows = BATCH_ROWS) {
    super({ readableObjectMode: true, readableHighWaterMark: 2 });
    this.builder = new BatchBuilder(schema, columns, batchRows);
  }

  override _transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
    try {
      let data = chunk;
      let at = 0;
      if (!this.headerRead) {
        data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
        if (data.length < 19) {
          this.keep(data, 0, done);
          return;
        }
        if (!data.subarray(0, 11).equals(SIGNATURE)) throw new Error('Not a binary COPY stream');
        const extension = data.readInt32BE(15);
        if (data.length < 19 + extension) {
          this.keep(data, 0, done);
          return;
        }
        at = 19 + extension;
        this.headerRead = true;
      } else if (this.pending.length) {
        // Only the row split between the chunks is joined; the rest is read where it lies.
        const kept = this.pending.length;
        for (let take = Math.min(chunk.length, 4096); ; take = Math.min(chunk.length, take * 8)) {
          const head = Buffer.concat([this.pending, chunk.subarray(0, take)]);
          const end = this.readRow(head, 0, viewOf(head));
          if (end !== -1) {
            at = end - kept;
            break;
          }
          if (take === chunk.length) {
            this.keep(head, 0, done);
            return;
          }
        }
      }
      const reader = viewOf(data);
      while (!this.ended) {
        const end = this.readRow(data, at, reader);
        if (end === -1) break;
        at = end;
      }
      this.keep(data, at, done);
    } catch (err) {
      done(err as Error);
    }
  }

  /** Reads the row (or the end marker) at `at`; where it ends, or -1 if it is not all here. */
  private readRow(data: Buffer, at: number, reader: DataView): number {
    if (at + 2 > data.length) return -1;
    if (reader.getInt16(at) === -1) {
      this.ended = true;
      return at + 2;
    }
    const end = this.builder.addRow(data, at + 2, data.length, reader);
    if (end === -1) return -1;
    this.rowCount++;
    if (this.builder.full) this.push(this.builder.flush());
    return end;
  }

  override _flush(done: TransformCallback): void {
    const last = this.builder.flush();
    if (last) this.push(last);
    done(this.pending.length && !this.ended ? new Error('The COPY stream ended mid-row') : null);
  }

  private keep(data: Buffer, at: number, done: TransformCallback): void {
    // Copied: a view would pin the whole chunk it came from.
    this.pending = at < data.length ? Buffer.from(data.subarray(at)) : Buffer.alloc(0);
    done();
  }
}
