/**
 * Clients of the compute benchmark, the same code for every target (Orrery proxy, direct,
 * configurable-http-proxy): a closed-loop HTTP load generator, a kernel-channels WebSocket
 * client timing kernel_info round trips, a server-sent-events follower, and /proc readers.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';
import { msSince } from './stats.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentiles; stats.ts has p50/p99, spawns also want p95. */
export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return {
    n: sorted.length,
    p50: round(at(50)),
    p95: round(at(95)),
    p99: round(at(99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length)),
  };
}

export interface LoadResult {
  concurrency: number;
  seconds: number;
  requests: number;
  errors: number;
  firstError?: string;
  reqPerSec: number;
  mbPerSec: number;
  latencyMs: Percentiles;
}

/** One GET on a keep-alive agent; resolves with the body length, rejects on a non-200. */
function get(url: URL, headers: http.OutgoingHttpHeaders, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(bytes) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * Closed loop: `concurrency` workers each send the next GET as soon as the last one answered,
 * for `seconds`. Every worker has its own keep-alive connection (agent with maxSockets = c).
 */
export async function httpLoad(
  target: string,
  headers: http.OutgoingHttpHeaders,
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const began = process.hrtime.bigint();
        try {
          // Not `bytes += await ...`: that reads `bytes` before awaiting and loses updates.
          const received = await get(url, headers, agent);
          bytes += received;
          latencies.push(msSince(began));
        } catch (err) {
          errors += 1;
          firstError ??= err instanceof Error ? err.message : String(err);
          await sleep(10);
        }
      }
    }),
  );
  const elapsed = msSince(started) / 1000;
  agent.destroy();
  return {
    concurrency,
    seconds: round(elapsed, 2),
    requests: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    reqPerSec: round(latencies.length / elapsed, 1),
    mbPerSec: round(bytes / 2 ** 20 / elapsed, 1),
    latencyMs: percentiles(latencies),
  };
}

/** The JSON kernel protocol message Jupyter's channels endpoint accepts without a subprotocol. */
function kernelInfoRequest(session: string) {
  return {
    header: {
      msg_id: randomUUID(),
      username: 'bench',
      session,
      msg_type: 'kernel_info_request',
      version: '5.3',
      date: new Date().toISOString(),
    },
    parent_header: {},
    metadata: {},
    content: {},
    channel: 'shell',
    buffers: [],
  };
}

/** One WebSocket on a kernel's channels; `roundTrip()` times a kernel_info request to its reply. */
export class KernelChannel {
  private readonly session = randomUUID();
  private readonly waiting = new Map<string, () => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const text = data.toString();
      // Cheap pre-filter: only shell replies matter, iopub status messages are many.
      if (!text.includes('kernel_info_reply')) return;
      const message = JSON.parse(text) as { parent_header?: { msg_id?: string } };
      const id = message.parent_header?.msg_id;
      if (id) this.waiting.get(id)?.();
    });
  }

  static open(url: string, headers: Record<string, string>): Promise<KernelChannel> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${url}?session_id=${randomUUID()}`, { headers });
      socket.once('open', () => resolve(new KernelChannel(socket)));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`WebSocket refused: HTTP ${res.statusCode}`)),
      );
    });
  }

  roundTrip(timeoutMs = 10_000): Promise<number> {
    const message = kernelInfoRequest(this.session);
    const id = message.header.msg_id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error('kernel_info_reply timed out'));
      }, timeoutMs);
      const began = process.hrtime.bigint();
      this.waiting.set(id, () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(msSince(began));
      });
      this.socket.send(JSON.stringify(message));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
      setTimeout(() => this.socket.terminate(), 2000).unref();
    });
  }
}

export interface RoundTripResult {
  connections: number;
  planned: number;
  latencyMs: Percentiles;
  seconds: number;
  /** Every round trip, ms, when asked for (to pool several runs). */
  samples?: number[];
}

/**
 * `connections` WebSockets on one kernel, each doing up to `perConnection` sequential
 * kernel_info round trips, all stopped once `budgetSeconds` have passed (n < planned then).
 * The first round trip of each connection is a warm-up and not counted.
 */
export async function kernelRoundTrips(
  url: string,
  headers: Record<string, string>,
  connections: number,
  perConnection: number,
  budgetSeconds: number,
  keepSamples = false,
): Promise<RoundTripResult> {
  const channels = await Promise.all(
    Array.from({ length: connections }, () => KernelChannel.open(url, headers)),
  );
  try {
    await Promise.all(channels.map((channel) => channel.roundTrip(30_000)));
    const samples: number[] = [];
    const started = process.hrtime.bigint();
    const deadline = Date.now() + budgetSeconds * 1000;
    await Promise.all(
      channels.map(async (channel) => {
        for (let i = 0; i < perConnection && Date.now() < deadline; i++)
          samples.push(await channel.roundTrip());
      }),
    );
    return {
      connections,
      planned: connections * perConnection,
      latencyMs: percentiles(samples),
      seconds: round(msSince(started) / 1000, 2),
      ...(keepSamples ? { samples } : {}),
    };
  } finally {
    await Promise.all(channels.map((channel) => channel.close()));
  }
}

/** Open and close `count` WebSockets, `parallel` at a time; resolves with the failures. */
export async function websocketChurn(
  url: string,
  headers: Record<string, string>,
  count: number,
  parallel: number,
): Promise<number> {
  let next = 0;
  let failures = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => socket.close());
      socket.once('close', () => resolve());
      socket.once('error', () => {
        failures += 1;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next += 1;
        await one();
      }
    }),
  );
  return failures;
}

/** Follow a server-sent-events stream of spawn progress until `ready` or `failed`. */
export async function followProgress(
  url: string,
  headers: Record<string, string>,
): Promise<{ ready: boolean; message: string }> {
  const res = await fetch(url, { headers });
  if (res.status !== 200 || !res.body) throw new Error(`progress: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let last = 'no event';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('');
      if (!data) continue;
      const parsed = JSON.parse(data) as { message: string; ready?: boolean; failed?: boolean };
      last = parsed.message;
      if (parsed.ready || parsed.failed) {
        await res.body.cancel().catch(() => {});
        return { ready: Boolean(parsed.ready), message: parsed.message };
      }
    }
  }
  return { ready: false, message: `stream ended after: ${last}` };
}

/** GET `url` every `intervalMs` until it answers 200; resolves with the attempts made. */
export async function untilOk(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let last = 'no answer';
  while (Date.now() < deadline) {
    attempts += 1;
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return attempts;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer in time (${last})`);
}

/** Resident set size of a process, bytes (VmRSS of /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time (user + system) a process has used, seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
