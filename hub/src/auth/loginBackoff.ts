/**
 * Back-off after wrong passwords, per (account, address): someone guessing from one address is
 * slowed down more and more, while the account's owner at another address logs in as usual.
 * Guessing from many addresses is bounded by the per-address limit and the argon2 cost instead.
 * Kept in memory, like the other limiters: one hub process, forgotten when it restarts.
 */
export interface BackoffRules {
  /** Failures allowed before the pair must wait. */
  freeFailures: number;
  /** The first wait, ms; each further failure doubles it. */
  baseMs: number;
  /** The longest wait, ms. */
  maxMs: number;
  /** A pair quiet this long after its last failure and its wait is forgotten, ms. */
  forgetMs: number;
}

interface PairState {
  failures: number;
  lastFailure: number;
  lockedUntil: number;
}

const forgotten = (state: PairState, now: number, forgetMs: number) =>
  now >= Math.max(state.lastFailure, state.lockedUntil) + forgetMs;

/** How long to wait after the `failures`-th failure, ms (0 while still within the free ones). */
export function backoffMs(failures: number, rules: BackoffRules): number {
  if (failures < rules.freeFailures) return 0;
  const doublings = Math.min(failures - rules.freeFailures, 30);
  return Math.min(rules.baseMs * 2 ** doublings, rules.maxMs);
}

export class LoginBackoff {
  private readonly pairs = new Map<string, PairState>();

  constructor(
    private readonly rules: BackoffRules,
    private readonly now: () => number = Date.now,
  ) {}

  private static key(account: string, address: string): string {
    return `${account}\n${address}`;
  }

  /** Seconds this pair must still wait before trying again; 0 if it may try now. */
  waitSeconds(account: string, address: string): number {
    const key = LoginBackoff.key(account, address);
    const state = this.pairs.get(key);
    if (!state) return 0;
    const now = this.now();
    if (state.lockedUntil > now) return Math.ceil((state.lockedUntil - now) / 1000);
    if (forgotten(state, now, this.rules.forgetMs)) this.pairs.delete(key);
    return 0;
  }

  /** Count a wrong password; returns the seconds to wait now (0 while within the free failures). */
  failed(account: string, address: string): number {
    const key = LoginBackoff.key(account, address);
    const now = this.now();
    let state = this.pairs.get(key);
    if (state && forgotten(state, now, this.rules.forgetMs)) state = undefined;
    if (!state) {
      state = { failures: 0, lastFailure: now, lockedUntil: 0 };
      this.pairs.set(key, state);
      if (this.pairs.size > 100_000) this.sweep(now);
    }
    state.failures += 1;
    state.lastFailure = now;
    const wait = backoffMs(state.failures, this.rules);
    state.lockedUntil = wait > 0 ? now + wait : 0;
    return Math.ceil(wait / 1000);
  }

  /** The right password from this address: its count starts again. */
  succeeded(account: string, address: string): void {
    this.pairs.delete(LoginBackoff.key(account, address));
  }

  private sweep(now: number): void {
    for (const [key, state] of this.pairs)
      if (forgotten(state, now, this.rules.forgetMs)) this.pairs.delete(key);
  }
}
