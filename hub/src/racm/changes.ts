/**
 * Who may do what just changed: a RACM privilege given or taken back, a resource unregistered,
 * a group membership or nesting changed. Features that mirror RACM elsewhere (MyDB's PostgreSQL
 * grants) listen here; the change is committed before they hear of it, and the request that
 * made it answers only once every listener is done, so what a 200 says is already in force.
 * A listener that fails is logged, not passed on: the change stands, and the listener's own
 * periodic reconciliation catches up.
 */
import type { Logger } from '../log.ts';

/** What changed, when one resource's privileges did (none: memberships, or many at once). */
export interface AccessChange {
  resourceId: number;
  /** The resource type's name (`UserVolume`, `Database`, …). */
  resourceType: string;
}

export type AccessListener = (change?: AccessChange) => Promise<void>;

export class AccessChanges {
  private readonly listeners = new Map<string, AccessListener>();

  constructor(private readonly log?: Logger) {}

  /** Register a feature's listener; one per feature. */
  add(feature: string, listener: AccessListener): void {
    if (this.listeners.has(feature)) throw new Error(`"${feature}" already listens`);
    this.listeners.set(feature, listener);
  }

  /** Tell every listener, after the change committed. */
  async changed(change?: AccessChange): Promise<void> {
    for (const [feature, listener] of this.listeners) {
      try {
        await listener(change);
      } catch (err) {
        this.log?.error({ feature, err: String(err) }, 'applying an access change failed');
      }
    }
  }
}
