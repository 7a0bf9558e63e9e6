/**
 * Courses: the course, its roster and invitation code, assignments, submissions, collect,
 * return and grades. Handlers only translate between HTTP and the services, which check the
 * caller's course role first (a course the caller is not in is 404). Every route is open to a
 * user's server token (`lab: true`), so the JupyterLab panel works with it.
 */
import { Type } from '@sinclair/typebox';
import { actorOf } from '../auth/actor.ts';
import { routesOf } from '../http/route.ts';
import { NoQuery, Username } from '../http/schemas.ts';
import {
  Assignment,
  AssignmentList,
  Collected,
  Course,
  CourseList,
  FetchedPath,
  Grade,
  GradeList,
  Invitation,
  Returned,
  Roster,
  RosterChange,
  SubmissionList,
  Submitted,
} from './responses.ts';
import type { CoursesService } from './service.ts';

const route = routesOf<CoursesService>();

const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' });
const Instant = Type.String({ format: 'date-time' });
const Title = Type.String({ minLength: 1, maxLength: 200 });
const Term = Type.String({ maxLength: 100 });
const CourseParams = Type.Object({ slug: Slug }, { additionalProperties: false });
const AssignmentParams = Type.Object({ slug: Slug, name: Slug }, { additionalProperties: false });
const Folder = Type.Object(
  {
    root: Type.String({ minLength: 1, maxLength: 64 }),
    owner: Type.String({ minLength: 1, maxLength: 64 }),
    volume: Type.String({ minLength: 1, maxLength: 64 }),
    path: Type.String({ maxLength: 4096 }),
  },
  { additionalProperties: false },
);
const read = { scope: 'read:groups' } as const;
const write = { scope: 'groups' } as const;
const moveFiles = { scope: 'files' } as const;

