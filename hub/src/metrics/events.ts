/**
 * What happened in the hub, told to whoever measures it. Features emit one line where the thing
 * happens (a request answered, a spawn ended, a RACM check decided) and know nothing of
 * Prometheus; the metrics module listens (metrics/registry.ts). With no listener an event costs
 * a map lookup. A listener that throws is logged, never passed back to the code that emitted.
 */
import type { Logger } from '../log.ts';

/** Each event and what it carries; durations are in seconds. */
export interface HubEventMap {
  /**
   * An API request answered: its route (`GET /users/:name`), never the concrete path, the
   * route's tag (`files`), and the bodies' sizes as their Content-Length declared them.
   */
  request: {
    method: string;
    handler: string;
    tag: string;
    code: number;
    seconds: number;
    bytesIn: number;
    bytesOut: number;
  };
  /** A spawn ended (JupyterHub's status and reason: `failure`/`throttled` for a refused start). */
  spawn: { status: 'success' | 'failure' | 'error'; reason: string; seconds: number };
  /** The reconcile loop asked a backend whether a running server still runs. */
  poll: { status: 'running' | 'stopped'; seconds: number };
  /** A stop ended. */
  stop: { status: 'success' | 'failure'; seconds: number };
  /** A RACM decision: through the check API (`check`) or a route's guard (`guard`). */
  racmCheck: { outcome: 'allowed' | 'denied'; via: 'check' | 'guard' | 'proxy' };
  /** The hub is listening, `seconds` after it began to start. */
  started: { seconds: number };
}

export type HubEventName = keyof HubEventMap;
type Listener<K extends HubEventName> = (event: HubEventMap[K]) => void;

export class HubEvents {
  private readonly listeners = new Map<HubEventName, Listener<never>[]>();

  constructor(private readonly log?: Logger) {}

  on<K extends HubEventName>(name: K, listener: Listener<K>): void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener as Listener<never>);
    this.listeners.set(name, list);
  }

  emit<K extends HubEventName>(name: K, event: HubEventMap[K]): void {
    for (const listener of (this.listeners.get(name) ?? []) as Listener<K>[]) {
      try {
        listener(event);
      } catch (err) {
        this.log?.warn({ event: name, err: String(err) }, 'a hub event listener failed');
      }
    }
  }
}

/** Seconds since `start` (from `process.hrtime.bigint()`). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
