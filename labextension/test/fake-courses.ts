/**
 * The courses routes of an in-memory hub (docs/courses.md), behind `ICoursesClient`, with a
 * clock the tests move. Users come from a `FakeHub`; `clientFor(name)` acts as that user.
 * Refusals mirror the hub (its `error` is the status word, COURSES_CHANGES): 404 for a course
 * I am not in and for another student's work, 403 for a student at a staff route, 409 for an
 * archived course.
 */
import { HubError } from '../src/api.js';
import type {
  CourseRole,
  IAssignment,
  ICollected,
  ICourse,
  ICourseInvitation,
  ICoursesClient,
  IGrade,
  INewAssignment,
  IReturned,
  IRosterChange,
  IRosterMember,
  ISubmission,
  ISubmissionReceipt,
  IVolumeFolder,
} from '../src/tokens.js';
import type { FakeHub } from './fake-hub.js';

interface Course {
  slug: string;
  title: string;
  term: string;
  endsAt: string;
  members: Map<string, { role: CourseRole; joinedAt: string }>;
  invitation: { code: string; expiresAt: string } | null;
  assignments: (INewAssignment & { releaseAt: string; createdAt: string })[];
  /** `assignment/student` → snapshots, oldest first. */
  submissions: Map<string, (ISubmissionReceipt & { from: IVolumeFolder | null })[]>;
  /** `assignment/student` of returned feedback, with when. */
  returned: Map<string, string>;
  /** `assignment/student` of students with a feedback folder written by staff. */
  feedback: Set<string>;
  grades: Map<string, { score: number | null; comment: string }>;
  fetched: Set<string>;
}

export class FakeCourses {
  courses: Course[] = [];
  now = new Date('2026-03-01T09:00:00.000Z');
  /** Every call, as `user method args`. */
  calls: string[] = [];
  private nextGroup = 100;
  private nextCode = 1;
  /** Group ids by slug. */
  groupIds = new Map<string, number>();

  constructor(readonly hub: FakeHub) {}

  clientFor(name: string): FakeCoursesClient {
    return new FakeCoursesClient(this, name);
  }

  course(slug: string): Course | undefined {
    return this.courses.find((c) => c.slug === slug);
  }

  groupOf(slug: string): number {
    let id = this.groupIds.get(slug);
    if (id === undefined) {
      id = this.nextGroup++;
      this.groupIds.set(slug, id);
    }
    return id;
  }

  code(): string {
    return `code-${this.nextCode++}`;
  }

  /** Staff wrote a feedback folder for a student (the grading volume's `feedback/`). */
  writeFeedback(slug: string, assignment: string, student: string): void {
    this.course(slug)!.feedback.add(`${assignment}/${student}`);
  }
}

const notFound = (message: string) => new HubError(404, 'not_found', message);

export class FakeCoursesClient implements ICoursesClient {
  failNext: HubError | null = null;

  constructor(
    private readonly state: FakeCourses,
    readonly name: string,
  ) {}

  private async enter(method: string, ...args: unknown[]): Promise<void> {
    this.state.calls.push([this.name, method, ...args.map((a) => JSON.stringify(a))].join(' '));
    await Promise.resolve();
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
  }

  private now(): string {
    return this.state.now.toISOString();
  }

  private member(slug: string): { course: Course; role: CourseRole } {
    const course = this.state.course(slug);
    const me = course?.members.get(this.name);
    if (!course || !me) {
      throw notFound(`No course ${slug}`);
    }
    return { course, role: me.role };
  }

  private staff(slug: string): Course {
    const { course, role } = this.member(slug);
    if (role === 'student') {
      throw new HubError(403, 'forbidden', 'Only the teacher and TAs can do that.');
    }
    return course;
  }

  private writable(course: Course): void {
    if (this.now() >= course.endsAt) {
      throw new HubError(409, 'conflict', 'The course has ended; it is read-only.');
    }
  }

