/** What deleting an account removes of its jobs: their records go with the account's row. */
import type { AccountRef } from '../accounts/removers.ts';
import type { Queryable } from '../db/pool.ts';

export async function jobsInventory(db: Queryable, account: AccountRef): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE status IN ('queued', 'running'))::int AS pending
       FROM jobs WHERE user_id = $1`,
    [account.userId],
  );
  const { total, pending } = rows[0] as { total: number; pending: number };
  if (!total) return [];
  return [
    `${total} job${total === 1 ? '' : 's'} and their records${pending ? ` (${pending} queued or running)` : ''}`,
  ];
}