export const courseRoutes = [
  route({
    method: 'get',
    path: '/courses',
    tag: 'courses',
    summary: 'The courses I teach, assist or take',
    access: read,
    response: CourseList,
    lab: true,
    query: NoQuery,
    async handler({ service, req, caller }) {
      return { courses: await service.list(actorOf(caller!, req)) };
    },
  }),
  route({
    method: 'post',
    path: '/courses',
    tag: 'courses',
    summary: 'Create a course (its group too); you become its teacher',
    access: write,
    response: Course,
    lab: true,
    status: 201,
    body: Type.Object(
      { slug: Slug, title: Title, term: Type.Optional(Term), ends_at: Instant },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, body }) {
      return service.create(actorOf(caller!, req), body);
    },
  }),
  route({
    method: 'get',
    path: '/courses/:slug',
    tag: 'courses',
    summary: 'A course I am in, with my role',
    access: read,
    response: Course,
    lab: true,
    params: CourseParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.get(actorOf(caller!, req), params.slug);
    },
  }),
  route({
    method: 'patch',
    path: '/courses/:slug',
    tag: 'courses',
    summary: 'Change a course’s title, term or end date (the teacher)',
    access: write,
    response: Course,
    lab: true,
    params: CourseParams,
    body: Type.Object(
      { title: Type.Optional(Title), term: Type.Optional(Term), ends_at: Type.Optional(Instant) },
      { additionalProperties: false, minProperties: 1 },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.update(actorOf(caller!, req), params.slug, body);
    },
  }),
  route({
    method: 'delete',
    path: '/courses/:slug',
    tag: 'courses',
    summary: 'Delete a course and its group (the teacher); files in volumes stay',
    access: write,
    lab: true,
    params: CourseParams,
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.delete(actorOf(caller!, req), params.slug);
    },
  }),
  route({
    method: 'get',
    path: '/courses/:slug/roster',
    tag: 'courses',
    summary: 'The course’s members and roles (teacher and TAs)',
    access: read,
    response: Roster,
    lab: true,
    params: CourseParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return { members: await service.roster(actorOf(caller!, req), params.slug) };
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/roster',
    tag: 'courses',
    summary:
      'Add students (teacher, TAs) or TAs (teacher) by names or a CSV of usernames or emails',
    access: write,
    response: RosterChange,
    lab: true,
    params: CourseParams,
    body: Type.Object(
      {
        names: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), { maxItems: 2000 })),
        csv: Type.Optional(Type.String({ maxLength: 65_536 })),
        role: Type.Optional(Type.Union([Type.Literal('student'), Type.Literal('ta')])),
      },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.addToRoster(actorOf(caller!, req), params.slug, body);
    },
  }),
  route({
    method: 'delete',
    path: '/courses/:slug/roster/:name',
    tag: 'courses',
    summary:
      'Remove a student (teacher, TAs) or a TA (teacher); they lose the lecture volume at once',
    access: write,
    lab: true,
    params: Type.Object({ slug: Slug, name: Username }, { additionalProperties: false }),
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.removeFromRoster(actorOf(caller!, req), params.slug, params.name);
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/leave',
    tag: 'courses',
    summary: 'Leave a course (a student or TA)',
    access: write,
    lab: true,
    params: CourseParams,
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.leave(actorOf(caller!, req), params.slug);
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/invitation',
    tag: 'courses',
    summary: 'A new invitation code (replacing the old) that signed-in users join with as students',
    access: write,
    response: Invitation,
    lab: true,
    params: CourseParams,
    status: 201,
    body: Type.Object(
      { hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 2160 })) },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.createInvitation(actorOf(caller!, req), params.slug, body.hours);
    },
  }),
  route({
    method: 'delete',
    path: '/courses/:slug/invitation',
    tag: 'courses',
    summary: 'Withdraw the invitation code',
    access: write,
    lab: true,
    params: CourseParams,
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.deleteInvitation(actorOf(caller!, req), params.slug);
    },
  }),
  route({
    method: 'post',
    path: '/course-invitations/redeem',
    tag: 'courses',
    summary: 'Join a course as a student with its invitation code',
    access: write,
    response: Course,
    lab: true,
    body: Type.Object(
      { code: Type.String({ minLength: 1, maxLength: 200 }) },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, body }) {
      return service.redeem(actorOf(caller!, req), body.code);
    },
  }),
  route({
    method: 'get',
    path: '/courses/:slug/assignments',
    tag: 'courses',
    summary: 'Assignments: staff see all with counts; students the released ones with their status',
    access: read,
    response: AssignmentList,
    lab: true,
    params: CourseParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return { assignments: await service.assignments.list(actorOf(caller!, req), params.slug) };
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/assignments',
    tag: 'courses',
    summary:
      'Declare an assignment from a folder you may read (the teacher); released at release_at',
    access: write,
    response: Assignment,
    lab: true,
    params: CourseParams,
    status: 201,
    body: Type.Object(
      {
        name: Slug,
        title: Type.Optional(Type.String({ maxLength: 200 })),
        source: Folder,
        mode: Type.Union([Type.Literal('lecture'), Type.Literal('copy')]),
        release_at: Type.Optional(Instant),
        due_at: Type.Optional(Instant),
      },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.assignments.create(actorOf(caller!, req), params.slug, body);
    },
  }),
  route({
    method: 'patch',
    path: '/courses/:slug/assignments/:name',
    tag: 'courses',
    summary: 'Change an assignment’s title or dates (the teacher; the release date only before it)',
    access: write,
    response: Assignment,
    lab: true,
    params: AssignmentParams,
    body: Type.Object(
      {
        title: Type.Optional(Type.String({ maxLength: 200 })),
        release_at: Type.Optional(Instant),
        due_at: Type.Optional(Type.Union([Instant, Type.Null()])),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.assignments.update(actorOf(caller!, req), params.slug, params.name, body);
    },
  }),
  route({
    method: 'delete',
    path: '/courses/:slug/assignments/:name',
    tag: 'courses',
    summary: 'Delete an assignment before its release (the teacher)',
    access: write,
    lab: true,
    params: AssignmentParams,
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.assignments.delete(actorOf(caller!, req), params.slug, params.name);
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/assignments/:name/fetch',
    tag: 'courses',
    summary: 'Make my copy of a released assignment if it is missing (a student)',
    access: moveFiles,
    response: FetchedPath,
    lab: true,
    params: AssignmentParams,
    async handler({ service, req, caller, params }) {
      return service.assignments.fetch(actorOf(caller!, req), params.slug, params.name);
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/assignments/:name/submissions',
    tag: 'courses',
    summary: 'Submit a snapshot of my copy, or of a folder I may read (a student)',
    access: moveFiles,
    response: Submitted,
    lab: true,
    params: AssignmentParams,
    status: 201,
    body: Type.Object({ from: Type.Optional(Folder) }, { additionalProperties: false }),
    async handler({ service, req, caller, params, body }) {
      return service.work.submit(actorOf(caller!, req), params.slug, params.name, body.from);
    },
  }),
  route({
    method: 'get',
    path: '/courses/:slug/assignments/:name/submissions',
    tag: 'courses',
    summary: 'Staff: each student’s latest submission (or one student’s); a student: their own',
    access: read,
    response: SubmissionList,
    lab: true,
    params: AssignmentParams,
    query: Type.Object({ student: Type.Optional(Username) }, { additionalProperties: false }),
    async handler({ service, req, caller, params, query }) {
      return {
        submissions: await service.work.submissions(
          actorOf(caller!, req),
          params.slug,
          params.name,
          query.student,
        ),
      };
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/assignments/:name/collect',
    tag: 'courses',
    summary: 'Copy every student’s latest submission into a grading folder (staff)',
    access: moveFiles,
    response: Collected,
    lab: true,
    params: AssignmentParams,
    body: Type.Object({ into: Type.Optional(Folder) }, { additionalProperties: false }),
    async handler({ service, req, caller, params, body }) {
      return service.work.collect(actorOf(caller!, req), params.slug, params.name, body.into);
    },
  }),
  route({
    method: 'post',
    path: '/courses/:slug/assignments/:name/return',
    tag: 'courses',
    summary: 'Copy each student’s feedback/ from the grading folder into their copy (staff)',
    access: moveFiles,
    response: Returned,
    lab: true,
    params: AssignmentParams,
    body: Type.Object(
      { students: Type.Optional(Type.Array(Username, { maxItems: 2000 })) },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.work.returnFeedback(
        actorOf(caller!, req),
        params.slug,
        params.name,
        body.students,
      );
    },
  }),
  route({
    method: 'put',
    path: '/courses/:slug/assignments/:name/grades/:student',
    tag: 'courses',
    summary: 'Set a student’s score and comment (staff)',
    access: write,
    response: Grade,
    lab: true,
    params: Type.Object(
      { slug: Slug, name: Slug, student: Username },
      { additionalProperties: false },
    ),
    body: Type.Object(
      {
        score: Type.Union([Type.Number(), Type.Null()]),
        comment: Type.Optional(Type.String({ maxLength: 10_000 })),
      },
      { additionalProperties: false },
    ),
    async handler({ service, req, caller, params, body }) {
      return service.work.grade(
        actorOf(caller!, req),
        params.slug,
        params.name,
        params.student,
        body,
      );
    },
  }),
  route({
    method: 'get',
    path: '/courses/:slug/grades',
    tag: 'courses',
    summary: 'Grades: staff see every student’s, a student their own',
    access: read,
    response: GradeList,
    lab: true,
    params: CourseParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return { grades: await service.work.grades(actorOf(caller!, req), params.slug) };
    },
  }),
  route({
    method: 'get',
    path: '/courses/:slug/grades.csv',
    tag: 'courses',
    summary: 'Grades as CSV, one row per student and released assignment (staff)',
    access: read,
    contentType: 'text/csv; charset=utf-8',
    response: Type.String({ description: 'student,assignment,score,comment,submitted_at,late' }),
    lab: true,
    params: CourseParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.work.gradesCsv(actorOf(caller!, req), params.slug);
    },
  }),
];
