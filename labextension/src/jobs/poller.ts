/**
 * When the Jobs panel asks the hub again: every `intervalSeconds` while a job is queued or
 * running or the shown log is not complete, and not at all otherwise (`kick` starts it again
 * after a submission). On an injected clock, so the rule is unit-tested without waiting.
 */
import type { IClock } from '../clock.js';
import type { JobsModel } from './model.js';

export interface IJobsPollerOptions {
  model: JobsModel;
  intervalSeconds: number;
  clock: Pick<IClock, 'setTimeout' | 'clearTimeout'>;
}

export class JobsPoller {
  private timer: unknown;
  private disposed = false;

  constructor(private readonly options: IJobsPollerOptions) {}

  /** True when the next round is scheduled. */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  set intervalSeconds(value: number) {
    this.options.intervalSeconds = value;
    this.schedule();
  }

  /** Ask now, then keep asking while something is moving. */
  async kick(): Promise<void> {
    await this.round();
  }

  private wanted(): boolean {
    const { model } = this.options;
    return model.hasActive || (model.log !== null && !model.log.complete);
  }

  private schedule(): void {
    const { clock, intervalSeconds } = this.options;
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.disposed && intervalSeconds > 0 && this.wanted()) {
      this.timer = clock.setTimeout(() => {
        this.timer = undefined;
        void this.round();
      }, intervalSeconds * 1000);
    }
  }

  private async round(): Promise<void> {
    const { model } = this.options;
    // A failed refresh is shown in the panel (model.error); the next round tries again.
    await Promise.all([model.refresh().catch(() => undefined), model.log?.poll()]);
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
