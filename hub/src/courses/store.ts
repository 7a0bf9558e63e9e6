/** SQL for courses, assignments, students' work and submissions. Roles live in group_members. */
import type { Queryable } from '../db/pool.ts';
import type { Role } from '../groups/roles.ts';

export interface CourseRecord {
  id: number;
  groupId: number;
  slug: string;
  title: string;
  term: string;
  endsAt: Date;
  teacherId: number;
  teacher: string;
  inviteExpiresAt: Date | null;
}

const COURSE_COLUMNS = `c.id, c.group_id AS "groupId", c.slug, c.title, c.term, c.ends_at AS "endsAt",
  c.teacher_id AS "teacherId", t.name AS teacher, c.invite_expires_at AS "inviteExpiresAt"`;
const COURSE_FROM = 'courses c JOIN users t ON t.id = c.teacher_id';

export async function insertCourse(
  db: Queryable,
  spec: {
    groupId: number;
    slug: string;
    title: string;
    term: string;
    endsAt: Date;
    teacherId: number;
  },
): Promise<number> {
  const { rows } = await db.query(
    `INSERT INTO courses (group_id, slug, title, term, ends_at, teacher_id)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [spec.groupId, spec.slug, spec.title, spec.term, spec.endsAt, spec.teacherId],
  );
  return Number(rows[0].id);
}

/**
 * A course by slug; `lock` takes its row until the transaction ends, so roster changes,
 * invitations and deletion of one course run one at a time (NO KEY UPDATE: rows referring to
 * it, an assignment's, go on beside it).
 */
export async function findCourse(
  db: Queryable,
  slug: string,
  lock = false,
): Promise<CourseRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${COURSE_COLUMNS} FROM ${COURSE_FROM} WHERE c.slug = $1${lock ? ' FOR NO KEY UPDATE OF c' : ''}`,
    [slug],
  );
  return rows[0];
}

export async function findCourseById(db: Queryable, id: number) {
  const { rows } = await db.query(`SELECT ${COURSE_COLUMNS} FROM ${COURSE_FROM} WHERE c.id = $1`, [
    id,
  ]);
  return rows[0] as CourseRecord | undefined;
}

export async function courseByInviteHash(db: Queryable, hash: string) {
  const { rows } = await db.query(
    `SELECT ${COURSE_COLUMNS} FROM ${COURSE_FROM} WHERE c.invite_hash = $1 FOR NO KEY UPDATE OF c`,
    [hash],
  );
  return rows[0] as CourseRecord | undefined;
}

/** The courses a user is in, with their group role. */
export async function coursesOf(db: Queryable, userId: number) {
  const { rows } = await db.query(
    `SELECT ${COURSE_COLUMNS}, m.role FROM ${COURSE_FROM}
       JOIN group_members m ON m.group_id = c.group_id AND m.user_id = $1
      ORDER BY c.ends_at DESC, c.slug`,
    [userId],
  );
  return rows as (CourseRecord & { role: Role })[];
}

export async function updateCourse(
  db: Queryable,
  id: number,
  changes: { title?: string | undefined; term?: string | undefined; endsAt?: Date | undefined },
): Promise<void> {
  await db.query(
    `UPDATE courses SET title = COALESCE($2, title), term = COALESCE($3, term),
       ends_at = COALESCE($4, ends_at) WHERE id = $1`,
    [id, changes.title ?? null, changes.term ?? null, changes.endsAt ?? null],
  );
}

export async function setInvitation(
  db: Queryable,
  id: number,
  invite: { hash: string; expiresAt: Date } | null,
): Promise<void> {
  await db.query('UPDATE courses SET invite_hash = $2, invite_expires_at = $3 WHERE id = $1', [
    id,
    invite?.hash ?? null,
    invite?.expiresAt ?? null,
  ]);
}

