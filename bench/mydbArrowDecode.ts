/**
 * The Arrow path alone: a binary COPY file (the mydb benchmark's 1,000,000 rows of bigint,
 * double and text, written by psql) through CopyBinaryToArrow and ArrowIpcStream in 64 KiB
 * chunks, against the floor of reading the same chunks through a pass-through Transform. No
 * database or HTTP in the timings: what the hub's own decoding costs. Several runs, the floor and
 * the decoder taking turns; medians.
 * Run: npx tsx bench/mydbArrowDecode.ts [copy.bin] (without a file it asks psql for one)
 * Profile: node --cpu-prof --import tsx bench/mydbArrowDecode.ts copy.bin
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArrowIpcStream } from '../hub/src/mydb/formats/arrowIpc.ts';
import { arrowSchemaOf, PG, type ResultColumn } from '../hub/src/mydb/formats/arrowTypes.ts';
import { CopyBinaryToArrow } from '../hub/src/mydb/formats/copyBinary.ts';
import { ADMIN_DATABASE_URL } from './support/database.ts';
import { msSince, summarise } from './support/stats.ts';

const RUNS = Number(process.env.ORRERY_BENCH_ROUNDS ?? 7);
const CHUNK = 64 * 1024;
const QUERY =
  "SELECT g::bigint AS id, g * 0.5::float8 AS x, 'row ' || g AS name FROM generate_series(1, 1000000) g";
const COLUMNS: ResultColumn[] = [
  { name: 'id', typeOid: PG.INT8, type: 'bigint' },
  { name: 'x', typeOid: PG.FLOAT8, type: 'double precision' },
  { name: 'name', typeOid: PG.TEXT, type: 'text' },
];

function copyFile(): { path: string; cleanup: () => void } {
  if (process.argv[2]) return { path: process.argv[2], cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'orrery-arrow-'));
  const path = join(dir, 'copy.bin');
  const bytes = execFileSync(
    'psql',
    ['-X', '-q', '-d', ADMIN_DATABASE_URL, '-c', `COPY (${QUERY}) TO STDOUT (FORMAT binary)`],
    { maxBuffer: 1 << 30 },
  );
  writeFileSync(path, bytes);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function chunksOf(bytes: Buffer): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at >= bytes.length) this.push(null);
      else {
        // A copy, as a socket's chunk would be.
        const piece = Buffer.allocUnsafe(Math.min(CHUNK, bytes.length - at));
        bytes.copy(piece, 0, at, at + piece.length);
        this.push(piece);
        at += CHUNK;
      }
    },
  });
}

function sink(): { stream: Writable; bytes: () => number } {
  let total = 0;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      total += chunk.byteLength;
      done();
    },
  });
  return { stream, bytes: () => total };
}

async function main() {
  const file = copyFile();
  try {
    const bytes = readFileSync(file.path);
    const schema = arrowSchemaOf(COLUMNS, {});
    const times = { passThrough: [] as number[], arrow: [] as number[] };
    let arrowBytes = 0;
    for (let run = 0; run < RUNS; run++) {
      let started = process.hrtime.bigint();
      await pipeline(chunksOf(bytes), new PassThrough(), sink().stream);
      times.passThrough.push(msSince(started));
      const out = sink();
      started = process.hrtime.bigint();
      const decoder = new CopyBinaryToArrow(schema, COLUMNS);
      await pipeline(chunksOf(bytes), decoder, new ArrowIpcStream(schema), out.stream);
      times.arrow.push(msSince(started));
      arrowBytes = out.bytes();
      if (decoder.rowCount !== 1_000_000) throw new Error(`decoded ${decoder.rowCount} rows`);
    }
    const floor = summarise(times.passThrough);
    const arrow = summarise(times.arrow);
    console.log(
      `mydbArrowDecode: ${bytes.length} B of binary COPY, ${RUNS} runs: pass-through p50 ${floor.p50} ms (min ${Math.min(...times.passThrough).toFixed(1)}), Arrow p50 ${arrow.p50} ms (min ${Math.min(...times.arrow).toFixed(1)}), ${arrowBytes} B of Arrow IPC`,
    );
  } finally {
    file.cleanup();
  }
}

await main();
