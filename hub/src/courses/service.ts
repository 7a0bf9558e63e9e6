/**
 * Courses and their rosters: create (a group and a course row in one transaction), describe,
 * change, delete; add and remove students and TAs by name, email or CSV; invitation codes;
 * leaving. Every roster change is one transaction under the course's row lock with its
 * activity record; after it commits, the groups service tells the files service whose view
 * changed (a removed student loses the lecture volume at once), and new students get their
 * copies of released assignments. Speaks domain errors, never HTTP.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import { lockUser } from '../accounts/store.ts';
import { type ActivityPayload, recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, LimitReached, NotFound } from '../errors.ts';
import type { RootVolumeConfig } from '../files/config.ts';
import { deleteGroupAndPaths } from '../groups/nesting.ts';
import type { GroupsService } from '../groups/service.ts';
import {
  addMember,
  countOwnedGroups,
  createGroup,
  findGroupByName,
  removeMember,
  roleIn,
  setRole,
} from '../groups/store.ts';
import type { Logger } from '../log.ts';
import { courseFor, describeCourse, refuseArchived } from './access.ts';
import { courseArea, coursesArea } from './areas.ts';
import type { Assignments } from './assignments.ts';
import {
  type CourseRole,
  checkSlug,
  courseRoleOf,
  groupRoleOf,
  inviteHours,
  isArchived,
  mayLeave,
  mayManage,
  requireStaff,
  requireTeacher,
  rosterEntries,
} from './rules.ts';
import {
  type CourseRecord,
  courseByInviteHash,
  coursesOf,
  findCourse,
  insertCourse,
  rosterOf,
  setInvitation,
  updateCourse,
  usersByNameOrEmail,
} from './store.ts';
import type { CourseVolumes } from './volumes.ts';
import type { CourseWork } from './work.ts';

export interface CoursesOptions {
  /** Ordinary groups one user may own (a course is one). */
  maxGroupsPerUser: number;
  /** Any signed-in user may create a course; when false, platform admins only. */
  openCreation: boolean;
  /** The hub's public address, for invitation links. */
  publicUrl: string;
}

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');
const invitationNotFound = () =>
  new NotFound('invitation_not_found', 'This invitation does not exist, was replaced or expired');

