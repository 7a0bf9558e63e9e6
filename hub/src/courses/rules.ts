/**
 * The pure rules of a course, unit-tested: roles and who may change whom, the date rules
 * (released, late, archived), names, the roster's CSV, and which links a copy keeps. The
 * services ask these and never re-derive them.
 */
import path from 'node:path';
import { Forbidden, Invalid } from '../errors.ts';
import type { Role } from '../groups/roles.ts';

export type CourseRole = 'teacher' | 'ta' | 'student';

const FROM_GROUP: Record<Role, CourseRole> = { OWNER: 'teacher', ADMIN: 'ta', MEMBER: 'student' };
const TO_GROUP: Record<CourseRole, Role> = { teacher: 'OWNER', ta: 'ADMIN', student: 'MEMBER' };

/** A course is a group: its OWNER teaches, its ADMINs assist, its MEMBERs take it. */
export const courseRoleOf = (role: Role | null): CourseRole | null =>
  role === null ? null : FROM_GROUP[role];
export const groupRoleOf = (role: CourseRole): Role => TO_GROUP[role];

export const isStaff = (role: CourseRole | null) => role === 'teacher' || role === 'ta';

/** Teachers add and remove TAs and students; TAs add and remove students; nobody removes a teacher. */
export function mayManage(actor: CourseRole | null, target: CourseRole): boolean {
  if (target === 'teacher') return false;
  if (target === 'ta') return actor === 'teacher';
  return isStaff(actor);
}

/** Students and TAs may leave; the teacher stays (delete the course instead). */
export const mayLeave = (role: CourseRole) => role !== 'teacher';

/** Staff only, or 403 `not_staff` (the caller is a member: the course's existence is no secret). */
export function requireStaff(role: CourseRole): void {
  if (!isStaff(role))
    throw new Forbidden('not_staff', 'Only the course’s teacher and TAs may do this');
}

export function requireTeacher(role: CourseRole): void {
  if (role !== 'teacher')
    throw new Forbidden('not_teacher', 'Only the course’s teacher may do this');
}

// Date rules: every comparison takes `now` from the injected clock.

/** Archived from its end date on: read-only. */
export const isArchived = (endsAt: Date, now: Date) => now.getTime() >= endsAt.getTime();
/** Released from its release date on (the sweeper or the next read distributes it). */
export const isDue = (releaseAt: Date, now: Date) => now.getTime() >= releaseAt.getTime();
/** Late: submitted after the due date (at the due date exactly is in time). */
export const isLate = (dueAt: Date | null, submittedAt: Date) =>
  dueAt !== null && submittedAt.getTime() > dueAt.getTime();

/** A course slug and an assignment name: they name folders and appear in paths. */
export const SLUG = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function checkSlug(value: string, what: 'slug' | 'name'): string {
  if (!SLUG.test(value))
    throw new Invalid(
      what === 'slug' ? 'course_slug' : 'assignment_name',
      `A ${what === 'slug' ? 'course slug' : 'assignment name'} is 1-40 lower-case letters, digits and "-", starting with a letter or digit`,
    );
  return value;
}

/** An assignment's dates: due after release, and both parseable. */
export function checkDates(releaseAt: Date, dueAt: Date | null): void {
  if (Number.isNaN(releaseAt.getTime()) || (dueAt && Number.isNaN(dueAt.getTime())))
    throw new Invalid('date', 'Dates are ISO 8601 timestamps');
  if (dueAt && dueAt.getTime() <= releaseAt.getTime())
    throw new Invalid('due_before_release', 'The due date must come after the release date');
}

export const DEFAULT_INVITE_HOURS = 168;
export const MAX_INVITE_HOURS = 2160;

export function inviteHours(hours: number | undefined): number {
  const chosen = hours ?? DEFAULT_INVITE_HOURS;
  if (!Number.isInteger(chosen) || chosen < 1 || chosen > MAX_INVITE_HOURS)
    throw new Invalid('invitation_hours', `An invitation lives 1 to ${MAX_INVITE_HOURS} hours`);
  return chosen;
}

/** Entries in one roster request at most. */
export const MAX_ROSTER_ENTRIES = 2000;

/**
 * The entries of a roster request: names, and a CSV with one username or email per line (the
 * first column; a header line `username` or `email` is skipped; blank lines too). Trimmed,
 * first occurrence kept.
 */
export function rosterEntries(names: readonly string[] = [], csv = ''): string[] {
  const fromCsv = csv
    .split(/\r?\n/)
    .map((line) =>
      (line.split(',')[0] ?? '')
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    )
    .filter(
      (entry, i) => entry !== '' && !(i === 0 && /^(username|email|user|name)$/i.test(entry)),
    );
  const all = [...names.map((name) => name.trim()).filter(Boolean), ...fromCsv];
  const unique = [...new Set(all)];
  if (unique.length > MAX_ROSTER_ENTRIES)
    throw new Invalid('roster_size', `At most ${MAX_ROSTER_ENTRIES} entries at once`);
  return unique;
}

/**
 * A symbolic link met while copying a tree is copied as a link only when it is relative and
 * points inside the tree being copied (`at`: the link's folder, relative to the tree's top);
 * anything else is left out, so a copy never reaches outside its source.
 */
export function linkStaysInside(at: readonly string[], target: string): boolean {
  if (target === '' || path.posix.isAbsolute(target) || target.includes('\0')) return false;
  const resolved = path.posix.normalize(path.posix.join(...at, target));
  return resolved !== '..' && !resolved.startsWith('../') && resolved !== '.';
}

/** One CSV field: quoted when it holds a comma, quote or line break; formulas defused. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  // A spreadsheet runs a cell starting with = + - @ as a formula: a comment could carry one.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
