/**
 * Record batches to the bytes of an Arrow IPC stream (schema, batches, end-of-stream marker),
 * one chunk per batch, so the HTTP answer's backpressure reaches the database.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { type RecordBatch, RecordBatchStreamWriter, type Schema } from 'apache-arrow';

/** The writer keeps what it wrote in a queue; taking it out keeps the writer from growing. */
function drain(writer: RecordBatchStreamWriter): Uint8Array {
  const bytes = writer.toUint8Array(true);
  (writer as unknown as { _sink: { _values: unknown[] } })._sink._values.length = 0;
  return bytes;
}

export class ArrowIpcStream extends Transform {
  private readonly writer = new RecordBatchStreamWriter();

  constructor(schema: Schema) {
    super({ writableObjectMode: true, writableHighWaterMark: 2 });
    // The schema goes out first, even for an empty result.
    this.writer.reset(undefined, schema);
    this.push(Buffer.from(drain(this.writer)));
  }

  override _transform(batch: RecordBatch, _encoding: string, done: TransformCallback): void {
    try {
      this.writer.write(batch);
      done(null, Buffer.from(drain(this.writer)));
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    this.writer.finish();
    done(null, Buffer.from(drain(this.writer)));
  }
}