  private view(course: Course): ICourse {
    const me = course.members.get(this.name)!;
    const roles = [...course.members.values()].map((m) => m.role);
    return {
      slug: course.slug,
      title: course.title,
      term: course.term,
      ends_at: course.endsAt,
      archived: this.now() >= course.endsAt,
      role: me.role,
      group_id: this.state.groupOf(course.slug),
      lecture_volume: course.assignments.some((a) => a.mode === 'lecture')
        ? { root: 'Storage', owner: this.teacherOf(course), name: `course-${course.slug}` }
        : null,
      ...(me.role === 'student'
        ? {}
        : {
            counts: {
              students: roles.filter((r) => r === 'student').length,
              tas: roles.filter((r) => r === 'ta').length,
            },
          }),
    };
  }

  private teacherOf(course: Course): string {
    return [...course.members].find(([, m]) => m.role === 'teacher')![0];
  }

  private students(course: Course): string[] {
    return [...course.members].filter(([, m]) => m.role === 'student').map(([n]) => n);
  }

  private assignmentOf(course: Course, name: string, role: CourseRole) {
    const a = course.assignments.find((x) => x.name === name);
    if (!a || (role === 'student' && a.releaseAt > this.now())) {
      throw notFound(`No assignment ${name}`);
    }
    return a;
  }

  private latest(course: Course, assignment: string, student: string) {
    return course.submissions.get(`${assignment}/${student}`)?.at(-1) ?? null;
  }

  async listCourses(): Promise<ICourse[]> {
    await this.enter('listCourses');
    return this.state.courses.filter((c) => c.members.has(this.name)).map((c) => this.view(c));
  }

  async createCourse(course: {
    slug: string;
    title: string;
    term?: string;
    ends_at: string;
  }): Promise<ICourse> {
    await this.enter('createCourse', course);
    if (this.state.course(course.slug)) {
      throw new HubError(409, 'conflict', `A course ${course.slug} exists already.`);
    }
    const c: Course = {
      slug: course.slug,
      title: course.title,
      term: course.term ?? '',
      endsAt: course.ends_at,
      members: new Map([[this.name, { role: 'teacher', joinedAt: this.now() }]]),
      invitation: null,
      assignments: [],
      submissions: new Map(),
      returned: new Map(),
      feedback: new Set(),
      grades: new Map(),
      fetched: new Set(),
    };
    this.state.courses.push(c);
    return this.view(c);
  }

  async getCourse(slug: string): Promise<ICourse> {
    await this.enter('getCourse', slug);
    return this.view(this.member(slug).course);
  }

  async roster(slug: string): Promise<IRosterMember[]> {
    await this.enter('roster', slug);
    const course = this.staff(slug);
    return [...course.members].map(([name, m]) => ({
      name,
      role: m.role,
      joined_at: m.joinedAt,
    }));
  }

  async addToRoster(
    slug: string,
    entries: { names?: string[]; csv?: string; role?: 'student' | 'ta' },
  ): Promise<IRosterChange> {
    await this.enter('addToRoster', slug, entries);
    const course = this.staff(slug);
    this.writable(course);
    const role = entries.role ?? 'student';
    if (role === 'ta' && course.members.get(this.name)!.role !== 'teacher') {
      throw new HubError(403, 'forbidden', 'Only the teacher adds TAs.');
    }
    const lines = (entries.csv ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^(username|email)$/i.test(l));
    const wanted = [...(entries.names ?? []), ...lines].map((e) =>
      e.includes('@') ? e.slice(0, e.indexOf('@')) : e,
    );
    const change: IRosterChange = { added: [], already: [], unknown: [] };
    for (const name of wanted) {
      if (!this.state.hub.users.has(name)) {
        change.unknown.push(name);
      } else if (course.members.has(name)) {
        change.already.push(name);
      } else {
        course.members.set(name, { role, joinedAt: this.now() });
        change.added.push(name);
      }
    }
    return change;
  }

  async removeFromRoster(slug: string, name: string): Promise<void> {
    await this.enter('removeFromRoster', slug, name);
    const course = this.staff(slug);
    this.writable(course);
    const m = course.members.get(name);
    if (!m) {
      throw notFound(`${name} is not in the course.`);
    }
    if (m.role === 'teacher') {
      throw new HubError(409, 'conflict', 'The teacher stays in the course.');
    }
    course.members.delete(name);
  }

