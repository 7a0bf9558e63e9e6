/** What deleting an account removes of its files: its volumes, quarantined before deletion. */
import type { AccountRef } from '../accounts/removers.ts';
import type { Queryable } from '../db/pool.ts';
import type { FilesConfig } from './config.ts';
import { volumesOwnedBy } from './store.ts';

export async function filesInventory(
  db: Queryable,
  config: FilesConfig,
  account: AccountRef,
): Promise<string[]> {
  const volumes = await volumesOwnedBy(db, account.userId);
  const roots = config.rootVolumes.map((root) => root.name).join(', ');
  const folders = `its folders in ${roots} (quarantined, deleted after ${config.quarantineDays} days)`;
  if (!volumes.length) return [folders];
  return [
    `${volumes.length} volume${volumes.length === 1 ? '' : 's'}: ${volumes
      .map((volume) => `${volume.root}/${volume.owner}/${volume.name}`)
      .join(', ')}, and the shares of them`,
    folders,
  ];
}
