/**
 * At most `limit` long-lived connections (event streams, WebSockets) per key at once. In memory:
 * the connections themselves live in this process, so the count is exact.
 */
export class ConnectionCap {
  private readonly open = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** Take a slot for `key`; returns its release (safe to call twice), or undefined when full. */
  acquire(key: string): (() => void) | undefined {
    const count = this.open.get(key) ?? 0;
    if (count >= this.limit) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  /** Connections open for `key` now. */
  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}
