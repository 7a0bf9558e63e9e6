/** What deleting an account removes of its compute: its servers, stopped, and its workspace. */
import type { AccountRef } from '../accounts/removers.ts';
import type { Queryable } from '../db/pool.ts';
import type { Compute } from './orchestrator.ts';
import { serversOf } from './store.ts';

const serverLabel = (name: string) => (name === '' ? 'default' : name);

export async function computeInventory(
  db: Queryable,
  compute: Compute,
  account: AccountRef,
): Promise<string[]> {
  const servers = await serversOf(db, account.userId);
  const running = servers.length
    ? [
        `${servers.length} server${servers.length === 1 ? '' : 's'} stopped: ${servers
          .map((server) => `${serverLabel(server.name)} (${server.status}, ${server.domain})`)
          .join(', ')}`,
      ]
    : [];
  // Every domain keeps a workspace per user (a Docker volume or a folder), made at first start.
  return [
    ...running,
    `the workspace ${compute.workspaceOf(account.safeName)} on every compute domain`,
  ];
}
