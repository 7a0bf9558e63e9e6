/**
 * A side panel's periodic refresh: every `seconds` while the panel is shown and its model is
 * not loading already; none at 0. A failed refresh is kept in the model's `error`, which the
 * panel shows. On an injected clock, so the rule is unit-tested without waiting.
 */
import type { IClock } from './clock.js';

export interface IPanelRefresherOptions {
  panel: { readonly isVisible: boolean };
  model: { readonly loading: boolean; refresh(): Promise<unknown> };
  clock: Pick<IClock, 'setInterval' | 'clearInterval'>;
}

export class PanelRefresher {
  private timer: unknown;

  constructor(private readonly options: IPanelRefresherOptions) {}

  /** (Re)start the timer at this interval, as the setting says now; 0 stops it. */
  every(seconds: number): void {
    const { clock, panel, model } = this.options;
    clock.clearInterval(this.timer);
    this.timer = undefined;
    if (seconds > 0) {
      this.timer = clock.setInterval(() => {
        if (panel.isVisible && !model.loading) {
          model.refresh().catch(() => undefined);
        }
      }, seconds * 1000);
    }
  }
}
