/**
 * The activity log written off a request's path: events wait in memory a moment and go in one
 * INSERT together (a commit each is a WAL flush, ~2 ms on a busy machine: more than a small
 * quick query). Each keeps the time it happened. `flush` writes what waits (a reader that must
 * see its own events calls it first); `close` writes everything before the hub stops, so a
 * normal shutdown loses nothing. A failed write is retried with the next one; at close, what
 * still cannot be written is logged whole, never dropped silently.
 */
import type { Db } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { type ActivityEvent, recordActivities } from './store.ts';

/** How long an event waits for others before the batch is written, ms. */
const DELAY_MS = 20;
/** A batch this large is written at once. */
const MAX_BATCH = 500;
/** Events kept while the database refuses them; past this the oldest are logged and dropped. */
const MAX_WAITING = 10_000;

export class ActivityWriter {
  private waiting: (ActivityEvent & { at: Date })[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The write under way: writes go one at a time, in order. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Queue `event`, stamped now; it is written within about DELAY_MS. */
  record(event: ActivityEvent): void {
    this.waiting.push({ ...event, at: new Date() });
    if (this.waiting.length > MAX_WAITING) {
      const lost = this.waiting.splice(0, this.waiting.length - MAX_WAITING);
      this.log.error({ events: lost }, 'activity events could not be written and were dropped');
    }
    if (this.waiting.length >= MAX_BATCH) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), DELAY_MS);
      this.timer.unref();
    }
  }

  /** Write every event queued so far; resolves once they are written (or logged as failed). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  /** The hub stops: write what waits; what cannot be written goes to the log. */
  async close(): Promise<void> {
    await this.flush();
    if (this.waiting.length) {
      await this.flush();
      if (this.waiting.length)
        this.log.error({ events: this.waiting }, 'activity events could not be written at close');
      this.waiting = [];
    }
  }

  private async write(batch: (ActivityEvent & { at: Date })[]): Promise<void> {
    for (let from = 0; from < batch.length; from += MAX_BATCH) {
      const part = batch.slice(from, from + MAX_BATCH);
      try {
        await recordActivities(this.db, part);
      } catch (err) {
        this.log.warn({ err: String(err), events: part.length }, 'writing activity events failed');
        // Kept for the next write, ahead of newer events.
        this.waiting.unshift(...batch.slice(from));
        if (!this.timer) {
          this.timer = setTimeout(() => void this.flush(), DELAY_MS * 50);
          this.timer.unref();
        }
        return;
      }
    }
  }
}
