/**
 * The teacher's course volumes, made and shared through the files service like any volume a
 * user shares (so they appear, and disappear, live in members' views): the lecture volume
 * `course-<slug>`, shared READ with the course's group, and the grading volume
 * `course-<slug>-grading`, shared read-write with each TA (and with nobody else).
 */
import type { Actor } from '../auth/actor.ts';
import type { Db } from '../db/pool.ts';
import { NotFound } from '../errors.ts';
import type { FilesService } from '../files/service.ts';
import type { ResolvedVolume } from '../files/volumes.ts';
import { gradingVolumeName, lectureVolumeName } from './access.ts';
import type { CourseRecord } from './store.ts';
import { rosterOf } from './store.ts';

const STORAGE = 'Storage';

export const teacherOf = (course: CourseRecord): Actor => ({
  userId: course.teacherId,
  admin: false,
  address: null,
});

export class CourseVolumes {
  constructor(
    private readonly db: Db,
    private readonly files: FilesService,
  ) {}

  /** The teacher's volume `name`, made on first use; undefined when `make` is false and it is missing. */
  private async own(course: CourseRecord, name: string, make: boolean) {
    const teacher = teacherOf(course);
    const ref = { root: STORAGE, owner: course.teacher, volume: name };
    try {
      return await this.files.write(teacher, ref);
    } catch (err) {
      if (!(err instanceof NotFound) || !make) {
        if (err instanceof NotFound) return undefined;
        throw err;
      }
    }
    await this.files.volumes.create(
      teacher,
      STORAGE,
      name,
      `Course ${course.slug}: ${course.title}`.slice(0, 2000),
    );
    return this.files.write(teacher, ref);
  }

  /** The lecture volume, made and shared READ with the course's group on first use. */
  async lecture(course: CourseRecord): Promise<ResolvedVolume> {
    const volume = (await this.own(course, lectureVolumeName(course.slug), true))!;
    const shares = await this.files.volumes.shares(
      teacherOf(course),
      STORAGE,
      course.teacher,
      volume.name,
    );
    if (!shares.some((share) => share.group?.id === course.groupId))
      await this.files.volumes.share(teacherOf(course), STORAGE, course.teacher, volume.name, {
        group: course.groupId,
        access: 'read',
      });
    return volume;
  }

  /** The grading volume, made on first use, its shares matching the TAs. */
  async grading(course: CourseRecord): Promise<ResolvedVolume> {
    const volume = (await this.own(course, gradingVolumeName(course.slug), true))!;
    await this.syncGrading(course);
    return volume;
  }

  /**
   * Share the grading volume read-write with every TA and with nobody else (a TA removed or made
   * a student loses it at once). Nothing to do before the volume exists.
   */
  async syncGrading(course: CourseRecord): Promise<void> {
    const name = gradingVolumeName(course.slug);
    const volume = await this.own(course, name, false);
    if (!volume) return;
    const teacher = teacherOf(course);
    const tas = (await rosterOf(this.db, course.groupId))
      .filter((member) => member.role === 'ADMIN')
      .map((member) => member.name);
    const shares = await this.files.volumes.shares(teacher, STORAGE, course.teacher, name);
    for (const ta of tas) {
      const held = shares.find((share) => share.user === ta);
      if (held?.access !== 'read_write')
        await this.files.volumes.share(teacher, STORAGE, course.teacher, name, {
          user: ta,
          access: 'read_write',
        });
    }
    for (const share of shares) {
      if (share.user !== null && !tas.includes(share.user))
        await this.files.volumes.unshare(teacher, STORAGE, course.teacher, name, {
          user: share.user,
        });
    }
  }

  /** A member's default Storage volume (their workspace), made on first use. */
  workspace(userId: number, name: string): Promise<ResolvedVolume> {
    return this.files.volumes.resolve(userId, STORAGE, name, 'persistent', 'write');
  }
}