/** The course's members by role, with their ids. */
export async function rosterOf(db: Queryable, groupId: number) {
  const { rows } = await db.query(
    `SELECT u.id, u.name, m.role, m.joined_at FROM group_members m JOIN users u ON u.id = m.user_id
      WHERE m.group_id = $1
      ORDER BY CASE m.role WHEN 'OWNER' THEN 0 WHEN 'ADMIN' THEN 1 ELSE 2 END, u.name`,
    [groupId],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id) })) as {
    id: number;
    name: string;
    role: Role;
    joined_at: Date;
  }[];
}

/**
 * Users by name or email (either matches), for a roster request; `names` are the entries
 * normalised as usernames are (NFKC, lower case), in the same order.
 */
export async function usersByNameOrEmail(db: Queryable, entries: string[], names: string[]) {
  const { rows } = await db.query(
    `SELECT e.entry, u.id, u.name FROM unnest($1::text[], $2::text[]) AS e(entry, name)
       JOIN users u ON u.name = e.name OR (u.email IS NOT NULL AND lower(u.email) = lower(e.entry))`,
    [entries, names],
  );
  return rows.map((row) => ({
    entry: row.entry as string,
    id: Number(row.id),
    name: row.name as string,
  }));
}

// Assignments.

export interface AssignmentRecord {
  id: number;
  courseId: number;
  name: string;
  title: string;
  mode: 'lecture' | 'copy';
  source: { root: string; owner: string; volume: string; path: string };
  releaseAt: Date;
  dueAt: Date | null;
  releasedAt: Date | null;
  collectedInto: { root: string; owner: string; volume: string; path: string } | null;
}

const ASSIGNMENT_COLUMNS = `a.id, a.course_id AS "courseId", a.name, a.title, a.mode,
  json_build_object('root', a.source_root, 'owner', a.source_owner, 'volume', a.source_volume,
    'path', a.source_path) AS source,
  a.release_at AS "releaseAt", a.due_at AS "dueAt", a.released_at AS "releasedAt",
  a.collected_into AS "collectedInto"`;

const toAssignment = (row: AssignmentRecord) => ({
  ...row,
  id: Number(row.id),
  courseId: Number(row.courseId),
});

export async function insertAssignment(
  db: Queryable,
  spec: Omit<AssignmentRecord, 'id' | 'releasedAt' | 'collectedInto'>,
): Promise<AssignmentRecord> {
  const { rows } = await db.query(
    `INSERT INTO course_assignments AS a (course_id, name, title, mode, source_root, source_owner,
       source_volume, source_path, release_at, due_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${ASSIGNMENT_COLUMNS}`,
    [
      spec.courseId,
      spec.name,
      spec.title,
      spec.mode,
      spec.source.root,
      spec.source.owner,
      spec.source.volume,
      spec.source.path,
      spec.releaseAt,
      spec.dueAt,
    ],
  );
  return toAssignment(rows[0]);
}

/**
 * An assignment by name. `lock` takes its row, so its release runs once, a change to its dates
 * never crosses a release and collects take turns. NO KEY UPDATE: submits and copies, whose
 * rows refer to it (a key share), go on beside it; FOR UPDATE would make a collect and a submit
 * wait for each other's rows and deadlock.
 */
export async function findAssignment(
  db: Queryable,
  courseId: number,
  name: string,
  lock = false,
): Promise<AssignmentRecord | undefined> {
  const { rows } = await db.query(
    `SELECT ${ASSIGNMENT_COLUMNS} FROM course_assignments a WHERE a.course_id = $1 AND a.name = $2
     ${lock ? 'FOR NO KEY UPDATE' : ''}`,
    [courseId, name],
  );
  return rows[0] ? toAssignment(rows[0]) : undefined;
}

/** Lock an assignment's row (as findAssignment with `lock`). */
export async function lockAssignmentById(db: Queryable, id: number) {
  const { rows } = await db.query(
    `SELECT ${ASSIGNMENT_COLUMNS} FROM course_assignments a WHERE a.id = $1 FOR NO KEY UPDATE`,
    [id],
  );
  return rows[0] ? toAssignment(rows[0]) : undefined;
}

