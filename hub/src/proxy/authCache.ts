/**
 * The proxy authenticates every request; a browser tab sends many. Results are cached
 * briefly by the credential's hash so each request does not cost two queries. A revoked
 * session or token keeps working through the proxy for at most `ttlMs`.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';

export class AuthCache {
  private readonly entries = new Map<string, { principal: Principal | null; expires: number }>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 10_000,
  ) {}

  static keyOf(credential: string): string {
    return createHash('sha256').update(credential).digest('base64url');
  }

  get(key: string): Principal | null | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  set(key: string, principal: Principal | null): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { principal, expires: Date.now() + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
