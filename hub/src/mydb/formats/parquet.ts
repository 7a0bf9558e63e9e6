/**
 * Parquet through parquet-wasm (Apache Arrow's Rust Parquet writer compiled to WebAssembly; the
 * maintained choice for Node that writes from Arrow data): each record batch crosses into the
 * WebAssembly side as an Arrow IPC message and becomes a row group of a streamed file, so only
 * one batch is held at a time.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Table as ArrowTable, type RecordBatch, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm/esm';

let ready = false;

/** The package's Node build does not load as ESM; its ESM build takes the WebAssembly bytes. */
function initParquet(): void {
  if (ready) return;
  const wasm = createRequire(import.meta.url).resolve('parquet-wasm/esm/parquet_wasm_bg.wasm');
  parquet.initSync({ module: readFileSync(wasm) });
  ready = true;
}

/** A readable of Parquet bytes from a readable of Arrow record batches. */
export async function parquetStream(batches: Readable): Promise<Readable> {
  initParquet();
  const iterator = batches[Symbol.asyncIterator]() as AsyncIterator<RecordBatch>;
  const source = new ReadableStream<parquet.RecordBatch>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) return controller.close();
      const ipc = tableToIPC(new ArrowTable([next.value]), 'stream');
      const table = parquet.Table.fromIPCStream(ipc);
      controller.enqueue(table.recordBatch(0)!);
      table.free();
    },
    async cancel(reason) {
      batches.destroy(reason instanceof Error ? reason : undefined);
    },
  });
  const properties = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.SNAPPY)
    .build();
  const bytes = await parquet.transformParquetStream(source, properties);
  return Readable.fromWeb(bytes as unknown as WebReadableStream<Uint8Array>);
}