export class CoursesService {
  constructor(
    private readonly db: Db,
    private readonly groups: GroupsService,
    readonly assignments: Assignments,
    readonly work: CourseWork,
    private readonly volumes: CourseVolumes,
    private readonly storage: RootVolumeConfig,
    private readonly options: CoursesOptions,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  /**
   * The periodic work: release what is due, and remove the hub's folders of courses that are
   * gone (a course's group deleted through the groups API takes the course row with it).
   */
  async sweep(): Promise<void> {
    await this.assignments.releaseDue();
    await this.dropOrphanGroups();
    const area = coursesArea(this.storage);
    const folders = await fsp.readdir(area).catch(() => [] as string[]);
    const ids = folders.filter((name) => /^\d+$/.test(name));
    if (!ids.length) return;
    const { rows } = await this.db.query('SELECT id FROM courses WHERE id = ANY($1::bigint[])', [
      ids,
    ]);
    const live = new Set(rows.map((row) => String(row.id)));
    for (const id of ids.filter((id) => !live.has(id)))
      await fsp.rm(courseArea(this.storage, Number(id)), { recursive: true, force: true });
  }

  /**
   * A course's group outlives its course only when the teacher's account is deleted (the course
   * row goes with it, the group does not); nobody may delete it through the groups API, so the
   * sweep does, and its members lose the lecture volume.
   */
  private async dropOrphanGroups(): Promise<void> {
    const members = await inTransaction(this.db, async (client) => {
      const { rows } = await client.query(
        `SELECT g.id FROM groups g
          WHERE g.kind = 'course' AND NOT EXISTS (SELECT 1 FROM courses c WHERE c.group_id = g.id)
          FOR UPDATE OF g`,
      );
      const affected: number[] = [];
      for (const { id } of rows) {
        affected.push(...(await rosterOf(client, id)).map((m) => m.id));
        await deleteGroupAndPaths(client, id);
      }
      return affected;
    });
    if (members.length) await this.groups.membershipChanged(members);
  }

  /** Courses I teach, assist or take. */
  async list(actor: Actor) {
    const now = this.clock();
    const courses = await coursesOf(this.db, actor.userId);
    return Promise.all(
      courses.map((course) => describeCourse(this.db, course, courseRoleOf(course.role)!, now)),
    );
  }

  async get(actor: Actor, slug: string) {
    const { course, role } = await courseFor(this.db, actor, slug);
    await this.assignments.releaseDue(course.id);
    return describeCourse(this.db, course, role, this.clock());
  }

  /** Make a course: its group (the caller its owner, i.e. teacher) and its row, together. */
  async create(
    actor: Actor,
    spec: { slug: string; title: string; term?: string | undefined; ends_at: string },
  ) {
    if (!this.options.openCreation && !actor.admin)
      throw new Forbidden('course_creation_closed', 'Only platform admins create courses here');
    const slug = checkSlug(spec.slug, 'slug');
    const endsAt = parseDate(spec.ends_at, 'ends_at');
    const title = spec.title.trim();
    if (!title) throw new Invalid('course_title', 'A course needs a title');
    await inTransaction(this.db, async (client) => {
      // Count, then insert: one creation at a time per user, as for groups.
      await lockUser(client, actor.userId);
      if ((await countOwnedGroups(client, actor.userId)) >= this.options.maxGroupsPerUser)
        throw new LimitReached(
          'group_cap',
          `You own ${this.options.maxGroupsPerUser} groups (a course is one), the most allowed`,
        );
      const groupName = `course:${slug}`;
      if ((await findCourse(client, slug)) || (await findGroupByName(client, groupName)))
        throw new Conflict('course_exists', `A course "${slug}" exists`);
      const group = await createGroup(client, {
        name: groupName,
        description: title,
        kind: 'course',
        creatorId: actor.userId,
      });
      await insertCourse(client, {
        groupId: group.id,
        slug,
        title,
        term: spec.term ?? '',
        endsAt,
        teacherId: actor.userId,
      });
      await record(client, actor, 'course.create', { course: slug, group_id: group.id, title });
    });
    return this.get(actor, slug);
  }

  /** Change the title, term or end date (the teacher; also of an archived course, to reopen it). */
  async update(
    actor: Actor,
    slug: string,
    changes: {
      title?: string | undefined;
      term?: string | undefined;
      ends_at?: string | undefined;
    },
  ) {
    await inTransaction(this.db, async (client) => {
      const { course, role } = await courseFor(client, actor, slug, true);
      requireTeacher(role);
      const title = changes.title?.trim();
      if (changes.title !== undefined && !title)
        throw new Invalid('course_title', 'A course needs a title');
      const endsAt = changes.ends_at ? parseDate(changes.ends_at, 'ends_at') : undefined;
      await updateCourse(client, course.id, { title, term: changes.term, endsAt });
      await record(client, actor, 'course.update', { course: slug, ...changes });
    });
    return this.get(actor, slug);
  }

  /**
   * Delete a course (the teacher): its group goes, and with it every share to the group; the
   * teacher's volumes and students' copies stay; the hub's snapshots of it are removed.
   */
  async delete(actor: Actor, slug: string): Promise<void> {
    const { course, members } = await inTransaction(this.db, async (client) => {
      const { course, role } = await courseFor(client, actor, slug, true);
      requireTeacher(role);
      const members = (await rosterOf(client, course.groupId)).map((m) => m.id);
      await deleteGroupAndPaths(client, course.groupId);
      await record(client, actor, 'course.delete', { course: slug, group_id: course.groupId });
      return { course, members };
    });
    await this.groups.membershipChanged(members);
    // The group is gone, so no TA is left: the grading volume's shares go too.
    await this.volumes.syncGrading(course);
    await fsp.rm(courseArea(this.storage, course.id), { recursive: true, force: true });
  }

  // Roster.

  async roster(actor: Actor, slug: string) {
    const { course, role } = await courseFor(this.db, actor, slug);
    requireStaff(role);
    const members = await rosterOf(this.db, course.groupId);
    return members.map((m) => ({
      name: m.name,
      role: courseRoleOf(m.role)!,
      joined_at: m.joined_at,
    }));
  }

  /**
   * Add users by name or email (and a CSV of them) with a role. Unknown entries are reported,
   * the known ones added in one transaction. A student named with the TA role becomes a TA
   * (only the teacher adds TAs); anyone else already in the course is reported as `already`.
   */
  async addToRoster(
    actor: Actor,
    slug: string,
    request: { names?: string[] | undefined; csv?: string | undefined; role?: 'student' | 'ta' },
  ) {
    const role: CourseRole = request.role ?? 'student';
    const entries = rosterEntries(request.names, request.csv);
    if (entries.length === 0) throw new Invalid('roster_empty', 'Name at least one user');
    const outcome = await inTransaction(this.db, async (client) => {
      const { course, role: acting } = await courseFor(client, actor, slug, true);
      refuseArchived(course, this.clock());
      requireStaff(acting);
      if (!mayManage(acting, role))
        throw new Forbidden('not_teacher', 'Only the teacher adds and removes TAs');
      const found = await usersByNameOrEmail(client, entries, entries.map(normaliseUsername));
      const unknown = entries.filter((entry) => !found.some((user) => user.entry === entry));
      const current = new Map(
        (await rosterOf(client, course.groupId)).map((m) => [m.id, courseRoleOf(m.role)!]),
      );
      const added: string[] = [];
      const already: string[] = [];
      const touched: number[] = [];
      const students: number[] = [];
      for (const user of found) {
        if (touched.includes(user.id) || added.includes(user.name) || already.includes(user.name))
          continue;
        const held = current.get(user.id);
        // Already in the course: listed as such, except a student made a TA (the teacher's call,
        // checked above with the role). A TA named in a list of students stays a TA.
        if (held && !(held === 'student' && role === 'ta')) {
          already.push(user.name);
          continue;
        }
        if (held) {
          await setRole(client, course.groupId, user.id, groupRoleOf(role));
          await record(
            client,
            actor,
            'course.roster_role',
            { course: slug, from: held, to: role },
            user.id,
          );
        } else {
          await addMember(client, course.groupId, user.id, groupRoleOf(role));
          await record(client, actor, 'course.roster_add', { course: slug, role }, user.id);
        }
        added.push(user.name);
        touched.push(user.id);
        if (role === 'student') students.push(user.id);
      }
      return { course, added, already, unknown, touched, students };
    });
    await this.afterRosterChange(outcome.course, outcome.touched, outcome.students);
    return { added: outcome.added, already: outcome.already, unknown: outcome.unknown };
  }

  /** Remove a student (teacher or TA) or a TA (teacher); one's own name is leaving. */
  async removeFromRoster(actor: Actor, slug: string, name: string): Promise<void> {
    const { course, userId } = await inTransaction(this.db, async (client) => {
      const { course, role: acting } = await courseFor(client, actor, slug, true);
      refuseArchived(course, this.clock());
      const target = await userNamed(client, normaliseUsername(name)).catch(() => undefined);
      const held = target ? courseRoleOf(await roleIn(client, course.groupId, target.id)) : null;
      if (!target || !held) {
        requireStaff(acting);
        throw new NotFound('not_member', `${name} is not in the course`);
      }
      const self = target.id === actor.userId;
      if (self && !mayLeave(held))
        throw new Conflict('teacher_stays', 'The teacher cannot leave; delete the course instead');
      if (!self) {
        requireStaff(acting);
        if (!mayManage(acting, held))
          throw new Forbidden(
            held === 'teacher' ? 'teacher_stays' : 'not_teacher',
            held === 'teacher' ? 'The teacher cannot be removed' : 'Only the teacher removes TAs',
          );
      }
      await removeMember(client, course.groupId, target.id);
      await record(
        client,
        actor,
        self ? 'course.leave' : 'course.roster_remove',
        { course: slug, role: held },
        target.id,
      );
      return { course, userId: target.id };
    });
    await this.afterRosterChange(course, [userId], []);
  }

  /** Leave a course (a student or TA). */
  async leave(actor: Actor, slug: string): Promise<void> {
    const { course } = await courseFor(this.db, actor, slug);
    const self = await this.db.query('SELECT name FROM users WHERE id = $1', [actor.userId]);
    await this.removeFromRoster(actor, course.slug, self.rows[0].name);
  }

  // Invitation codes.

  /** A new code (staff): only its hash is kept, and it replaces the one before. */
  async createInvitation(actor: Actor, slug: string, hours: number | undefined) {
    const lifetime = inviteHours(hours);
    const code = `orrc_${randomBytes(24).toString('base64url')}`;
    const expiresAt = new Date(this.clock().getTime() + lifetime * 3_600_000);
    await inTransaction(this.db, async (client) => {
      const { course, role } = await courseFor(client, actor, slug, true);
      requireStaff(role);
      refuseArchived(course, this.clock());
      await setInvitation(client, course.id, { hash: hashCode(code), expiresAt });
      await record(client, actor, 'course.invitation_create', {
        course: slug,
        expires_at: expiresAt,
      });
    });
    return {
      code,
      url: `${this.options.publicUrl}/hub/courses/join?code=${encodeURIComponent(code)}`,
      expires_at: expiresAt.toISOString(),
    };
  }

  async deleteInvitation(actor: Actor, slug: string): Promise<void> {
    await inTransaction(this.db, async (client) => {
      const { course, role } = await courseFor(client, actor, slug, true);
      requireStaff(role);
      // Idempotent: withdrawing a code that is already gone is no error.
      if (!course.inviteExpiresAt) return;
      await setInvitation(client, course.id, null);
      await record(client, actor, 'course.invitation_delete', { course: slug });
    });
  }

  /** Join as a student with a code; a member already in the course just gets the course. */
  async redeem(actor: Actor, code: string) {
    const joined = await inTransaction(this.db, async (client) => {
      const course = await courseByInviteHash(client, hashCode(code));
      if (!course?.inviteExpiresAt || course.inviteExpiresAt.getTime() <= this.clock().getTime())
        throw invitationNotFound();
      if (await roleIn(client, course.groupId, actor.userId)) return { course, added: false };
      refuseArchived(course, this.clock());
      await addMember(client, course.groupId, actor.userId, groupRoleOf('student'));
      await record(client, actor, 'course.join', { course: course.slug, role: 'student' });
      return { course, added: true };
    });
    if (joined.added) await this.afterRosterChange(joined.course, [actor.userId], [actor.userId]);
    return this.get(actor, joined.course.slug);
  }

  /** What a code would join, without joining (the join page shows it). */
  async peek(code: string) {
    const course = await this.db
      .query(
        `SELECT slug, title, term, invite_expires_at AS "expiresAt", ends_at AS "endsAt"
           FROM courses WHERE invite_hash = $1`,
        [hashCode(code)],
      )
      .then(({ rows }) => rows[0]);
    const now = this.clock();
    if (!course || course.expiresAt.getTime() <= now.getTime()) return undefined;
    return { ...course, archived: isArchived(course.endsAt, now) } as {
      slug: string;
      title: string;
      term: string;
      archived: boolean;
    };
  }

  /**
   * After a committed roster change: views follow the group (the lecture volume comes and goes
   * at once), the grading volume's shares follow the TAs, new students get their copies. A copy
   * that fails is logged; the student fetches it later.
   */
  private async afterRosterChange(course: CourseRecord, touched: number[], students: number[]) {
    await this.groups.membershipChanged(touched);
    await this.volumes
      .syncGrading(course)
      .catch((err) =>
        this.log.warn(
          { err: String(err), course: course.slug },
          'grading volume shares not synced',
        ),
      );
    if (students.length) await this.assignments.distributeTo(course, students);
  }
}

function parseDate(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Invalid('date', `${field} is not an ISO 8601 date`);
  return date;
}

/** Record a roster event in the same transaction as the change; the subject is whom it changed. */
export function record(
  client: Queryable,
  actor: Actor,
  type: string,
  payload: ActivityPayload,
  subjectId = actor.userId,
): Promise<void> {
  return recordActivity(client, {
    type,
    userId: subjectId,
    actorId: actor.userId,
    address: actor.address,
    payload,
  });
}
