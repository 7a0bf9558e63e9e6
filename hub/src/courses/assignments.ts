/**
 * Assignments: declared by the teacher from a folder they may read, released at their release
 * date (by the sweeper, or by the first course read after it), and distributed: the released
 * folder is first snapshotted into the hub's area, then copied into the lecture volume
 * (lecture mode) or into each student's workspace at `courses/<slug>/<name>/` (copy mode),
 * never over an existing copy. The release runs under the assignment's row lock, so it happens
 * once; each student's copy runs under their work row's lock.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { Conflict, Forbidden, NotFound } from '../errors.ts';
import type { RootVolumeConfig } from '../files/config.ts';
import { stagingArea } from '../files/disk.ts';
import { pathSegments } from '../files/names.ts';
import type { FilesService, VolumeRef } from '../files/service.ts';
import type { Logger } from '../log.ts';
import { courseFor, lectureVolumeName, refuseArchived } from './access.ts';
import { courseStaging, releaseFolder } from './areas.ts';
import { type CourseRole, checkDates, checkSlug, isDue, isStaff, requireTeacher } from './rules.ts';
import {
  type AssignmentRecord,
  assignmentCounts,
  assignmentsOf,
  type CourseRecord,
  deleteAssignment,
  dueForRelease,
  findAssignment,
  findCourseById,
  insertAssignment,
  latestSubmissions,
  lockAssignmentById,
  lockWork,
  markReleased,
  rosterOf,
  setWork,
  updateAssignment,
  workOf,
} from './store.ts';
import { copyTree, openHubDir, placeBuilt, withMadeDir, withVolumeDir } from './tree.ts';
import { type CourseVolumes, teacherOf } from './volumes.ts';

export interface NewAssignment {
  name: string;
  title?: string | undefined;
  source: { root: string; owner: string; volume: string; path: string };
  mode: 'lecture' | 'copy';
  release_at?: string | undefined;
  due_at?: string | undefined;
}

export const assignmentNotFound = () => new NotFound('assignment', 'Assignment not found');

/** A copy folder relative to the student's workspace. */
export const copyPath = (slug: string, name: string) => `courses/${slug}/${name}`;

/** Copy a folder of the hub's own (a release, a snapshot) into the new folder `dest`. */
export async function copyFromHub(source: string, dest: string) {
  const dir = await openHubDir(source);
  try {
    return await copyTree(dir, dest);
  } finally {
    await dir.close();
  }
}

