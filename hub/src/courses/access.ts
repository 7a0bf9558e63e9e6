/**
 * Who the caller is in a course, asked by every course operation before anything else: a
 * course the caller is not in is "not found" (its existence is not revealed). Also the Course
 * answer, the same for every route that returns one.
 */
import type { Actor } from '../auth/actor.ts';
import type { Queryable } from '../db/pool.ts';
import { Conflict, NotFound } from '../errors.ts';
import { roleIn } from '../groups/store.ts';
import { type CourseRole, courseRoleOf, isArchived, isStaff } from './rules.ts';
import { type CourseRecord, findCourse, rosterOf } from './store.ts';

export const courseNotFound = () => new NotFound('course', 'Course not found');

export interface InCourse {
  course: CourseRecord;
  role: CourseRole;
}

/** The course and the caller's role in it; `lock` holds the course row (in a transaction). */
export async function courseFor(
  db: Queryable,
  actor: Actor,
  slug: string,
  lock = false,
): Promise<InCourse> {
  const course = await findCourse(db, slug, lock);
  const role = course ? courseRoleOf(await roleIn(db, course.groupId, actor.userId)) : null;
  if (!course || !role) throw courseNotFound();
  return { course, role };
}

/** Refuse a change to an archived course: from its end date on it is read-only. */
export function refuseArchived(course: CourseRecord, now: Date): void {
  if (isArchived(course.endsAt, now))
    throw new Conflict(
      'course_archived',
      `The course ${course.slug} ended ${course.endsAt.toISOString()}; it is read-only`,
    );
}

export const lectureVolumeName = (slug: string) => `course-${slug}`;
export const gradingVolumeName = (slug: string) => `course-${slug}-grading`;

/** The Course answer. */
export async function describeCourse(
  db: Queryable,
  course: CourseRecord,
  role: CourseRole,
  now: Date,
) {
  const { rows } = await db.query(
    `SELECT 1 FROM file_volumes WHERE root = 'Storage' AND owner_id = $1 AND name = $2`,
    [course.teacherId, lectureVolumeName(course.slug)],
  );
  const described = {
    slug: course.slug,
    title: course.title,
    term: course.term,
    ends_at: course.endsAt.toISOString(),
    archived: isArchived(course.endsAt, now),
    role,
    group_id: course.groupId,
    lecture_volume: rows.length
      ? { root: 'Storage', owner: course.teacher, name: lectureVolumeName(course.slug) }
      : null,
  };
  if (!isStaff(role)) return described;
  const roster = await rosterOf(db, course.groupId);
  return {
    ...described,
    counts: {
      students: roster.filter((m) => m.role === 'MEMBER').length,
      tas: roster.filter((m) => m.role === 'ADMIN').length,
    },
  };
}
