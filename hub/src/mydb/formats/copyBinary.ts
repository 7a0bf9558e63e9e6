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
/** Microseconds and days between 1970-01-01 (Arrow) and 2000-01-01 (PostgreSQL). */
const EPOCH_SHIFT_US = 946_684_800_000_000n;
const EPOCH_SHIFT_DAYS = 10_957;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

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

function setBit(bits: Uint8Array, index: number): void {
  bits[index >> 3] = bits[index >> 3]! | (1 << (index & 7));
}

/** One column of the batch being filled. */
class ColumnBuffer {
  readonly width: number;
  validity: Uint8Array;
  values: Uint8Array;
  /** The same bytes as `values`, to write a number in one call (fixed-width kinds). */
  private readonly view: DataView;
  /** Text only: where each value starts in `values`. */
  offsets: Int32Array;
  textBytes = 0;
  nulls = 0;

  /** `textBytes`: a text column's first guess of its bytes (the last batch's, say). */
  constructor(
    readonly kind: ColumnKind,
    capacity: number,
    textBytes = 64 * 1024,
  ) {
    this.width = WIDTH[kind];
    this.validity = new Uint8Array(Math.ceil(capacity / 8));
    this.values =
      kind === 'bool'
        ? new Uint8Array(Math.ceil(capacity / 8))
        : new Uint8Array(kind === 'text' ? textBytes : capacity * this.width);
    this.view = new DataView(this.values.buffer, this.values.byteOffset, this.values.byteLength);
    this.offsets = new Int32Array(kind === 'text' ? capacity + 1 : 0);
  }

  setNull(row: number): void {
    this.nulls++;
    if (this.kind === 'text') this.offsets[row + 1] = this.textBytes;
  }

  /** The value of `row` from `source[at, at + length)`; false if it is one Arrow cannot hold. */
  set(row: number, source: Buffer, at: number, length: number): boolean {
    setBit(this.validity, row);
    const values = this.values;
    switch (this.kind) {
      case 'bool':
        if (source[at]) setBit(values, row);
        return true;
      case 'text': {
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
      case 'timestamp': {
        const micros = source.readBigInt64BE(at);
        // ±infinity have no Arrow timestamp: NULL.
        if (micros === INT64_MAX || micros === INT64_MIN) return false;
        this.view.setBigInt64(row * 8, micros + EPOCH_SHIFT_US, true);
        return true;
      }
      case 'date': {
        const days = source.readInt32BE(at);
        if (days === INT32_MAX || days === INT32_MIN) return false;
        this.view.setInt32(row * 4, days + EPOCH_SHIFT_DAYS, true);
        return true;
      }
      // One read and one write each: cheaper than moving the bytes one by one.
      case 'float64':
        this.view.setFloat64(row * 8, source.readDoubleBE(at), true);
        return true;
      case 'int32':
        this.view.setInt32(row * 4, source.readInt32BE(at), true);
        return true;
      default: {
        // Fixed-width numbers: the big-endian bytes reversed into the little-endian buffer.
        const width = this.width;
        const to = row * width + width - 1;
        for (let i = 0; i < width; i++) values[to - i] = source[at + i]!;
        return true;
      }
    }
  }

  /** A text column must carry the previous end offset into rows that are null. */
  unset(row: number): void {
    this.validity[row >> 3] = this.validity[row >> 3]! & ~(1 << (row & 7));
    this.setNull(row);
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

  /** Reads one row's fields starting at `at`; returns the offset after it. */
  addRow(source: Buffer, at: number): number {
    const row = this.rows;
    let offset = at;
    for (const column of this.columns) {
      const length = source.readInt32BE(offset);
      offset += 4;
      if (length < 0) column.setNull(row);
      else {
        if (!column.set(row, source, offset, length)) column.unset(row);
        offset += length;
      }
    }
    this.rows++;
    return offset;
  }

  flush(): RecordBatch | null {
    if (this.rows === 0) return null;
    const length = this.rows;
    const children = this.columns.map((column, i) => {
      const type = this.schema.fields[i]!.type;
      const nullBitmap = column.nulls
        ? column.validity.subarray(0, Math.ceil(length / 8))
        : undefined;
      const common = { type, length, nullCount: column.nulls, nullBitmap };
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
          const end = this.readRow(head, 0);
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
      while (!this.ended) {
        const end = this.readRow(data, at);
        if (end === -1) break;
        at = end;
      }
      this.keep(data, at, done);
    } catch (err) {
      done(err as Error);
    }
  }

  /** Reads the row (or the end marker) at `at`; where it ends, or -1 if it is not all here. */
  private readRow(data: Buffer, at: number): number {
    const end = rowEnd(data, at);
    if (end === -1) return -1;
    if (data.readInt16BE(at) === -1) {
      this.ended = true;
      return end;
    }
    this.builder.addRow(data, at + 2);
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

/** Where the row starting at `at` ends, or -1 if it is not all here yet. */
function rowEnd(data: Buffer, at: number): number {
  if (at + 2 > data.length) return -1;
  const fields = data.readInt16BE(at);
  if (fields === -1) return at + 2;
  let offset = at + 2;
  for (let i = 0; i < fields; i++) {
    if (offset + 4 > data.length) return -1;
    const length = data.readInt32BE(offset);
    offset += 4 + Math.max(length, 0);
    if (offset > data.length) return -1;
  }
  return offset;
}
