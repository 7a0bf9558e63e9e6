/**
 * Parameters of a notebook job, as papermill takes them: the notebook's cell tagged
 * `parameters` holds `name = value` lines (the defaults); the Run-as-job dialog shows those
 * lines for editing, and only the names whose value changed (or that are new) are sent, so a
 * default that is an expression (`n = 2 ** 10`) stays the notebook's own. Values are Python
 * literals (numbers, strings, True/False/None, lists, tuples, dicts), turned into JSON here.
 */
import { HubError } from '../api.js';
import type { JobParameters, JobParameterValue } from '../tokens.js';

/** The tag papermill reads. */
export const PARAMETERS_TAG = 'parameters';

/** One `name = value` assignment: the value as written. */
export interface IAssignment {
  name: string;
  value: string;
}

/** The source of the first code cell tagged `parameters` of a notebook's JSON, or null. */
export function parameterCellOf(notebook: unknown): string | null {
  const cells = (notebook as { cells?: unknown })?.cells;
  if (!Array.isArray(cells)) {
    return null;
  }
  for (const cell of cells as {
    cell_type?: string;
    metadata?: { tags?: unknown };
    source?: unknown;
  }[]) {
    const tags = cell?.metadata?.tags;
    if (cell?.cell_type === 'code' && Array.isArray(tags) && tags.includes(PARAMETERS_TAG)) {
      return Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
    }
  }
  return null;
}

/** Brackets still open in `text`, outside strings and comments. */
function openBrackets(text: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') {
        i++;
      } else if (c === quote) {
        quote = null;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') {
        i++;
      }
    } else if ('([{'.includes(c)) {
      depth++;
    } else if (')]}'.includes(c)) {
      depth--;
    }
  }
  return depth;
}

/** `# comments` removed, to the end of each line (not a `#` inside a string). */
function withoutComment(text: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') {
        out += c + (text[++i] ?? '');
        continue;
      }
      if (c === quote) {
        quote = null;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#') {
      while (i + 1 < text.length && text[i + 1] !== '\n') {
        i++;
      }
      continue;
    }
    out += c;
  }
  return out;
}

/** Lines joined where brackets stay open, so a value may span lines. */
function logicalLines(source: string): string[] {
  const lines = source.split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    while (openBrackets(line) > 0 && i + 1 < lines.length) {
      line += `\n${lines[++i]!}`;
    }
    out.push(line);
  }
  return out;
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=(?!=)([\s\S]*)$/;

/**
 * The `name = value` assignments of a cell, in order (a value may span lines inside brackets).
 * Lines that are not simple assignments (imports, comments) are skipped; an annotation
 * (`n: int = 3`) is read as papermill does; a later assignment of the same name wins.
 */
export function readAssignments(source: string): IAssignment[] {
  const found = new Map<string, string>();
  for (const line of logicalLines(source)) {
    const m = ASSIGNMENT.exec(line);
    const value = m ? withoutComment(m[2]!).trim() : '';
    if (m && value) {
      found.delete(m[1]!);
      found.set(m[1]!, value);
    }
  }
  return [...found].map(([name, value]) => ({ name, value }));
}

/** The assignments as dialog text, one per line. */
export function assignmentsText(assignments: IAssignment[]): string {
  return assignments.map((a) => `${a.name} = ${a.value}`).join('\n');
}

const invalid = (message: string) => new HubError(400, 'invalid_input', message);

/** A Python literal as JSON; throws a 400 `HubError` saying what is wrong. */
export function parseLiteral(text: string): JobParameterValue {
  let i = 0;
  const src = text.trim();
  const fail = (what: string): never => {
    throw invalid(`${what} at character ${i + 1} of ${JSON.stringify(src)}`);
  };
  const space = () => {
    while (i < src.length && /\s/.test(src[i]!)) {
      i++;
    }
  };
  const string = (): string => {
    let prefix = '';
    while (/[rRuU]/.test(src[i] ?? '')) {
      prefix += src[i++]!.toLowerCase();
    }
    const raw = prefix.includes('r');
    const q = src[i]!;
    const triple = src.startsWith(q.repeat(3), i);
    i += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (i >= src.length) {
        fail('An unterminated string');
      }
      if (triple ? src.startsWith(q.repeat(3), i) : src[i] === q) {
        i += triple ? 3 : 1;
        return out;
      }
      const c = src[i++]!;
      if (c !== '\\' || raw) {
        out += c;
        continue;
      }
      const e = src[i++];
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        '0': '\0',
        '\\': '\\',
        "'": "'",
        '"': '"',
        '\n': '',
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
      } else if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = src.slice(i, i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) {
          fail('A bad escape');
        }
        out += String.fromCharCode(Number.parseInt(hex, 16));
        i += n;
      } else {
        out += `\\${e ?? ''}`;
      }
    }
  };
  const sequence = (close: string, isDict: boolean): JobParameterValue => {
    i++;
    const items: JobParameterValue[] = [];
    const dict: { [name: string]: JobParameterValue } = {};
    for (;;) {
      space();
      if (src[i] === close) {
        i++;
        return isDict ? dict : items;
      }
      if (isDict) {
        const key = value();
        if (typeof key !== 'string') {
          fail('A dict key that is not a string');
        }
        space();
        if (src[i] !== ':') {
          fail('A missing ":"');
        }
        i++;
        dict[key as string] = value();
      } else {
        items.push(value());
      }
      space();
      if (src[i] === ',') {
        i++;
      } else if (src[i] !== close) {
        fail(`A missing "," or "${close}"`);
      }
    }
  };
  const value = (): JobParameterValue => {
    space();
    const c = src[i];
    if (c === undefined) {
      return fail('A missing value');
    }
    if (c === '[') {
      return sequence(']', false);
    }
    if (c === '(') {
      return sequence(')', false);
    }
    if (c === '{') {
      return sequence('}', true);
    }
    if (/^[rRuU]*['"]/.test(src.slice(i, i + 3))) {
      return string();
    }
    const word = /^[-+]?[A-Za-z0-9_.]+(?:[eE][-+]?[0-9_]+)?/.exec(src.slice(i))?.[0] ?? '';
    i += word.length;
    const words: Record<string, JobParameterValue> = { True: true, False: false, None: null };
    if (word in words) {
      return words[word]!;
    }
    const digits = word.replace(/(?<=[0-9])_(?=[0-9])/g, '');
    if (/^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(digits)) {
      return Number(digits);
    }
    return fail('Not a literal (a number, a string in quotes, True, False, None, a list or dict)');
  };
  const result = value();
  space();
  if (i < src.length) {
    fail('Unexpected text');
  }
  return result;
}

/**
 * What to send: the assignments of the edited text whose value differs from the cell's
 * default (or that the cell lacks), parsed. Throws a 400 `HubError` naming the line at fault.
 */
export function changedParameters(edited: string, defaults: IAssignment[]): JobParameters {
  const before = new Map(defaults.map((a) => [a.name, a.value]));
  const out: JobParameters = {};
  for (const line of logicalLines(edited)) {
    const text = withoutComment(line).trim();
    if (text && !ASSIGNMENT.test(text)) {
      throw invalid(`Not a "name = value" line: ${text}`);
    }
  }
  for (const { name, value } of readAssignments(edited)) {
    if (before.get(name) === value) {
      continue;
    }
    try {
      out[name] = parseLiteral(value);
    } catch (e) {
      throw invalid(`The value of ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}
