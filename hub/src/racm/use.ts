/**
 * The "use" rule for resources the hub offers by name (compute images, compute domains): one
 * function, so the API's list of choices and the orchestrator's check can never disagree.
 */
import type { Queryable } from '../db/pool.ts';
import { findResourceByName, may } from './store.ts';

/** Resource types whose resources are offered by name and taken with the `use` action. */
export type UsableType = 'DockerImage' | 'ComputeDomain';

/** May the user use the resource of `type` named `name`? One never registered is usable by nobody. */
export async function mayUse(
  db: Queryable,
  userId: number,
  type: UsableType,
  name: string,
): Promise<boolean> {
  const resource = await findResourceByName(db, type, name);
  return resource !== undefined && (await may(db, userId, 'use', resource.id));
}
