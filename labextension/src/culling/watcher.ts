/**
 * Watches this server's idle stop: asks the hub when it will stop the server (rarely far from
 * the stop, often near it), counts down each second inside the warning window, and keeps the
 * server alive on request. Timers come from an injected clock, so the timing is unit-tested.
 */
import type { IClock } from '../clock.js';
import type { IServerInfo, IServersClient } from '../tokens.js';
import { nextCheckSeconds, secondsUntilCull } from './model.js';

/** Where the countdown is shown (a notification in JupyterLab). */
export interface ICullWarning {
  /** Shows the countdown, or updates the one shown. */
  show(secondsLeft: number): void;
  hide(): void;
}

export interface ICullWatcherOptions {
  client: Pick<IServersClient, 'serverInfo' | 'keepServerAlive'>;
  user: string;
  server: string;
  /** How long before the stop the warning appears (the hub's cull_warning_seconds). */
  warningSeconds: number;
  clock: IClock;
  warning: ICullWarning;
}

export class CullWatcher {
  private info: IServerInfo | null = null;
  private timer: unknown;
  private ticker: unknown;
  private shown = false;
  private disposed = false;

  constructor(private readonly options: ICullWatcherOptions) {}

  /** Asks the hub now, updates the warning, and schedules the next question. */
  async check(): Promise<void> {
    const { client, user, server } = this.options;
    try {
      this.info = await client.serverInfo(user, server);
    } catch {
      // The server is going away, or the hub is unreachable for a moment: ask again later.
      this.info = null;
    }
    this.settle();
  }

  /** Counts as activity now, so the stop moves away; rejects with the hub's refusal. */
  async keepAlive(): Promise<void> {
    const { client, user, server } = this.options;
    this.info = await client.keepServerAlive(user, server);
    this.settle();
  }

  dispose(): void {
    this.disposed = true;
    this.options.clock.clearTimeout(this.timer);
    this.stopTicker();
    this.hide();
  }

  private settle(): void {
    if (this.disposed) {
      return;
    }
    this.update();
    const { clock, warningSeconds } = this.options;
    clock.clearTimeout(this.timer);
    const wait = nextCheckSeconds(this.info?.cull_at ?? null, clock.now(), warningSeconds);
    this.timer = clock.setTimeout(() => void this.check(), wait * 1000);
  }

  /** Shows the seconds left inside the window (ticking each second), hides it outside. */
  private update(): void {
    const { clock, warningSeconds, warning } = this.options;
    const left = secondsUntilCull(this.info?.cull_at ?? null, clock.now(), warningSeconds);
    if (left === null) {
      this.stopTicker();
      this.hide();
      return;
    }
    warning.show(left);
    this.shown = true;
    if (this.ticker === undefined) {
      this.ticker = clock.setInterval(() => this.update(), 1000);
    }
  }

  private hide(): void {
    if (this.shown) {
      this.options.warning.hide();
    }
    this.shown = false;
  }

  private stopTicker(): void {
    this.options.clock.clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
