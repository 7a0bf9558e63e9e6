/**
 * Students' work: submit (a numbered snapshot in the hub's area, made under the student's work
 * row lock so two at once get two numbers), the submissions list (a student sees only their
 * own: anyone else's is "not found"), collect (the latest snapshots into a grading folder, with
 * SUBMISSION.json and a LATE mark, keeping feedback/), return (each student's feedback/ into
 * their copy folder), and grades (JSON and CSV).
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { normaliseUsername } from '../accounts/names.ts';
import { recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors.ts';
import type { RootVolumeConfig } from '../files/config.ts';
import { stagingArea } from '../files/disk.ts';
import { quotaExceeded } from '../files/errors.ts';
import { pathSegments } from '../files/names.ts';
import { lstatIn, treeBytes } from '../files/safeFs.ts';
import type { FilesService, VolumeRef } from '../files/service.ts';
import { courseFor, refuseArchived } from './access.ts';
import { courseStaging, submissionsFolder } from './areas.ts';
import type { Assignments } from './assignments.ts';
import { copyFromHub } from './assignments.ts';
import { csvField, isLate, isStaff, requireStaff } from './rules.ts';
import {
  type AssignmentRecord,
  assignmentsOf,
  type CourseRecord,
  insertSubmission,
  latestSubmissions,
  lockAssignmentById,
  lockWork,
  nextSubmissionNumber,
  rosterOf,
  setCollectedInto,
  setWork,
  submissionsOf,
  workOf,
} from './store.ts';
import { copyTree, placeBuilt, withMadeDir, withVolumeDir } from './tree.ts';
import type { CourseVolumes } from './volumes.ts';

type Folder = VolumeRef & { path: string };

const notFound = () => new NotFound('submission', 'Not found');

export class CourseWork {
  constructor(
    private readonly db: Db,
    private readonly files: FilesService,
    private readonly assignments: Assignments,
    private readonly volumes: CourseVolumes,
    private readonly storage: RootVolumeConfig,
    private readonly clock: () => Date,
  ) {}

  /**
   * Snapshot a folder the student may read (default their copy) as their next submission. Its
   * size is checked against what is left of their Storage quota (413 beyond it).
   */
  async submit(actor: Actor, slug: string, name: string, from: Folder | undefined) {
    const { course, role, assignment } = await this.assignments.find(actor, slug, name);
    if (role !== 'student') throw new Forbidden('not_student', 'Only students submit');
    refuseArchived(course, this.clock());
    const self = await this.db.query('SELECT name FROM users WHERE id = $1', [actor.userId]);
    const volume = from
      ? await this.files.read(actor, from)
      : await this.volumes.workspace(actor.userId, self.rows[0].name);
    const segments = from ? pathSegments(from.path) : ['courses', slug, assignment.name];
    const usage = await this.files.quotas.usage(actor.userId, this.storage);
    const left =
      usage.quota_bytes === null
        ? Number.POSITIVE_INFINITY
        : Math.max(usage.quota_bytes - usage.used_bytes, 0);
    return withVolumeDir(volume.hostPath, segments, async (dir) => {
      const bytes = await treeBytes(dir);
      if (bytes > left)
        throw quotaExceeded(
          `The folder holds ${bytes} bytes; ${usage.used_bytes} of your ${usage.quota_bytes} byte Storage quota are used`,
        );
      return inTransaction(this.db, async (client) => {
        // Numbered under the student's work row: two submits at once take turns.
        await lockWork(client, assignment.id, actor.userId);
        const number = await nextSubmissionNumber(client, assignment.id, actor.userId);
        const folder = submissionsFolder(this.storage, course.id, assignment.id, actor.userId);
        const built = path.join(await courseStaging(this.storage), `submit-${randomUUID()}`);
        let copied = 0;
        try {
          copied = (await copyTree(dir, built, left)).bytes;
          await fsp.mkdir(folder, { recursive: true, mode: 0o700 });
          // A number taken by a submit whose transaction did not commit is reused.
          await fsp.rm(path.join(folder, String(number)), { recursive: true, force: true });
          await fsp.rename(built, path.join(folder, String(number)));
        } finally {
          await fsp.rm(built, { recursive: true, force: true });
        }
        const submittedAt = this.clock();
        const late = isLate(assignment.dueAt, submittedAt);
        await insertSubmission(client, {
          assignmentId: assignment.id,
          userId: actor.userId,
          number,
          submittedAt,
          late,
          bytes: copied,
        });
        await recordActivity(client, {
          type: 'course.submit',
          userId: actor.userId,
          address: actor.address,
          payload: { course: slug, assignment: assignment.name, number, late, bytes: copied },
        });
        return { number, submitted_at: submittedAt.toISOString(), late, bytes: copied };
      });
    });
  }

  /**
   * Staff: each student's latest submission (or every one of a named student). A student: their
   * own, every one; naming anyone else is "not found".
   */
  async submissions(actor: Actor, slug: string, name: string, student?: string) {
    const { course, role, assignment } = await this.assignments.find(actor, slug, name);
    let rows: Awaited<ReturnType<typeof latestSubmissions>>;
    if (isStaff(role)) {
      if (student) {
        const target = await this.member(course, student);
        rows = await submissionsOf(this.db, assignment.id, target.id);
      } else rows = await latestSubmissions(this.db, assignment.id);
    } else {
      const self = await this.member(course, undefined, actor.userId);
      if (student !== undefined && normaliseUsername(student) !== self.name) throw notFound();
      rows = await submissionsOf(this.db, assignment.id, actor.userId);
    }
    return rows.map((row) => ({
      student: row.student,
      number: row.number,
      submitted_at: row.submittedAt.toISOString(),
      late: row.late,
      bytes: row.bytes,
      count: row.count,
    }));
  }

  /**
   * Copy each student's latest snapshot into `<into>/<assignment>/<student>/` (default the
   * grading volume), with SUBMISSION.json and, when late, a LATE file. A folder already holding
   * that snapshot is left alone; a newer one replaces it, keeping feedback/. Allowed on an
   * archived course (grading goes on after the term).
   */
  async collect(actor: Actor, slug: string, name: string, into: Folder | undefined) {
    const { course, role, assignment } = await this.assignments.find(actor, slug, name);
    requireStaff(role);
    if (!assignment.releasedAt)
      throw new Conflict('not_released', 'Nothing is submitted before the release');
    const target = into ? await this.files.write(actor, into) : await this.volumes.grading(course);
    const base = into ? pathSegments(into.path) : [];
    const staging = await stagingArea(target.rootConfig!, target.ownerId!);
    return inTransaction(this.db, async (client) => {
      // One collect of an assignment at a time: they would swap the same folders.
      await lockAssignmentById(client, assignment.id);
      const latest = await latestSubmissions(client, assignment.id);
      const work = new Map((await workOf(client, assignment.id)).map((w) => [w.userId, w]));
      let bytes = 0;
      await withMadeDir(target.hostPath, [...base, assignment.name], async (parent) => {
        for (const sub of latest) {
          const there = await lstatIn(parent, sub.student);
          if (there && work.get(sub.userId)?.collectedNumber === sub.number) continue;
          const snapshot = path.join(
            submissionsFolder(this.storage, course.id, assignment.id, sub.userId),
            String(sub.number),
          );
          await placeBuilt(
            staging,
            parent,
            sub.student,
            { replace: true, keep: 'feedback' },
            async (folder) => {
              bytes += (await copyFromHub(snapshot, folder)).bytes;
              // feedback/ is the staff's: a student's own folder of that name is not carried over.
              await fsp.rm(path.join(folder, 'feedback'), { recursive: true, force: true });
              await fsp.rm(path.join(folder, 'LATE'), { recursive: true, force: true });
              const record = {
                student: sub.student,
                submitted_at: sub.submittedAt.toISOString(),
                late: sub.late,
                snapshot: sub.number,
              };
              await fsp.writeFile(
                path.join(folder, 'SUBMISSION.json'),
                `${JSON.stringify(record, null, 2)}\n`,
              );
              if (sub.late)
                await fsp.writeFile(
                  path.join(folder, 'LATE'),
                  `Submitted ${record.submitted_at}, after the due date ${assignment.dueAt?.toISOString()}\n`,
                );
            },
          );
          await setWork(client, assignment.id, sub.userId, { collectedNumber: sub.number });
        }
      });
      await this.files.quotas.adjust(target.ownerId!, target.rootConfig!, bytes);
      const collectedInto = {
        root: target.root,
        owner: target.owner,
        volume: target.name,
        path: base.join('/'),
      };
      await setCollectedInto(client, assignment.id, collectedInto);
      await recordActivity(client, {
        type: 'course.collect',
        userId: actor.userId,
        address: actor.address,
        payload: {
          course: slug,
          assignment: assignment.name,
          into: collectedInto,
          students: latest.length,
        },
      });
      const students = (await rosterOf(client, course.groupId)).filter((m) => m.role === 'MEMBER');
      return {
        path: ['volumes', target.root, target.owner, target.name, ...base, assignment.name].join(
          '/',
        ),
        students: latest.map((sub) => ({
          student: sub.student,
          submitted_at: sub.submittedAt.toISOString(),
          late: sub.late,
        })),
        missing: students
          .filter((m) => !latest.some((sub) => sub.userId === m.id))
          .map((m) => m.name),
      };
    });
  }

  /**
   * Copy each collected student's `feedback/` from the grading folder to their
   * `courses/<slug>/<assignment>/feedback/`, replacing what was returned before.
   */
  async returnFeedback(actor: Actor, slug: string, name: string, only: string[] | undefined) {
    const { course, role, assignment } = await this.assignments.find(actor, slug, name);
    requireStaff(role);
    refuseArchived(course, this.clock());
    const into = assignment.collectedInto;
    if (!into)
      throw new Conflict('not_collected', 'Collect the submissions before returning feedback');
    const grading = await this.files.read(actor, into);
    const collected = await latestSubmissions(this.db, assignment.id);
    const wanted = only
      ? await Promise.all(only.map((student) => this.member(course, student)))
      : collected.map((sub) => ({ id: sub.userId, name: sub.student }));
    const returned: string[] = [];
    const without: string[] = [];
    for (const student of wanted) {
      const feedback = [...pathSegments(into.path), assignment.name, student.name, 'feedback'];
      const done = await this.returnOne(course, assignment, grading.hostPath, feedback, student);
      (done ? returned : without).push(student.name);
      if (done)
        await recordActivity(this.db, {
          type: 'course.return',
          userId: student.id,
          actorId: actor.userId,
          address: actor.address,
          payload: { course: slug, assignment: assignment.name },
        });
    }
    return { returned, without_feedback: without };
  }

  private async returnOne(
    course: CourseRecord,
    assignment: AssignmentRecord,
    gradingPath: string,
    feedback: string[],
    student: { id: number; name: string },
  ): Promise<boolean> {
    const workspace = await this.volumes.workspace(student.id, student.name);
    const staging = await stagingArea(workspace.rootConfig!, student.id);
    let bytes = 0;
    const done = await withVolumeDir(gradingPath, feedback, (dir) =>
      withMadeDir(workspace.hostPath, ['courses', course.slug, assignment.name], (parent) =>
        placeBuilt(staging, parent, 'feedback', { replace: true }, async (folder) => {
          bytes = (await copyTree(dir, folder)).bytes;
        }),
      ),
    ).catch((err) => {
      // No feedback folder; or the student's own path to it is a link or a file (refused,
      // never followed): their feedback waits, and the others' returns go on.
      if (err instanceof NotFound || err instanceof Forbidden || err instanceof Invalid)
        return false;
      throw err;
    });
    if (!done) return false;
    await this.files.quotas.adjust(student.id, workspace.rootConfig!, bytes);
    await setWork(this.db, assignment.id, student.id, { returnedAt: this.clock() });
    return true;
  }

  /** Set a student's score and comment (staff). */
  async grade(
    actor: Actor,
    slug: string,
    name: string,
    studentName: string,
    grade: { score: number | null; comment?: string | undefined },
  ) {
    const { course, role, assignment } = await this.assignments.find(actor, slug, name);
    requireStaff(role);
    refuseArchived(course, this.clock());
    const student = await this.member(course, studentName);
    const comment = grade.comment ?? '';
    await setWork(this.db, assignment.id, student.id, { grade: { score: grade.score, comment } });
    await recordActivity(this.db, {
      type: 'course.grade',
      userId: student.id,
      actorId: actor.userId,
      address: actor.address,
      payload: { course: slug, assignment: assignment.name, score: grade.score },
    });
    return { student: student.name, assignment: assignment.name, score: grade.score, comment };
  }

  /** One row per student and released assignment (staff: every student; a student: their own). */
  async grades(actor: Actor, slug: string) {
    const { course, role } = await courseFor(this.db, actor, slug);
    await this.assignments.releaseDue(course.id);
    const roster = (await rosterOf(this.db, course.groupId)).filter((m) => m.role === 'MEMBER');
    const students = isStaff(role) ? roster : roster.filter((m) => m.id === actor.userId);
    const rows = [];
    for (const a of (await assignmentsOf(this.db, course.id)).filter((a) => a.releasedAt)) {
      const work = new Map((await workOf(this.db, a.id)).map((w) => [w.userId, w]));
      const latest = new Map((await latestSubmissions(this.db, a.id)).map((s) => [s.userId, s]));
      for (const student of students) {
        const w = work.get(student.id);
        const s = latest.get(student.id);
        rows.push({
          student: student.name,
          assignment: a.name,
          score: w?.score ?? null,
          comment: w?.comment ?? '',
          submitted_at: s?.submittedAt.toISOString() ?? null,
          late: s?.late ?? false,
        });
      }
    }
    return rows;
  }

  async gradesCsv(actor: Actor, slug: string): Promise<string> {
    const { role } = await courseFor(this.db, actor, slug);
    requireStaff(role);
    const header = 'student,assignment,score,comment,submitted_at,late';
    const lines = (await this.grades(actor, slug)).map((row) =>
      [row.student, row.assignment, row.score, row.comment, row.submitted_at, row.late]
        .map(csvField)
        .join(','),
    );
    return `${[header, ...lines].join('\r\n')}\r\n`;
  }

  /** A student of the course by name (or id); anyone else is "not found". */
  private async member(course: CourseRecord, name?: string, userId?: number) {
    const roster = await rosterOf(this.db, course.groupId);
    const wanted = name !== undefined ? normaliseUsername(name) : undefined;
    const found = roster.find(
      (m) => m.role === 'MEMBER' && (wanted !== undefined ? m.name === wanted : m.id === userId),
    );
    if (!found) throw notFound();
    return found;
  }
}
