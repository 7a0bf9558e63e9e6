/**
 * The Run-as-job dialog's Sweep field (docs/jobs.md, "Sweeps"): many jobs from one notebook,
 * one per parameter set. Either a JSON list of objects, or one set a line: `name = value`
 * assignments separated by `;` (Python literals, as in the Parameters field) or a JSON object.
 * Empty: no sweep, one job. Errors are 400 `HubError`s naming the line.
 */
import { HubError } from '../api.js';
import type { JobParameters } from '../tokens.js';
import { parseLiteral } from './parameters.js';

/** The most sets one sweep may have (the hub's limit). */
export const MAX_SWEEP_SETS = 1000;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^([^=]*?)\s*=(?!=)([\s\S]*)$/;

const invalid = (message: string) => new HubError(400, 'invalid_input', message);

/** `text` cut at each `;` that is outside quotes and brackets. */
function splitSets(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
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
    } else if ('([{'.includes(c)) {
      depth++;
    } else if (')]}'.includes(c)) {
      depth--;
    } else if (c === ';' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

function checkedSet(value: unknown, where: string): JobParameters {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${where}: a parameter set is an object of name: value.`);
  }
  for (const name of Object.keys(value)) {
    if (!NAME.test(name)) {
      throw invalid(`${where}: "${name}" is not a parameter name (letters, digits, _).`);
    }
  }
  return value as JobParameters;
}

function lineSet(line: string, where: string): JobParameters {
  if (line.startsWith('{')) {
    try {
      return checkedSet(JSON.parse(line), where);
    } catch (e) {
      throw e instanceof HubError ? e : invalid(`${where}: not a JSON object (${String(e)}).`);
    }
  }
  const set: JobParameters = {};
  for (const part of splitSets(line)) {
    const m = ASSIGNMENT.exec(part);
    const name = m?.[1]?.trim() ?? '';
    if (!m || !NAME.test(name)) {
      throw invalid(`${where}: "${part}" is not name = value.`);
    }
    try {
      set[name] = parseLiteral(m[2]!);
    } catch (e) {
      throw invalid(`${where}, ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return set;
}

/** The sets the Sweep field gives, or null when it is empty (a single job). */
export function readSweep(text: string): JobParameters[] | null {
  const trimmed = text.trim();
  if (!trimmed) {
    return null;
  }
  let sets: JobParameters[];
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch (e) {
      throw invalid(`Sweep: not a JSON list (${String(e)}).`);
    }
    if (!Array.isArray(list)) {
      throw invalid('Sweep: not a JSON list.');
    }
    sets = list.map((set, i) => checkedSet(set, `Sweep set ${i + 1}`));
  } else {
    sets = [];
    trimmed.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (t && !t.startsWith('#')) {
        sets.push(lineSet(t, `Sweep line ${i + 1}`));
      }
    });
  }
  if (sets.length === 0) {
    throw invalid('Sweep: give at least one parameter set, or leave it empty for one job.');
  }
  if (sets.length > MAX_SWEEP_SETS) {
    throw invalid(`Sweep: at most ${MAX_SWEEP_SETS} parameter sets (${sets.length} given).`);
  }
  return sets;
}
