/** How courses and assignments read in the panel: statuses, dates, counts. */
import type { IAssignment, ICourse } from '../tokens.js';

export type StudentStatus =
  | 'not-fetched'
  | 'fetched'
  | 'submitted'
  | 'late'
  | 'returned'
  | 'overdue';

/**
 * Where a student stands on an assignment, the most advanced step first: feedback returned,
 * submitted (late or in time), past due without a submission, fetched, not fetched yet.
 */
export function studentStatus(a: IAssignment, now: Date): StudentStatus {
  const mine = a.mine;
  if (mine?.returned_at) {
    return 'returned';
  }
  if (mine?.submitted_at) {
    return mine.late ? 'late' : 'submitted';
  }
  if (a.due_at && new Date(a.due_at).getTime() <= now.getTime()) {
    return 'overdue';
  }
  // A lecture folder needs no fetching: it is in every member's file browser.
  return mine?.fetched || a.mode === 'lecture' ? 'fetched' : 'not-fetched';
}

export const STATUS_LABELS: Record<StudentStatus, string> = {
  'not-fetched': 'not fetched',
  fetched: 'to do',
  submitted: 'submitted',
  late: 'submitted late',
  returned: 'feedback returned',
  overdue: 'overdue',
};

/** `Mar 1, 2026, 09:00` in the browser's locale; "" for none. */
export function formatWhen(iso: string | null | undefined, locale?: string): string {
  if (!iso) {
    return '';
  }
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) {
    return iso;
  }
  return t.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** `3/1/26, 9:00 AM`: a date for a narrow column; "" for none. */
export function formatShort(iso: string | null | undefined, locale?: string): string {
  if (!iso) {
    return '';
  }
  const t = new Date(iso);
  return Number.isNaN(t.getTime())
    ? iso
    : t.toLocaleString(locale, { dateStyle: 'short', timeStyle: 'short' });
}

/** `3 distributed · 2 submitted (1 late) · 0 returned`. */
export function countsText(a: IAssignment): string {
  const c = a.counts;
  if (!c) {
    return '';
  }
  const late = c.late ? ` (${c.late} late)` : '';
  // A lecture is shared, not handed out: there is nothing per student to count as distributed.
  const distributed = a.mode === 'copy' ? `${c.distributed} distributed · ` : '';
  return `${distributed}${c.submitted} submitted${late} · ${c.returned} returned`;
}

export const isStaff = (course: Pick<ICourse, 'role'> | null | undefined): boolean =>
  course?.role === 'teacher' || course?.role === 'ta';

/** `Astro 101 (2026 spring)`. */
export function courseLabel(c: Pick<ICourse, 'title' | 'term' | 'slug'>): string {
  return c.term ? `${c.title} (${c.term})` : c.title || c.slug;
}
