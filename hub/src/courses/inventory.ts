/**
 * What deleting an account removes of courses: those it teaches go with it (their groups at the
 * next sweep; students keep their own copies), and its submissions to other teachers' courses,
 * records and snapshots.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { AccountRef } from '../accounts/removers.ts';
import type { Queryable } from '../db/pool.ts';
import type { RootVolumeConfig } from '../files/config.ts';
import { coursesArea } from './areas.ts';

export async function coursesInventory(db: Queryable, account: AccountRef): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT (SELECT array_agg(slug ORDER BY slug) FROM courses WHERE teacher_id = $1) AS taught,
            (SELECT count(*)::int FROM course_submissions WHERE user_id = $1) AS submissions`,
    [account.userId],
  );
  const { taught, submissions } = rows[0] as { taught: string[] | null; submissions: number };
  const items: string[] = [];
  if (taught?.length)
    items.push(
      `${taught.length} course${taught.length === 1 ? '' : 's'} taught, with rosters, assignments and students' submissions: ${taught.join(', ')}`,
    );
  if (submissions)
    items.push(
      `${submissions} submission${submissions === 1 ? '' : 's'} to other teachers' courses`,
    );
  return items;
}

/**
 * Remove a deleted account's snapshots from every course (its submission rows went with its
 * user row). Folders are named by user id, which is never reused.
 */
export async function removeSubmissionsOf(root: RootVolumeConfig, userId: number): Promise<void> {
  const area = coursesArea(root);
  const courses = await fsp.readdir(area).catch(() => [] as string[]);
  for (const course of courses.filter((name) => /^\d+$/.test(name))) {
    const assignments = await fsp.readdir(path.join(area, course)).catch(() => [] as string[]);
    for (const assignment of assignments.filter((name) => /^a\d+$/.test(name)))
      await fsp.rm(path.join(area, course, assignment, 'submissions', String(userId)), {
        recursive: true,
        force: true,
      });
  }
}
