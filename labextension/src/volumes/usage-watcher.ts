/**
 * Keeps my Storage usage for the status bar: asks the usage route now and then every
 * `intervalSeconds`, on an injected clock (the browser's in JupyterLab, a hand-advanced one
 * in tests). A failed question keeps the last answer and says so in `error`.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import type { IClock } from '../clock.js';
import type { IFilesClient, IRootUsage } from '../tokens.js';

export interface IUsageWatcherOptions {
  client: Pick<IFilesClient, 'usage'>;
  user: string;
  /** The root volume shown: Storage. */
  root: string;
  intervalSeconds: number;
  clock: Pick<IClock, 'setInterval' | 'clearInterval'>;
}

export class UsageWatcher {
  private _usage: IRootUsage | null = null;
  private _error: string | null = null;
  private _changed = new Signal<this, void>(this);
  private timer: unknown;
  private seq = 0;

  constructor(private readonly options: IUsageWatcherOptions) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  /** The root's usage, or null before the first answer (or if the hub has no such root). */
  get usage(): IRootUsage | null {
    return this._usage;
  }
  get error(): string | null {
    return this._error;
  }
  /** At or above 90% of the quota: the hub's `warning`. */
  get warning(): boolean {
    return this._usage?.warning ?? false;
  }

  /** Ask now, then every interval (0: only when `check` is called). */
  start(): Promise<void> {
    const { clock, intervalSeconds } = this.options;
    clock.clearInterval(this.timer);
    this.timer =
      intervalSeconds > 0
        ? clock.setInterval(() => void this.check(), intervalSeconds * 1000)
        : undefined;
    return this.check();
  }

  async check(): Promise<void> {
    const seq = ++this.seq;
    const { client, user, root } = this.options;
    try {
      const answer = await client.usage(user);
      if (seq !== this.seq) {
        return;
      }
      this._usage = answer.roots.find((r) => r.root === root) ?? null;
      this._error = null;
    } catch (e) {
      if (seq !== this.seq) {
        return;
      }
      this._error = e instanceof Error ? e.message : String(e);
    }
    this._changed.emit();
  }

  dispose(): void {
    this.options.clock.clearInterval(this.timer);
    this.timer = undefined;
    this.seq++;
  }
}
