/**
 * The MyDB panel's result grid while scrolling a 500,000-row result: the cells one frame
 * draws, read through the panel's own columnar result (labextension/src/mydb/result.ts) from
 * an Arrow IPC stream as the hub sends it, against a floor of the same cells read from
 * ready-made arrays of strings (the least any grid must do). The DataGrid itself asks the
 * model for exactly these cells, so this is the model's share of a frame.
 *
 *   npx tsx bench/mydbGrid.ts        → bench/results/mydb-grid.json
 */
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { ResultCells, toResult } from '../labextension/src/mydb/result.ts';
import { machine, msSince, ratio, seededRandom, summarise, writeResult } from './support/stats.ts';

const ROWS = 500_000;
/** A frame of a tall panel: 45 rows of 8 columns. */
const FRAME_ROWS = 45;
const COLUMNS = 8;
const FRAMES = 5_000;

function arrowAnswer(): Uint8Array {
  const random = seededRandom(7);
  const id = new BigInt64Array(ROWS);
  const columns: Record<string, BigInt64Array | Float64Array> = { id };
  for (let c = 1; c < COLUMNS; c++) {
    columns[`x${c}`] = new Float64Array(ROWS);
  }
  for (let r = 0; r < ROWS; r++) {
    id[r] = 9_007_199_254_740_993n + BigInt(r);
    for (let c = 1; c < COLUMNS; c++) {
      (columns[`x${c}`] as Float64Array)[r] = random() * 360;
    }
  }
  return tableToIPC(tableFromArrays(columns), 'stream');
}

/** One frame at a random scroll position: every visible cell as the grid asks for it. */
function frames(read: (row: number, column: number) => string): number[] {
  const random = seededRandom(11);
  const samples: number[] = [];
  let sink = 0;
  for (let f = 0; f < FRAMES; f++) {
    const top = Math.floor(random() * (ROWS - FRAME_ROWS));
    const start = process.hrtime.bigint();
    for (let r = top; r < top + FRAME_ROWS; r++) {
      for (let c = 0; c < COLUMNS; c++) {
        sink += read(r, c).length;
      }
    }
    samples.push(msSince(start));
  }
  if (sink === 0) throw new Error('no cell was read');
  return samples;
}

const bytes = arrowAnswer();
const parseStart = process.hrtime.bigint();
const result = toResult({ format: 'arrow', bytes, truncated: false });
const parseMs = msSince(parseStart);
const cells = new ResultCells(result);
if (cells.data('body', ROWS - 1, 0) !== String(9_007_199_254_740_993n + BigInt(ROWS - 1))) {
  throw new Error('the last id is not exact');
}

// The floor: the same cells from arrays of strings made beforehand (not timed).
const strings = Array.from({ length: COLUMNS }, (_, c) =>
  Array.from({ length: ROWS }, (_, r) => cells.data('body', r, c)),
);
const floor = summarise(frames((r, c) => strings[c]![r]!));
const grid = summarise(frames((r, c) => cells.data('body', r, c)));

const output = {
  machine: await machine(),
  rows: ROWS,
  frame: { rows: FRAME_ROWS, columns: COLUMNS, frames: FRAMES },
  arrowBytes: bytes.byteLength,
  parseMs: Math.round(parseMs * 10) / 10,
  frameMs: grid,
  floorMs: floor,
  ratioP50: ratio(grid.p50, floor.p50),
  ratioP99: ratio(grid.p99, floor.p99),
  // 60 frames a second leave 16.7 ms per frame for everything; this is the model's share.
  frameBudgetShareP99: Math.round((grid.p99 / 16.7) * 1000) / 1000,
};
const path = writeResult('mydb-grid', output);
console.log(
  `mydb grid: ${ROWS} rows (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB Arrow) read in ${output.parseMs} ms; ` +
    `a ${FRAME_ROWS}×${COLUMNS} frame p50 ${grid.p50} ms p99 ${grid.p99} ms ` +
    `(floor p50 ${floor.p50} ms p99 ${floor.p99} ms: ×${output.ratioP50} / ×${output.ratioP99}) → ${path}`,
);
