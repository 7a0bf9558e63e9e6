/**
 * CSV import: the header line names the columns (read here, up to 1 MiB), PostgreSQL's own CSV
 * parser reads the rest into text columns, and then each column takes the narrowest type all
 * its values fit (boolean, bigint, double precision, date, timestamp, timestamptz, else text),
 * decided by one pass over the table and applied by one rewrite, in the import's transaction.
 */
import { Readable } from 'node:stream';
import pg from 'pg';
import { Invalid } from '../../errors.ts';
import type { ImportedColumn } from './importColumns.ts';

const HEADER_LIMIT = 1024 * 1024;

/** The first CSV record's fields, or null if `text` does not hold a whole record yet. */
export function parseCsvHeader(text: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      fields.push(field);
      return fields;
    } else field += c;
  }
  return null;
}

/** The header's column names, and the whole file (header included) to stream on. */
export async function readCsvHeader(body: Readable): Promise<{ header: string[]; rest: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let header: string[] | null = null;
  const iterator = body[Symbol.asyncIterator]();
  while (!header) {
    const next = await iterator.next();
    if (next.done) {
      const text = Buffer.concat(chunks).toString('utf8');
      header = text.trim() ? parseCsvHeader(`${text}\n`) : null;
      if (!header)
        throw new Invalid('malformed_file', 'The CSV file is empty: line 1 must name the columns');
      break;
    }
    chunks.push(next.value as Buffer);
    size += (next.value as Buffer).length;
    header = parseCsvHeader(Buffer.concat(chunks).toString('utf8'));
    if (!header && size > HEADER_LIMIT)
      throw new Invalid('malformed_file', 'Line 1 (the header) is longer than 1 MiB');
  }
  const names = header.map((name) => name.trim());
  async function* all() {
    yield Buffer.concat(chunks);
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { header: names, rest: Readable.from(all(), { objectMode: false }) };
}

const INTEGER = String.raw`^\s*[+-]?\d{1,19}\s*$`;
const FLOAT = String.raw`^\s*([+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)|[+-]?(inf|infinity)|nan)\s*$`;
const BOOLEAN = String.raw`^\s*(true|false|t|f)\s*$`;
const DATE = String.raw`^\d{4}-\d\d-\d\d$`;
const TIMESTAMP = String.raw`^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?$`;
const TIMESTAMPTZ = String.raw`^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d(:?\d\d)?)$`;

/** The types a text column may take, in order of preference; `check` runs only on a match. */
const CANDIDATES: {
  type: string;
  match: (column: string) => string;
  check?: (column: string) => string;
}[] = [
  { type: 'boolean', match: (c) => `${c} ~* '${BOOLEAN}'` },
  {
    type: 'bigint',
    match: (c) => `${c} ~ '${INTEGER}'`,
    check: (c) =>
      `length(trim(${c})) < 19 OR trim(${c})::numeric BETWEEN -9223372036854775808 AND 9223372036854775807`,
  },
  { type: 'double precision', match: (c) => `${c} ~* '${FLOAT}'` },
  { type: 'date', match: (c) => `${c} ~ '${DATE}'` },
  { type: 'timestamp', match: (c) => `${c} ~ '${TIMESTAMP}'` },
  { type: 'timestamp with time zone', match: (c) => `${c} ~ '${TIMESTAMPTZ}'` },
];

/**
 * Give each text column of `target` the narrowest type all its values fit; a column with no
 * values stays text. Returns the columns with their types.
 */
export async function inferCsvTypes(
  client: pg.ClientBase,
  target: string,
  columns: readonly ImportedColumn[],
): Promise<ImportedColumn[]> {
  if (!columns.length) return [];
  const tests = columns.flatMap((column, i) => {
    const name = pg.escapeIdentifier(column.name);
    return [
      `count(${name}) AS n${i}`,
      ...CANDIDATES.map(
        (candidate, j) =>
          // CASE: the check's cast only ever meets a value that matched.
          `bool_and(CASE WHEN ${name} IS NULL THEN true WHEN ${candidate.match(name)} THEN ${candidate.check?.(name) ?? 'true'} ELSE false END) AS t${i}_${j}`,
      ),
    ];
  });
  const { rows } = await client.query(`SELECT ${tests.join(', ')} FROM ${target}`);
  const found = rows[0];
  const typed = columns.map((column, i) => {
    if (Number(found[`n${i}`]) === 0) return { ...column, type: 'text' };
    const fit = CANDIDATES.findIndex((_, j) => found[`t${i}_${j}`] === true);
    return { ...column, type: fit === -1 ? 'text' : CANDIDATES[fit]!.type };
  });
  const changes = typed
    .filter((column) => column.type !== 'text')
    .map((column) => {
      const name = pg.escapeIdentifier(column.name);
      const value =
        column.type === 'boolean' || column.type === 'bigint' || column.type === 'double precision'
          ? `trim(${name})`
          : name;
      return `ALTER COLUMN ${name} TYPE ${column.type} USING ${value}::${column.type}`;
    });
  if (changes.length) await client.query(`ALTER TABLE ${target} ${changes.join(', ')}`);
  return typed;
}
