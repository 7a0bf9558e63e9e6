/** What deleting an account removes of MyDB: its schema with every table, its role, its history. */
import type { AccountRef } from '../accounts/removers.ts';
import type { Queryable } from '../db/pool.ts';
import { findSpace } from './store.ts';

export async function mydbInventory(db: Queryable, account: AccountRef): Promise<string[]> {
  const space = await findSpace(db, account.userId);
  const { rows } = await db.query(
    'SELECT count(*)::int AS n FROM mydb_queries WHERE user_id = $1',
    [account.userId],
  );
  const history: number = rows[0].n;
  return [
    ...(space
      ? [`the MyDB schema ${space.schemaName} with all its tables, and the role ${space.roleName}`]
      : []),
    ...(history ? [`${history} quer${history === 1 ? 'y' : 'ies'} in the MyDB history`] : []),
  ];
}