export async function assignmentsOf(db: Queryable, courseId: number) {
  const { rows } = await db.query(
    `SELECT ${ASSIGNMENT_COLUMNS} FROM course_assignments a WHERE a.course_id = $1
      ORDER BY a.release_at, a.name`,
    [courseId],
  );
  return rows.map(toAssignment) as AssignmentRecord[];
}

/**
 * Unreleased assignments whose release date has come (of one course, or all). Each is then
 * locked and looked at again before it is released: one released meanwhile is skipped.
 */
export async function dueForRelease(db: Queryable, now: Date, courseId?: number) {
  const { rows } = await db.query(
    `SELECT a.id FROM course_assignments a
      WHERE a.released_at IS NULL AND a.release_at <= $1 AND ($2::bigint IS NULL OR a.course_id = $2)
      ORDER BY a.release_at`,
    [now, courseId ?? null],
  );
  return rows.map((row) => Number(row.id));
}

export async function updateAssignment(
  db: Queryable,
  id: number,
  changes: { title?: string | undefined; releaseAt?: Date | undefined; dueAt?: Date | null },
): Promise<void> {
  await db.query(
    `UPDATE course_assignments SET title = COALESCE($2, title), release_at = COALESCE($3, release_at),
       due_at = CASE WHEN $4 THEN $5 ELSE due_at END WHERE id = $1`,
    [
      id,
      changes.title ?? null,
      changes.releaseAt ?? null,
      changes.dueAt !== undefined,
      changes.dueAt ?? null,
    ],
  );
}

export async function markReleased(db: Queryable, id: number, at: Date): Promise<void> {
  await db.query('UPDATE course_assignments SET released_at = $2 WHERE id = $1', [id, at]);
}

export async function setCollectedInto(
  db: Queryable,
  id: number,
  into: AssignmentRecord['collectedInto'],
): Promise<void> {
  await db.query('UPDATE course_assignments SET collected_into = $2 WHERE id = $1', [
    id,
    JSON.stringify(into),
  ]);
}

export async function deleteAssignment(db: Queryable, id: number): Promise<void> {
  await db.query('DELETE FROM course_assignments WHERE id = $1', [id]);
}

// Students' work.

export interface WorkRecord {
  userId: number;
  student: string;
  copiedAt: Date | null;
  collectedNumber: number | null;
  returnedAt: Date | null;
  score: number | null;
  comment: string;
}