  async leave(slug: string): Promise<void> {
    await this.enter('leave', slug);
    const { course, role } = this.member(slug);
    if (role === 'teacher') {
      throw new HubError(409, 'conflict', 'The teacher cannot leave the course.');
    }
    course.members.delete(this.name);
  }

  async makeInvitation(slug: string, hours = 168): Promise<ICourseInvitation> {
    await this.enter('makeInvitation', slug, hours);
    const course = this.staff(slug);
    this.writable(course);
    const code = this.state.code();
    const expiresAt = new Date(this.state.now.getTime() + hours * 3600_000).toISOString();
    course.invitation = { code, expiresAt };
    return { code, url: `http://hub/hub/courses/join?code=${code}`, expires_at: expiresAt };
  }

  async redeemInvitation(code: string): Promise<ICourse> {
    await this.enter('redeemInvitation', code);
    const course = this.state.courses.find(
      (c) => c.invitation?.code === code && c.invitation.expiresAt > this.now(),
    );
    if (!course) {
      throw new HubError(404, 'not_found', 'This invitation code is unknown or expired.');
    }
    this.writable(course);
    if (!course.members.has(this.name)) {
      course.members.set(this.name, { role: 'student', joinedAt: this.now() });
    }
    return this.view(course);
  }

  async listAssignments(slug: string): Promise<IAssignment[]> {
    await this.enter('listAssignments', slug);
    const { course, role } = this.member(slug);
    const teacher = this.teacherOf(course);
    return course.assignments
      .filter((a) => role !== 'student' || a.releaseAt <= this.now())
      .map((a) => {
        const released = a.releaseAt <= this.now();
        const base: IAssignment = {
          name: a.name,
          title: a.title ?? a.name,
          mode: a.mode,
          release_at: a.releaseAt,
          due_at: a.due_at ?? null,
          released,
          ...(a.mode === 'lecture'
            ? { path_in_lecture: `volumes/Storage/${teacher}/course-${slug}/${a.name}` }
            : { copy_path: `courses/${slug}/${a.name}` }),
        };
        if (role !== 'student') {
          const students = this.students(course);
          const latest = students.map((s) => this.latest(course, a.name, s)).filter((s) => !!s);
          base.counts = {
            distributed: released ? students.length : 0,
            submitted: latest.length,
            late: latest.filter((s) => s.late).length,
            returned: students.filter((s) => course.returned.has(`${a.name}/${s}`)).length,
          };
          return base;
        }
        const key = `${a.name}/${this.name}`;
        const mine = course.submissions.get(key) ?? [];
        const grade = course.grades.get(key);
        const returnedAt = course.returned.get(key) ?? null;
        base.mine = {
          fetched: course.fetched.has(key),
          submitted_at: mine.at(-1)?.submitted_at ?? null,
          late: mine.at(-1)?.late ?? false,
          submissions: mine.length,
          returned_at: returnedAt,
          feedback_path: returnedAt ? `courses/${slug}/${a.name}/feedback` : null,
          score: grade?.score ?? null,
          comment: grade?.comment ?? null,
        };
        return base;
      });
  }

  async distribute(slug: string, assignment: INewAssignment): Promise<IAssignment> {
    await this.enter('distribute', slug, assignment);
    const course = this.staff(slug);
    this.writable(course);
    if (course.members.get(this.name)!.role !== 'teacher') {
      throw new HubError(403, 'forbidden', 'Only the teacher distributes.');
    }
    if (course.assignments.some((a) => a.name === assignment.name)) {
      throw new HubError(409, 'conflict', `An assignment ${assignment.name} exists.`);
    }
    const releaseAt = assignment.release_at ?? this.now();
    course.assignments.push({ ...assignment, releaseAt, createdAt: this.now() });
    return (await this.listAssignments(slug)).find((a) => a.name === assignment.name)!;
  }

  async fetchAssignment(slug: string, name: string): Promise<{ path: string }> {
    await this.enter('fetchAssignment', slug, name);
    const { course, role } = this.member(slug);
    const a = this.assignmentOf(course, name, role);
    course.fetched.add(`${name}/${this.name}`);
    return { path: a.mode === 'copy' ? `courses/${slug}/${name}` : `volumes/Storage/x/${name}` };
  }

