/** Timing helpers shared by the benchmarks: percentiles, ratios and the JSON result file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Milliseconds since an earlier `process.hrtime.bigint()`. */
export const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** Nearest-rank percentile of values already sorted ascending. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export function summarise(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sum / Math.max(1, sorted.length)),
  };
}

/** How many times slower than the floor measured in the same run. */
export const ratio = (value: number, floor: number): number => round(value / floor, 1);

/**
 * Time `count` calls of `work`, one after another; returns per-call milliseconds.
 * Stops early once `budgetMs` has passed, so a pathologically slow query still
 * yields a (shorter) sample instead of a run that never ends.
 */
export async function timeSequential(
  count: number,
  work: (index: number) => Promise<unknown>,
  budgetMs = Number.POSITIVE_INFINITY,
): Promise<number[]> {
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) {
    const start = process.hrtime.bigint();
    await work(index);
    samples.push(msSince(start));
    if (msSince(started) > budgetMs) break;
  }
  return samples;
}

/** Fisher–Yates with a seeded generator, so a run can be repeated exactly. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** mulberry32: small, fast, seeded. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

/** Write bench/results/<name>.json (gitignored) and return its path. */
export function writeResult(name: string, result: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}/${name}.json`;
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** The machine the figures came from, for the record. */
export async function machine() {
  const os = await import('node:os');
  return {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    // Other work on the machine skews every figure; the 1-minute load average says how much.
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
    node: process.version,
  };
}
