/** What the course routes answer (docs/courses.md; the panel codes against these). */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp } from '../http/schemas.ts';

const CourseRole = Type.Union([
  Type.Literal('teacher'),
  Type.Literal('ta'),
  Type.Literal('student'),
]);

export const Course = Strict({
  slug: Type.String(),
  title: Type.String(),
  term: Type.String(),
  ends_at: Timestamp,
  archived: Type.Boolean(),
  role: CourseRole,
  group_id: Id,
  lecture_volume: Nullable(
    Strict({ root: Type.String(), owner: Type.String(), name: Type.String() }),
  ),
  counts: Type.Optional(
    Strict({ students: Type.Integer({ minimum: 0 }), tas: Type.Integer({ minimum: 0 }) }),
  ),
});
export const CourseList = Strict({ courses: Type.Array(Course) });

export const Roster = Strict({
  members: Type.Array(Strict({ name: Type.String(), role: CourseRole, joined_at: Timestamp })),
});
export const RosterChange = Strict({
  added: Type.Array(Type.String()),
  already: Type.Array(Type.String()),
  unknown: Type.Array(Type.String()),
});
export const Invitation = Strict({
  code: Type.String(),
  url: Type.String(),
  expires_at: Timestamp,
});

export const Assignment = Strict({
  name: Type.String(),
  title: Type.String(),
  mode: Type.Union([Type.Literal('lecture'), Type.Literal('copy')]),
  release_at: Timestamp,
  due_at: Nullable(Timestamp),
  released: Type.Boolean(),
  path_in_lecture: Type.Optional(Type.String()),
  copy_path: Type.Optional(Type.String()),
  counts: Type.Optional(
    Strict({
      distributed: Type.Integer({ minimum: 0 }),
      submitted: Type.Integer({ minimum: 0 }),
      late: Type.Integer({ minimum: 0 }),
      returned: Type.Integer({ minimum: 0 }),
    }),
  ),
  mine: Type.Optional(
    Strict({
      fetched: Type.Boolean(),
      submitted_at: Nullable(Timestamp),
      late: Type.Boolean(),
      submissions: Type.Integer({ minimum: 0 }),
      returned_at: Nullable(Timestamp),
      feedback_path: Nullable(Type.String()),
      score: Nullable(Type.Number()),
      comment: Nullable(Type.String()),
    }),
  ),
});
export const AssignmentList = Strict({ assignments: Type.Array(Assignment) });

export const FetchedPath = Strict({ path: Type.String() });
export const Submitted = Strict({
  number: Type.Integer({ minimum: 1 }),
  submitted_at: Timestamp,
  late: Type.Boolean(),
  bytes: Type.Integer({ minimum: 0 }),
});
export const SubmissionList = Strict({
  submissions: Type.Array(
    Strict({
      student: Type.String(),
      number: Type.Integer({ minimum: 1 }),
      submitted_at: Timestamp,
      late: Type.Boolean(),
      bytes: Type.Integer({ minimum: 0 }),
      count: Type.Integer({ minimum: 1, description: 'how many the student submitted' }),
    }),
  ),
});
export const Collected = Strict({
  path: Type.String({ description: 'the folder in JupyterLab: volumes/<root>/<owner>/<volume>/…' }),
  students: Type.Array(
    Strict({ student: Type.String(), submitted_at: Timestamp, late: Type.Boolean() }),
  ),
  missing: Type.Array(Type.String()),
});
export const Returned = Strict({
  returned: Type.Array(Type.String()),
  without_feedback: Type.Array(Type.String()),
});
const GradeProperties = {
  student: Type.String(),
  assignment: Type.String(),
  score: Nullable(Type.Number()),
  comment: Type.String(),
};
export const Grade = Strict(GradeProperties);
export const GradeList = Strict({
  grades: Type.Array(
    Strict({ ...GradeProperties, submitted_at: Nullable(Timestamp), late: Type.Boolean() }),
  ),
});