  async submit(slug: string, name: string, from?: IVolumeFolder): Promise<ISubmissionReceipt> {
    await this.enter('submit', slug, name, from ?? null);
    const { course, role } = this.member(slug);
    const a = this.assignmentOf(course, name, role);
    this.writable(course);
    if (role !== 'student') {
      throw new HubError(403, 'forbidden', 'Only students submit.');
    }
    const key = `${name}/${this.name}`;
    const list = course.submissions.get(key) ?? [];
    const receipt = {
      number: list.length + 1,
      submitted_at: this.now(),
      late: !!a.due_at && this.now() > a.due_at,
      bytes: 1024,
      from: from ?? null,
    };
    course.submissions.set(key, [...list, receipt]);
    const { from: _from, ...answer } = receipt;
    return answer;
  }

  async listSubmissions(slug: string, name: string): Promise<ISubmission[]> {
    await this.enter('listSubmissions', slug, name);
    const { course, role } = this.member(slug);
    this.assignmentOf(course, name, role);
    const students = role === 'student' ? [this.name] : this.students(course);
    return students.flatMap((student) => {
      const all = course.submissions.get(`${name}/${student}`) ?? [];
      const last = all.at(-1);
      if (!last) {
        return [];
      }
      const { from: _from, ...s } = last;
      return [{ student, ...s, count: all.length }];
    });
  }

  async collect(slug: string, name: string): Promise<ICollected> {
    await this.enter('collect', slug, name);
    const course = this.staff(slug);
    this.assignmentOf(course, name, 'teacher');
    const students = this.students(course);
    const collected = students.flatMap((student) => {
      const s = this.latest(course, name, student);
      return s ? [{ student, submitted_at: s.submitted_at, late: s.late }] : [];
    });
    return {
      path: `volumes/Storage/${this.teacherOf(course)}/course-${slug}-grading/${name}`,
      students: collected,
      missing: students.filter((s) => !collected.some((c) => c.student === s)),
    };
  }

  async returnFeedback(slug: string, name: string, students?: string[]): Promise<IReturned> {
    await this.enter('returnFeedback', slug, name, students ?? null);
    const course = this.staff(slug);
    const answer: IReturned = { returned: [], without_feedback: [] };
    for (const s of students ?? this.students(course)) {
      if (course.feedback.has(`${name}/${s}`)) {
        course.returned.set(`${name}/${s}`, this.now());
        answer.returned.push(s);
      } else {
        answer.without_feedback.push(s);
      }
    }
    return answer;
  }

  async setGrade(
    slug: string,
    name: string,
    student: string,
    grade: { score: number | null; comment?: string },
  ): Promise<void> {
    await this.enter('setGrade', slug, name, student, grade);
    const course = this.staff(slug);
    if (course.members.get(student)?.role !== 'student') {
      throw notFound(`${student} is not a student of the course.`);
    }
    course.grades.set(`${name}/${student}`, {
      score: grade.score,
      comment: grade.comment ?? '',
    });
  }

  async grades(slug: string): Promise<IGrade[]> {
    await this.enter('grades', slug);
    const { course, role } = this.member(slug);
    return [...course.grades]
      .map(([key, g]) => {
        const [assignment, student] = key.split('/') as [string, string];
        const last = this.latest(course, assignment, student);
        return {
          assignment,
          student,
          ...g,
          submitted_at: last?.submitted_at ?? null,
          late: last?.late ?? false,
        };
      })
      .filter((g) => role !== 'student' || g.student === this.name);
  }

  async gradesCSV(slug: string): Promise<string> {
    await this.enter('gradesCSV', slug);
    const course = this.staff(slug);
    const rows = ['student,assignment,score,comment,submitted_at,late'];
    for (const a of course.assignments) {
      for (const s of this.students(course)) {
        const g = course.grades.get(`${a.name}/${s}`);
        const sub = this.latest(course, a.name, s);
        rows.push(
          [s, a.name, g?.score ?? '', g?.comment ?? '', sub?.submitted_at ?? '', sub?.late ?? '']
            .map(String)
            .join(','),
        );
      }
    }
    return `${rows.join('\n')}\n`;
  }
}
