/**
 * State of the Course panel: my courses, the selected course with its assignments, and for
 * its staff the roster, the grades and the last invitation code made here. Talks to the hub
 * only through `ICoursesClient` and `IUserClient`, so unit tests run it against an in-memory
 * hub. Actions reject with `HubError` (shown by the commands); refresh failures are kept in
 * `error` and shown in the panel.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError, hubFailureOf, type IHubFailure } from '../api.js';
import type {
  IAssignment,
  ICollected,
  ICourse,
  ICourseInvitation,
  ICoursesClient,
  IGrade,
  IHubUser,
  IReturned,
  IRosterChange,
  IRosterMember,
  ISubmission,
  ISubmissionReceipt,
  IUserClient,
  IVolumeFolder,
} from '../tokens.js';
import { isStaff } from './format.js';
import {
  courseRequest,
  distributeRequest,
  gradeRequest,
  type ICourseValues,
  type IDistributeValues,
  type IGradeValues,
  rosterEntries,
} from './forms.js';

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

export class CoursesModel {
  constructor(
    private readonly client: ICoursesClient,
    private readonly users: IUserClient,
  ) {}

  private _user: IHubUser | null = null;
  private _courses: ICourse[] = [];
  private _slug: string | null = null;
  private _assignments: IAssignment[] = [];
  private _roster: IRosterMember[] = [];
  private _grades: IGrade[] = [];
  private _submissions = new Map<string, ISubmission[]>();
  private _invitation: ICourseInvitation | null = null;
  private _loading = false;
  private _loaded = false;
  private _error: IHubFailure | null = null;
  private _seq = 0;
  private _changed = new Signal<this, void>(this);

  /** Emitted after any change of state. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get user(): IHubUser | null {
    return this._user;
  }
  get courses(): readonly ICourse[] {
    return this._courses;
  }
  /** The selected course (the only one, or the one chosen). */
  get course(): ICourse | null {
    return this._courses.find((c) => c.slug === this._slug) ?? null;
  }
  get staff(): boolean {
    return isStaff(this.course);
  }
  get assignments(): readonly IAssignment[] {
    return this._assignments;
  }
  get roster(): readonly IRosterMember[] {
    return this._roster;
  }
  get students(): IRosterMember[] {
    return this._roster.filter((m) => m.role === 'student');
  }
  get grades(): readonly IGrade[] {
    return this._grades;
  }
  /** The invitation code made in this session for the selected course (the hub keeps a hash). */
  get invitation(): ICourseInvitation | null {
    return this._invitation;
  }
  get loading(): boolean {
    return this._loading;
  }
  get loaded(): boolean {
    return this._loaded;
  }
  get error(): IHubFailure | null {
    return this._error;
  }

  assignment(name: string): IAssignment | null {
    return this._assignments.find((a) => a.name === name) ?? null;
  }

  /** The latest submission of each student, once loaded (staff; a student's own otherwise). */
  submissions(assignment: string): readonly ISubmission[] | null {
    return this._submissions.get(assignment) ?? null;
  }

  grade(assignment: string, student: string): IGrade | null {
    return this._grades.find((g) => g.assignment === assignment && g.student === student) ?? null;
  }

  /** Reload who I am (once), my courses, and the selected course's assignments and roster. */
  async refresh(): Promise<void> {
    const seq = ++this._seq;
    this._loading = true;
    this._changed.emit();
    try {
      const user = this._user ?? (await this.users.currentUser());
      const courses = await this.client.listCourses();
      if (seq !== this._seq) {
        return; // A newer refresh is under way; its answer wins.
      }
      this._user = user;
      this._courses = [...courses].sort((a, b) => a.title.localeCompare(b.title));
      if (!this.course) {
        this.forgetCourse();
        this._slug = this._courses.length === 1 ? this._courses[0]!.slug : null;
      }
      await this.loadCourse(seq);
      this._error = null;
      this._loaded = true;
    } catch (e) {
      if (seq === this._seq) {
        this._error = hubFailureOf(e);
      }
      throw e;
    } finally {
      if (seq === this._seq) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** Show one course (null: none). */
  async select(slug: string | null): Promise<void> {
    if (slug !== this._slug) {
      this.forgetCourse();
      this._slug = slug;
    }
    await this.refresh();
  }

  private forgetCourse(): void {
    this._assignments = [];
    this._roster = [];
    this._grades = [];
    this._submissions.clear();
    this._invitation = null;
  }

  /** The selected course's assignments; for its staff also the roster and the grades. */
  private async loadCourse(seq: number): Promise<void> {
    const course = this.course;
    if (!course) {
      return;
    }
    const staff = isStaff(course);
    const [assignments, roster, grades] = await Promise.all([
      this.client.listAssignments(course.slug),
      staff ? this.client.roster(course.slug) : Promise.resolve([]),
      this.client.grades(course.slug),
    ]);
    if (seq !== this._seq) {
      return;
    }
    this._assignments = assignments;
    this._roster = [...roster].sort(byName);
    this._grades = grades;
  }

  /** The selected course's slug, or a 400 saying to choose one. */
  private slug(): string {
    if (!this._slug) {
      throw new HubError(400, 'no_course', 'Choose a course first.');
    }
    return this._slug;
  }

  async createCourse(values: ICourseValues): Promise<ICourse> {
    const made = await this.client.createCourse(courseRequest(values));
    this.forgetCourse();
    this._slug = made.slug;
    await this.refresh();
    return made;
  }

  /** Join by an invitation code (or the link that carries it). */
  async join(codeOrLink: string): Promise<ICourse> {
    const text = codeOrLink.trim();
    const code = /[?&]code=([^&#]+)/.exec(text)?.[1];
    const clean = code ? decodeURIComponent(code) : text;
    if (!clean) {
      throw new HubError(400, 'invalid_input', 'Please give an invitation code.');
    }
    const course = await this.client.redeemInvitation(clean);
    this.forgetCourse();
    this._slug = course.slug;
    await this.refresh();
    return course;
  }

  async leave(): Promise<void> {
    await this.client.leave(this.slug());
    this.forgetCourse();
    this._slug = null;
    await this.refresh();
  }

  /** Add students (or TAs) typed or pasted as names, or given as a CSV of names or e-mails. */
  async addToRoster(text: string, role: 'student' | 'ta' = 'student'): Promise<IRosterChange> {
    const entries = rosterEntries(text);
    const change = await this.client.addToRoster(this.slug(), { ...entries, role });
    await this.refresh();
    return change;
  }

  async addCSV(csv: string, role: 'student' | 'ta' = 'student'): Promise<IRosterChange> {
    if (!csv.trim()) {
      throw new HubError(400, 'invalid_input', 'The CSV file is empty.');
    }
    const change = await this.client.addToRoster(this.slug(), { csv, role });
    await this.refresh();
    return change;
  }

  async removeFromRoster(name: string): Promise<void> {
    await this.client.removeFromRoster(this.slug(), name);
    await this.refresh();
  }

  async makeInvitation(hours?: number): Promise<ICourseInvitation> {
    const slug = this.slug();
    const made = await this.client.makeInvitation(slug, hours);
    if (this._slug === slug) {
      this._invitation = made;
      this._changed.emit();
    }
    return made;
  }

  async distribute(
    values: IDistributeValues,
    folderOf: (browserPath: string) => IVolumeFolder | null,
  ): Promise<IAssignment> {
    const made = await this.client.distribute(this.slug(), distributeRequest(values, folderOf));
    await this.refresh();
    return made;
  }

  /** Make my copy if it is missing; the answer is its path in my workspace. */
  async fetch(assignment: string): Promise<string> {
    const { path } = await this.client.fetchAssignment(this.slug(), assignment);
    await this.refresh();
    return path;
  }

  /** Submit my copy (no `from`) or a folder of mine as it stands now. */
  async submit(assignment: string, from?: IVolumeFolder): Promise<ISubmissionReceipt> {
    const receipt = await this.client.submit(this.slug(), assignment, from);
    await this.refresh();
    return receipt;
  }

  async loadSubmissions(assignment: string): Promise<readonly ISubmission[]> {
    const list = await this.client.listSubmissions(this.slug(), assignment);
    this._submissions.set(
      assignment,
      [...list].sort((a, b) => a.student.localeCompare(b.student)),
    );
    this._changed.emit();
    return list;
  }

  async collect(assignment: string): Promise<ICollected> {
    const collected = await this.client.collect(this.slug(), assignment);
    await this.refresh();
    await this.loadSubmissions(assignment);
    return collected;
  }

  async returnFeedback(assignment: string, students?: string[]): Promise<IReturned> {
    const returned = await this.client.returnFeedback(this.slug(), assignment, students);
    await this.refresh();
    return returned;
  }

  async setGrade(assignment: string, student: string, values: IGradeValues): Promise<void> {
    await this.client.setGrade(this.slug(), assignment, student, gradeRequest(values));
    await this.refresh();
  }

  async gradesCSV(): Promise<string> {
    return this.client.gradesCSV(this.slug());
  }
}
