/**
 * What each feature removes of a deleted account: compute its servers and workspace; MyDB,
 * volumes and jobs theirs when they come. A feature module adds its remover when it opens;
 * account deletion (and the retry of a removal left pending) runs them all, in order.
 */
import type { AccountRemoval } from './store.ts';

export type AccountRemover = (removal: AccountRemoval) => Promise<void>;

export class AccountRemovers {
  private readonly removers = new Map<string, AccountRemover>();

  /** Register the feature's remover; one per feature. */
  add(feature: string, remover: AccountRemover): void {
    if (this.removers.has(feature)) throw new Error(`"${feature}" already removes accounts`);
    this.removers.set(feature, remover);
  }

  /** Remove everything of the account; rejects (the removal stays pending) if any feature fails. */
  async run(removal: AccountRemoval): Promise<void> {
    for (const remover of this.removers.values()) await remover(removal);
  }
}