/** The student's work row, made if missing and locked: their submissions are numbered under it. */
export async function lockWork(db: Queryable, assignmentId: number, userId: number) {
  await db.query(
    `INSERT INTO course_work (assignment_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [assignmentId, userId],
  );
  await db.query('SELECT 1 FROM course_work WHERE assignment_id = $1 AND user_id = $2 FOR UPDATE', [
    assignmentId,
    userId,
  ]);
}

export async function setWork(
  db: Queryable,
  assignmentId: number,
  userId: number,
  changes: {
    copiedAt?: Date;
    collectedNumber?: number;
    returnedAt?: Date;
    grade?: { score: number | null; comment: string };
  },
): Promise<void> {
  await db.query(
    `INSERT INTO course_work AS w (assignment_id, user_id, copied_at, collected_number, returned_at, score, comment)
     VALUES ($1, $2, $3, $4, $5, $7, COALESCE($8, ''))
     ON CONFLICT (assignment_id, user_id) DO UPDATE SET
       copied_at = COALESCE(w.copied_at, EXCLUDED.copied_at),
       collected_number = COALESCE(EXCLUDED.collected_number, w.collected_number),
       returned_at = COALESCE(EXCLUDED.returned_at, w.returned_at),
       score = CASE WHEN $6 THEN EXCLUDED.score ELSE w.score END,
       comment = CASE WHEN $6 THEN EXCLUDED.comment ELSE w.comment END`,
    [
      assignmentId,
      userId,
      changes.copiedAt ?? null,
      changes.collectedNumber ?? null,
      changes.returnedAt ?? null,
      changes.grade !== undefined,
      changes.grade?.score ?? null,
      changes.grade?.comment ?? null,
    ],
  );
}

export async function workOf(db: Queryable, assignmentId: number): Promise<WorkRecord[]> {
  const { rows } = await db.query(
    `SELECT w.user_id AS "userId", u.name AS student, w.copied_at AS "copiedAt",
            w.collected_number AS "collectedNumber", w.returned_at AS "returnedAt", w.score, w.comment
       FROM course_work w JOIN users u ON u.id = w.user_id WHERE w.assignment_id = $1`,
    [assignmentId],
  );
  return rows.map((row) => ({ ...row, userId: Number(row.userId) }));
}

// Submissions.

export interface SubmissionRecord {
  userId: number;
  student: string;
  number: number;
  submittedAt: Date;
  late: boolean;
  bytes: number;
  /** How many the student made (in the latest-per-student listing). */
  count: number;
}

export async function nextSubmissionNumber(
  db: Queryable,
  assignmentId: number,
  userId: number,
): Promise<number> {
  const { rows } = await db.query(
    `SELECT COALESCE(max(number), 0) + 1 AS n FROM course_submissions
      WHERE assignment_id = $1 AND user_id = $2`,
    [assignmentId, userId],
  );
  return rows[0].n;
}

export async function insertSubmission(
  db: Queryable,
  spec: {
    assignmentId: number;
    userId: number;
    number: number;
    submittedAt: Date;
    late: boolean;
    bytes: number;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO course_submissions (assignment_id, user_id, number, submitted_at, late, bytes)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [spec.assignmentId, spec.userId, spec.number, spec.submittedAt, spec.late, spec.bytes],
  );
}

const SUBMISSION_COLUMNS = `s.user_id AS "userId", u.name AS student, s.number,
  s.submitted_at AS "submittedAt", s.late, s.bytes`;

/** Each student's latest submission, with how many they made (of one student, when named). */
export async function latestSubmissions(
  db: Queryable,
  assignmentId: number,
  userId?: number,
): Promise<SubmissionRecord[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT ON (s.user_id) ${SUBMISSION_COLUMNS},
            count(*) OVER (PARTITION BY s.user_id)::int AS count
       FROM course_submissions s JOIN users u ON u.id = s.user_id
      WHERE s.assignment_id = $1 AND ($2::bigint IS NULL OR s.user_id = $2)
      ORDER BY s.user_id, s.number DESC`,
    [assignmentId, userId ?? null],
  );
  return rows.map(toSubmission);
}

/** Every submission of one student, newest first. */
export async function submissionsOf(db: Queryable, assignmentId: number, userId: number) {
  const { rows } = await db.query(
    `SELECT ${SUBMISSION_COLUMNS}, count(*) OVER ()::int AS count
       FROM course_submissions s JOIN users u ON u.id = s.user_id
      WHERE s.assignment_id = $1 AND s.user_id = $2 ORDER BY s.number DESC`,
    [assignmentId, userId],
  );
  return rows.map(toSubmission);
}

const toSubmission = (row: SubmissionRecord): SubmissionRecord => ({
  ...row,
  userId: Number(row.userId),
  bytes: Number(row.bytes),
});

/** Counts for the staff's view of an assignment. */
export async function assignmentCounts(db: Queryable, assignmentId: number) {
  const { rows } = await db.query(
    `SELECT
       (SELECT count(*)::int FROM course_work WHERE assignment_id = $1 AND copied_at IS NOT NULL) AS distributed,
       (SELECT count(DISTINCT user_id)::int FROM course_submissions WHERE assignment_id = $1) AS submitted,
       (SELECT count(*)::int FROM (SELECT DISTINCT ON (user_id) late FROM course_submissions
          WHERE assignment_id = $1 ORDER BY user_id, number DESC) l WHERE l.late) AS late,
       (SELECT count(*)::int FROM course_work WHERE assignment_id = $1 AND returned_at IS NOT NULL) AS returned`,
    [assignmentId],
  );
  return rows[0] as { distributed: number; submitted: number; late: number; returned: number };
}
