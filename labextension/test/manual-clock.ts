/** Interval timers for the tests of models with a schedule (usage watcher, panel refresh). */
import type { IClock } from '../src/clock.js';

/** A clock whose time moves only when the test says so. */
export class ManualClock implements Pick<IClock, 'setInterval' | 'clearInterval'> {
  private timers = new Map<number, { fn: () => void; every: number; next: number }>();
  private id = 0;
  now = 0;
  setInterval(fn: () => void, ms: number): unknown {
    this.timers.set(++this.id, { fn, every: ms, next: this.now + ms });
    return this.id;
  }
  clearInterval(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.next <= end);
      if (due.length === 0) {
        break;
      }
      const t = due.sort((a, b) => a.next - b.next)[0]!;
      this.now = t.next;
      t.next += t.every;
      t.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.now = end;
  }
}
