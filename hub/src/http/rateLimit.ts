/**
 * Fixed-window counters in memory: enough for one hub process, and the limits
 * reset when it restarts (as JupyterHub's do).
 */
import { HttpError } from './errors.ts';

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count one hit for `key`; returns seconds to wait when over the limit, else 0. */
  hit(key: string): number {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
      if (this.windows.size > 100_000) this.sweep(now);
    }
    window.count += 1;
    if (window.count <= this.limit) return 0;
    return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
  }

  /** Throws a 429 with Retry-After when over the limit. */
  check(key: string, message: string): void {
    const wait = this.hit(key);
    if (wait > 0) {
      throw new HttpError(429, `${message}; try again in ${wait} s`, {
        headers: { 'Retry-After': String(wait) },
      });
    }
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows)
      if (now - window.start >= this.windowMs) this.windows.delete(key);
  }
}