export class Assignments {
  constructor(
    private readonly db: Db,
    private readonly files: FilesService,
    private readonly volumes: CourseVolumes,
    private readonly storage: RootVolumeConfig,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  /** Assignments of a course: staff see all with counts, students the released ones with theirs. */
  async list(actor: Actor, slug: string) {
    const { course, role } = await courseFor(this.db, actor, slug);
    await this.releaseDue(course.id);
    const all = await assignmentsOf(this.db, course.id);
    const visible = isStaff(role) ? all : all.filter((a) => a.releasedAt !== null);
    return Promise.all(visible.map((a) => this.describe(course, role, a, actor.userId)));
  }

  /** One assignment, released or (for staff) not; 404 for a student before its release. */
  async find(actor: Actor, slug: string, name: string) {
    const { course, role } = await courseFor(this.db, actor, slug);
    await this.releaseDue(course.id);
    const assignment = await findAssignment(this.db, course.id, name);
    if (!assignment || (!isStaff(role) && assignment.releasedAt === null))
      throw assignmentNotFound();
    return { course, role, assignment };
  }

  async describe(course: CourseRecord, role: CourseRole, a: AssignmentRecord, userId: number) {
    const described = {
      name: a.name,
      title: a.title,
      mode: a.mode,
      release_at: a.releaseAt.toISOString(),
      due_at: a.dueAt?.toISOString() ?? null,
      released: a.releasedAt !== null,
      ...(a.mode === 'lecture'
        ? {
            path_in_lecture: `volumes/Storage/${course.teacher}/${lectureVolumeName(course.slug)}/${a.name}`,
          }
        : { copy_path: copyPath(course.slug, a.name) }),
    };
    if (isStaff(role)) return { ...described, counts: await assignmentCounts(this.db, a.id) };
    const work = (await workOf(this.db, a.id)).find((w) => w.userId === userId);
    const latest = (await latestSubmissions(this.db, a.id, userId))[0];
    return {
      ...described,
      mine: {
        fetched: work?.copiedAt != null,
        submitted_at: latest?.submittedAt.toISOString() ?? null,
        late: latest?.late ?? false,
        submissions: latest?.count ?? 0,
        returned_at: work?.returnedAt?.toISOString() ?? null,
        feedback_path: work?.returnedAt ? `${copyPath(course.slug, a.name)}/feedback` : null,
        score: work?.score ?? null,
        comment: work?.score != null || work?.comment ? (work?.comment ?? null) : null,
      },
    };
  }

  /** Declare an assignment (the teacher) from a folder they may read; released now if due. */
  async create(actor: Actor, slug: string, spec: NewAssignment) {
    const { course, role } = await courseFor(this.db, actor, slug);
    requireTeacher(role);
    refuseArchived(course, this.clock());
    const name = checkSlug(spec.name, 'name');
    const source = await this.files.read(actor, {
      root: spec.source.root,
      owner: spec.source.owner,
      volume: spec.source.volume,
    });
    const segments = pathSegments(spec.source.path);
    // The folder must be there now (it is read again, as the teacher, at the release).
    await withVolumeDir(source.hostPath, segments, async () => undefined);
    const now = this.clock();
    const releaseAt = spec.release_at ? new Date(spec.release_at) : now;
    const dueAt = spec.due_at ? new Date(spec.due_at) : null;
    checkDates(releaseAt, dueAt);
    if (spec.mode === 'lecture') await this.volumes.lecture(course);
    const created = await inTransaction(this.db, async (client) => {
      await courseFor(client, actor, slug, true);
      if (await findAssignment(client, course.id, name))
        throw new Conflict('assignment_exists', `The course has an assignment "${name}"`);
      const made = await insertAssignment(client, {
        courseId: course.id,
        name,
        title: spec.title?.trim() || name,
        mode: spec.mode,
        source: {
          root: source.root,
          owner: source.owner,
          volume: source.name,
          path: segments.join('/'),
        },
        releaseAt,
        dueAt,
      });
      await recordActivity(client, {
        type: 'course.assignment_create',
        userId: actor.userId,
        address: actor.address,
        payload: {
          course: slug,
          assignment: name,
          mode: spec.mode,
          release_at: releaseAt,
          due_at: dueAt,
        },
      });
      return made;
    });
    if (isDue(releaseAt, now)) await this.release(created.id);
    const current = (await findAssignment(this.db, course.id, name))!;
    return this.describe(course, role, current, actor.userId);
  }

  /** Change the title or dates (the teacher); the release date is fixed once released. */
  async update(
    actor: Actor,
    slug: string,
    name: string,
    changes: {
      title?: string | undefined;
      release_at?: string | undefined;
      due_at?: string | null | undefined;
    },
  ) {
    const { course, role } = await courseFor(this.db, actor, slug);
    requireTeacher(role);
    refuseArchived(course, this.clock());
    await inTransaction(this.db, async (client) => {
      const a = await findAssignment(client, course.id, name, true);
      if (!a) throw assignmentNotFound();
      if (changes.release_at !== undefined && a.releasedAt)
        throw new Conflict('already_released', 'A released assignment keeps its release date');
      const releaseAt = changes.release_at ? new Date(changes.release_at) : a.releaseAt;
      const dueAt =
        changes.due_at === undefined ? a.dueAt : changes.due_at ? new Date(changes.due_at) : null;
      checkDates(releaseAt, dueAt);
      await updateAssignment(client, a.id, {
        title: changes.title?.trim() || undefined,
        releaseAt: changes.release_at ? releaseAt : undefined,
        ...(changes.due_at !== undefined ? { dueAt } : {}),
      });
      await recordActivity(client, {
        type: 'course.assignment_update',
        userId: actor.userId,
        address: actor.address,
        payload: { course: slug, assignment: name, ...changes },
      });
    });
    await this.releaseDue(course.id);
    return this.describe(
      course,
      role,
      (await findAssignment(this.db, course.id, name))!,
      actor.userId,
    );
  }

  /** Delete an assignment before its release (the teacher). */
  async delete(actor: Actor, slug: string, name: string): Promise<void> {
    const { course, role } = await courseFor(this.db, actor, slug);
    requireTeacher(role);
    refuseArchived(course, this.clock());
    await inTransaction(this.db, async (client) => {
      const a = await findAssignment(client, course.id, name, true);
      if (!a) throw assignmentNotFound();
      if (a.releasedAt)
        throw new Conflict('already_released', 'A released assignment cannot be deleted');
      await deleteAssignment(client, a.id);
      await recordActivity(client, {
        type: 'course.assignment_delete',
        userId: actor.userId,
        address: actor.address,
        payload: { course: slug, assignment: name },
      });
    });
  }

  /** Release every assignment whose date has come (of one course, or all: the sweeper). */
  async releaseDue(courseId?: number): Promise<void> {
    for (const id of await dueForRelease(this.db, this.clock(), courseId)) {
      await this.release(id).catch((err) =>
        this.log.warn({ err: String(err), assignmentId: id }, 'assignment not released; retried'),
      );
    }
  }

  /**
   * Release one assignment under its row lock: snapshot the teacher's folder into the hub's
   * area, put it in the lecture volume (lecture mode), mark it released; then copy it to every
   * student (copy mode). A second release of the same assignment finds it released and stops.
   */
  async release(assignmentId: number): Promise<void> {
    const released = await inTransaction(this.db, async (client) => {
      const a = await lockAssignmentById(client, assignmentId);
      const now = this.clock();
      if (!a || a.releasedAt || !isDue(a.releaseAt, now)) return undefined;
      const course = (await findCourseById(client, a.courseId))!;
      const source = await this.files.read(teacherOf(course), a.source as VolumeRef);
      const folder = releaseFolder(this.storage, course.id, a.id);
      const built = path.join(await courseStaging(this.storage), `release-${randomUUID()}`);
      try {
        await withVolumeDir(source.hostPath, pathSegments(a.source.path), (dir) =>
          copyTree(dir, built),
        );
        await fsp.mkdir(path.dirname(folder), { recursive: true, mode: 0o700 });
        // Left by a release whose transaction did not commit: this one replaces it.
        await fsp.rm(folder, { recursive: true, force: true });
        await fsp.rename(built, folder);
      } finally {
        await fsp.rm(built, { recursive: true, force: true });
      }
      if (a.mode === 'lecture') {
        const lecture = await this.volumes.lecture(course);
        const staging = await stagingArea(lecture.rootConfig!, course.teacherId);
        await withVolumeDir(lecture.hostPath, [], (root) =>
          placeBuilt(staging, root, a.name, { replace: true }, async (into) => {
            await copyFromHub(folder, into);
          }),
        );
      }
      await markReleased(client, a.id, now);
      await recordActivity(client, {
        type: 'course.release',
        userId: course.teacherId,
        payload: { course: course.slug, assignment: a.name, mode: a.mode },
      });
      return { course, assignment: a };
    });
    if (released?.assignment.mode === 'copy') {
      const students = (await rosterOf(this.db, released.course.groupId)).filter(
        (m) => m.role === 'MEMBER',
      );
      for (const student of students)
        await this.copyFor(released.course, released.assignment, student).catch((err) =>
          this.log.warn(
            { err: String(err), course: released.course.slug, student: student.name },
            'a student’s copy was not made; they can fetch it',
          ),
        );
    }
  }

  /** New students get their copies of the released copy-mode assignments. */
  async distributeTo(course: CourseRecord, userIds: number[]): Promise<void> {
    const released = (await assignmentsOf(this.db, course.id)).filter(
      (a) => a.releasedAt !== null && a.mode === 'copy',
    );
    if (!released.length) return;
    const students = (await rosterOf(this.db, course.groupId)).filter(
      (m) => m.role === 'MEMBER' && userIds.includes(m.id),
    );
    for (const a of released)
      for (const student of students)
        await this.copyFor(course, a, student).catch((err) =>
          this.log.warn(
            { err: String(err), course: course.slug, student: student.name },
            'a late joiner’s copy was not made; they can fetch it',
          ),
        );
  }

  /**
   * The student's copy at `courses/<slug>/<name>/` in their workspace, made from the release
   * unless something is there already (never overwritten). Under their work row's lock.
   */
  async copyFor(
    course: CourseRecord,
    a: AssignmentRecord,
    student: { id: number; name: string },
  ): Promise<boolean> {
    const workspace = await this.volumes.workspace(student.id, student.name);
    const staging = await stagingArea(workspace.rootConfig!, student.id);
    return inTransaction(this.db, async (client) => {
      await lockWork(client, a.id, student.id);
      let bytes = 0;
      const made = await withMadeDir(workspace.hostPath, ['courses', course.slug], (parent) =>
        placeBuilt(staging, parent, a.name, { replace: false }, async (into) => {
          bytes = (await copyFromHub(releaseFolder(this.storage, course.id, a.id), into)).bytes;
        }),
      );
      if (made) {
        await this.files.quotas.adjust(student.id, workspace.rootConfig!, bytes);
        await setWork(client, a.id, student.id, { copiedAt: this.clock() });
      }
      return made;
    });
  }

  /** A student's copy now, if missing (copy mode); the path to open in their workspace. */
  async fetch(actor: Actor, slug: string, name: string) {
    const { course, role, assignment } = await this.find(actor, slug, name);
    if (role !== 'student')
      throw new Forbidden('not_student', 'Students fetch assignments; staff read the release');
    refuseArchived(course, this.clock());
    if (assignment.mode === 'lecture')
      return {
        path: `volumes/Storage/${course.teacher}/${lectureVolumeName(course.slug)}/${assignment.name}`,
      };
    const self = await this.db.query('SELECT name FROM users WHERE id = $1', [actor.userId]);
    await this.copyFor(course, assignment, { id: actor.userId, name: self.rows[0].name });
    return { path: copyPath(course.slug, assignment.name) };
  }
}
