/**
 * The timers that models with a schedule use (the idle-stop watcher, the usage watcher, the
 * jobs poller, the panels' refresh): the browser's in JupyterLab, a hand-advanced one in tests.
 */
export interface IClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** The browser's timers. */
export const browserClock: IClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number | undefined),
  setInterval: (callback, ms) => window.setInterval(callback, ms),
  clearInterval: (handle) => window.clearInterval(handle as number | undefined),
};
