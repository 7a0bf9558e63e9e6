/**
 * Groups inside groups. Members of a child count as members of its parents, so
 * privileges given to a parent flow down. group_closure holds the transitive
 * pairs so that access checks join once instead of recursing.
 */
import type pg from 'pg';
import { Conflict, Invalid } from '../errors.ts';

// One writer at a time: two concurrent nestings could each pass the cycle
// check and together form a cycle. Readers are not blocked.
const lockNesting = (client: pg.PoolClient) =>
  client.query('LOCK TABLE group_nesting IN SHARE ROW EXCLUSIVE MODE');

/** Rebuild the closure from the nesting edges (thousands of groups: milliseconds). */
async function rebuildClosure(client: pg.PoolClient): Promise<void> {
  await client.query('DELETE FROM group_closure');
  await client.query(
    `INSERT INTO group_closure (ancestor_id, descendant_id)
     WITH RECURSIVE reach(ancestor_id, descendant_id) AS (
       SELECT id, id FROM groups
       UNION
       SELECT n.parent_id, r.descendant_id FROM group_nesting n JOIN reach r ON r.ancestor_id = n.child_id
     ) SELECT ancestor_id, descendant_id FROM reach`,
  );
}

/** Put `childId` inside `parentId`. Must run inside a transaction. Refuses cycles. */
export async function nestGroup(
  client: pg.PoolClient,
  parentId: number,
  childId: number,
): Promise<void> {
  if (parentId === childId) throw new Invalid('nest_self', 'A group cannot contain itself');
  await lockNesting(client);
  const cycle = await client.query(
    'SELECT 1 FROM group_closure WHERE ancestor_id = $1 AND descendant_id = $2',
    [childId, parentId],
  );
  if (cycle.rowCount)
    throw new Conflict(
      'nest_cycle',
      'That would make a cycle: the parent is already inside the child',
    );
  await client.query(
    'INSERT INTO group_nesting (parent_id, child_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [parentId, childId],
  );
  // Adding an edge only adds pairs: every ancestor of parent reaches every descendant of child.
  await client.query(
    `INSERT INTO group_closure (ancestor_id, descendant_id)
     SELECT a.ancestor_id, d.descendant_id FROM group_closure a, group_closure d
     WHERE a.descendant_id = $1 AND d.ancestor_id = $2 ON CONFLICT DO NOTHING`,
    [parentId, childId],
  );
}

/** Take `childId` out of `parentId`. Must run inside a transaction. */
export async function unnestGroup(
  client: pg.PoolClient,
  parentId: number,
  childId: number,
): Promise<boolean> {
  await lockNesting(client);
  const { rowCount } = await client.query(
    'DELETE FROM group_nesting WHERE parent_id = $1 AND child_id = $2',
    [parentId, childId],
  );
  // Removing an edge can leave other paths between the same pairs; recompute rather than guess.
  if (rowCount) await rebuildClosure(client);
  return (rowCount ?? 0) > 0;
}

/** Delete a group; if it sat between other groups, the pairs that went through it go too. */
export async function deleteGroupAndPaths(client: pg.PoolClient, groupId: number): Promise<void> {
  await lockNesting(client);
  const nested = await client.query(
    'SELECT 1 FROM group_nesting WHERE parent_id = $1 OR child_id = $1 LIMIT 1',
    [groupId],
  );
  await client.query('DELETE FROM groups WHERE id = $1', [groupId]);
  if (nested.rowCount) await rebuildClosure(client);
}
