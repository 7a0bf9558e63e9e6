/**
 * Record batches to the bytes of an Arrow IPC stream (schema, batches, end-of-stream marker),
 * so the HTTP answer's backpressure reaches the database. What the writer produces for a batch
 * (its message header, then views of the batch's own column buffers and padding) is passed on
 * piece by piece as Buffers over the same memory: the values are never copied here.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { type RecordBatch, RecordBatchStreamWriter, type Schema } from 'apache-arrow';

/**
 * What the writer wrote since last time, as Buffers viewing the same memory. The writer keeps it
 * in a queue (its sink's `_values`); emptying it keeps the writer from growing.
 */
function drain(writer: RecordBatchStreamWriter): Buffer[] {
  const queue = (writer as unknown as { _sink: { _values: Uint8Array[] } })._sink._values;
  const pieces = queue.map((bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  );
  queue.length = 0;
  return pieces;
}

export class ArrowIpcStream extends Transform {
  private readonly writer = new RecordBatchStreamWriter();

  constructor(schema: Schema) {
    super({ writableObjectMode: true, writableHighWaterMark: 2 });
    // The schema goes out first, even for an empty result.
    this.writer.reset(undefined, schema);
    this.pushAll();
  }

  override _transform(batch: RecordBatch, _encoding: string, done: TransformCallback): void {
    try {
      this.writer.write(batch);
      this.pushAll();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    this.writer.finish();
    this.pushAll();
    done();
  }

  private pushAll(): void {
    for (const piece of drain(this.writer)) if (piece.byteLength) this.push(piece);
  }
}
