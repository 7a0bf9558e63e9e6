/**
 * Which schemas a batch query sees unqualified: its context's, then the user's MyDB. `mydb` is
 * the user's own; a catalog context needs RACM's `submitQuery` on it, and one the user may not
 * query answers 404 as one that does not exist (contexts.ts hides them the same way). What the
 * SQL may really read is still PostgreSQL's grants to the user's role.
 */
import type { Db } from '../db/pool.ts';
import { NotFound } from '../errors.ts';
import { findResourceByName, may } from '../racm/store.ts';
import { CONTEXT_NAME, CONTEXT_TYPE, catalogSchemaOf, MYDB_CONTEXT } from './contexts.ts';

export async function searchPathOf(
  db: Db,
  userId: number,
  context: string,
  mydbSchema: string,
): Promise<string[]> {
  if (context === MYDB_CONTEXT) return [mydbSchema];
  const hidden = new NotFound('context', `No database context named "${context}"`);
  if (!CONTEXT_NAME.test(context)) throw hidden;
  const resource = await findResourceByName(db, CONTEXT_TYPE, context);
  if (!resource || !(await may(db, userId, 'submitQuery', resource.id))) throw hidden;
  return [catalogSchemaOf(context), mydbSchema];
}
