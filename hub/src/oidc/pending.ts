/**
 * Sign-ins in progress. Between `/hub/oauth/login` and `/hub/oauth/callback`
 * the hub keeps the state, nonce, PKCE verifier and `next` target here, in
 * memory, under a random key that only the browser's HttpOnly cookie holds.
 * Entries are single-use and expire; like the rate limiters they belong to one
 * hub process and vanish when it restarts (the user just signs in again).
 */
import { newSecret } from '../auth/secrets.ts';

export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Where to go after signing in; already checked by `safeNext`. */
  next: string;
}

export class PendingLogins {
  private readonly entries = new Map<string, { login: PendingLogin; expires: number }>();

  constructor(
    /** How long a browser has to come back from the provider, ms. */
    readonly ttlMs: number,
    /** Most sign-ins kept at once; beyond it the oldest is dropped so memory stays bounded. */
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keep `login`; returns the key to put in the browser's cookie. */
  put(login: PendingLogin): string {
    const now = this.now();
    this.sweep(now);
    while (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    const key = newSecret();
    this.entries.set(key, { login, expires: now + this.ttlMs });
    return key;
  }

  /** The sign-in under `key`, removed so it cannot be used twice; undefined when unknown or expired. */
  take(key: string): PendingLogin | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    return entry.expires > this.now() ? entry.login : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  // Insertion order is expiry order (one ttl for all), so stop at the first live entry.
  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(key);
    }
  }
}
