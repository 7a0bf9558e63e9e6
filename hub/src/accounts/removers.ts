/**
 * What each feature removes of a deleted account: compute its servers and workspace, files the
 * volumes, MyDB the database. A feature module adds its remover when it opens; account deletion
 * (and the retry of a removal left pending) runs them all, in order. Each feature also says, in
 * words, what it would remove of an account (a feature whose rows simply go with the user's row,
 * such as jobs, says only that), so the admin's confirmation lists exactly what goes.
 */
import type { AccountRemoval } from './store.ts';

export type AccountRemover = (removal: AccountRemoval) => Promise<void>;

/** The account as the features look it up. */
export interface AccountRef {
  userId: number;
  name: string;
  safeName: string;
}

/** What one feature removes of an account: short phrases ("2 servers: default, big"). */
export type AccountInventory = (account: AccountRef) => Promise<string[]>;

export class AccountRemovers {
  private readonly removers = new Map<string, AccountRemover>();
  private readonly inventories = new Map<string, AccountInventory>();

  /** Register the feature's remover; one per feature. */
  add(feature: string, remover: AccountRemover): void {
    if (this.removers.has(feature)) throw new Error(`"${feature}" already removes accounts`);
    this.removers.set(feature, remover);
  }

  /** Register how the feature says what it removes of an account; one per feature. */
  describe(feature: string, inventory: AccountInventory): void {
    if (this.inventories.has(feature)) throw new Error(`"${feature}" already describes accounts`);
    this.inventories.set(feature, inventory);
  }

  /** Remove everything of the account; rejects (the removal stays pending) if any feature fails. */
  async run(removal: AccountRemoval): Promise<void> {
    for (const remover of this.removers.values()) await remover(removal);
  }

  /** What deleting the account would remove, by feature; features with nothing of it are left out. */
  async whatGoes(account: AccountRef): Promise<{ feature: string; items: string[] }[]> {
    const found: { feature: string; items: string[] }[] = [];
    for (const [feature, inventory] of this.inventories) {
      const items = await inventory(account);
      if (items.length) found.push({ feature, items });
    }
    return found;
  }
}
