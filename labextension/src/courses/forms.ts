/**
 * The Course panel's forms as plain values, and the pure rules that turn them into hub
 * requests: slugs, dates, roster input. Each refusal is a 400 `invalid_input` HubError with a
 * sentence for the dialog, so a bad value is answered before any request is made.
 */
import { HubError } from '../api.js';
import type { AssignmentMode, INewAssignment, IVolumeFolder } from '../tokens.js';

/** The hub's rule for course slugs and assignment names (docs/courses.md). */
const SLUG = /^[a-z0-9][a-z0-9-]{0,39}$/;

const invalid = (message: string) => new HubError(400, 'invalid_input', message);

export function checkSlug(value: string, what: string): string {
  const slug = value.trim();
  if (!SLUG.test(slug)) {
    throw invalid(
      `${what} is 1-40 lower-case letters, digits or "-", starting with a letter or digit.`,
    );
  }
  return slug;
}

/**
 * An ISO instant from a date or date-time field (`2026-03-01` or `2026-03-01T09:00`, read in
 * the browser's time zone, as the field shows it); "" gives null.
 */
export function instantOf(value: string, what: string): string | null {
  const text = value.trim();
  if (!text) {
    return null;
  }
  // A bare date means the end of nothing in particular: midnight, local time.
  const local = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text;
  const t = new Date(local);
  if (Number.isNaN(t.getTime())) {
    throw invalid(`${what} is not a date: "${text}".`);
  }
  return t.toISOString();
}

/** `YYYY-MM-DDTHH:mm` in local time: the value a datetime-local field shows for `date`. */
export function localInputValue(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}` +
    `T${p(date.getHours())}:${p(date.getMinutes())}`
  );
}

export interface ICourseValues {
  slug: string;
  title: string;
  term: string;
  endsAt: string;
}

export function courseRequest(v: ICourseValues): {
  slug: string;
  title: string;
  term?: string;
  ends_at: string;
} {
  const slug = checkSlug(v.slug, 'A course short name');
  const title = v.title.trim();
  if (!title) {
    throw invalid('Please give the course a title.');
  }
  const endsAt = instantOf(v.endsAt, 'The end date');
  if (!endsAt) {
    throw invalid('Please give the date the course ends (it is archived read-only then).');
  }
  const term = v.term.trim();
  return { slug, title, ...(term ? { term } : {}), ends_at: endsAt };
}

export interface IDistributeValues {
  name: string;
  title: string;
  /** A file-browser path: a workspace folder or `volumes/<root>/<owner>/<volume>/…`. */
  source: string;
  mode: AssignmentMode;
  releaseAt: string;
  dueAt: string;
}

/**
 * The request of the Distribute dialog. `folderOf` maps the source's browser path to a folder
 * in a volume (see paths.ts); a path outside every volume is refused.
 */
export function distributeRequest(
  v: IDistributeValues,
  folderOf: (browserPath: string) => IVolumeFolder | null,
): INewAssignment {
  const name = checkSlug(v.name, 'An assignment name');
  if (v.mode !== 'lecture' && v.mode !== 'copy') {
    throw invalid('Distribute as a read-only lecture folder or as a copy for each student.');
  }
  const source = folderOf(v.source.trim());
  if (!source?.path) {
    throw invalid(
      'The source is a folder in your workspace or in a volume (volumes/<root>/<owner>/<volume>/…), ' +
        'not a volume’s top.',
    );
  }
  const releaseAt = instantOf(v.releaseAt, 'The release date');
  const dueAt = instantOf(v.dueAt, 'The due date');
  if (releaseAt && dueAt && dueAt <= releaseAt) {
    throw invalid('The due date must come after the release date.');
  }
  const title = v.title.trim();
  return {
    name,
    ...(title ? { title } : {}),
    source,
    mode: v.mode,
    ...(releaseAt ? { release_at: releaseAt } : {}),
    ...(dueAt ? { due_at: dueAt } : {}),
  };
}

export interface IGradeValues {
  score: string;
  comment: string;
}

/** A score ("" clears it) and a comment. */
export function gradeRequest(v: IGradeValues): { score: number | null; comment: string } {
  const text = v.score.trim();
  const score = text === '' ? null : Number(text);
  if (score !== null && !Number.isFinite(score)) {
    throw invalid(`A score is a number: "${text}".`);
  }
  return { score, comment: v.comment.trim() };
}

/**
 * What was typed or pasted into the roster box: user names separated by spaces, commas or
 * lines go as `names`; anything with an e-mail address or a header line goes as `csv` (one
 * entry a line), which the hub resolves. Nothing at all is refused.
 */
export function rosterEntries(text: string): { names: string[] } | { csv: string } {
  const entries = text
    .split(/[\s,;]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw invalid('Give one or more user names or e-mail addresses.');
  }
  const header = /^(username|email)$/i.test(entries[0]!);
  if (header || entries.some((e) => e.includes('@'))) {
    return { csv: `${entries.join('\n')}\n` };
  }
  return { names: [...new Set(entries)] };
}
