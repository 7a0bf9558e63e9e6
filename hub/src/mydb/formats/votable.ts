/**
 * VOTable 1.4 (IVOA) written as TABLEDATA: one RESOURCE with one TABLE, a FIELD per column with
 * its datatype, unit and description (from the column's comment), rows as TR/TD. NULL is an
 * empty TD, which VOTable 1.3+ reads as null for every datatype.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { RecordBatch } from 'apache-arrow';
import { kindOf, type ResultColumn } from './arrowTypes.ts';
import { BatchCells, type Cell } from './cells.ts';

const DATATYPE = {
  bool: 'boolean',
  int16: 'short',
  int32: 'int',
  int64: 'long',
  uint32: 'long',
  float32: 'float',
  float64: 'double',
  date: 'char',
  timestamp: 'char',
  text: 'unicodeChar',
} as const;

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Text safe in XML content and attributes; characters XML 1.0 cannot carry are dropped. */
export function xmlEscape(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/gu, '')
      .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)
  );
}

export function votableHead(
  table: string,
  description: string | null,
  columns: readonly ResultColumn[],
): string {
  const fields = columns.map((column) => {
    const kind = kindOf(column.typeOid);
    const attributes = [
      `name="${xmlEscape(column.name)}"`,
      `datatype="${DATATYPE[kind]}"`,
      ...(DATATYPE[kind].endsWith('har') ? ['arraysize="*"'] : []),
      ...(kind === 'timestamp' ? ['xtype="timestamp"'] : kind === 'date' ? ['xtype="date"'] : []),
      ...(column.unit ? [`unit="${xmlEscape(column.unit)}"`] : []),
    ];
    const about = column.description
      ? `<DESCRIPTION>${xmlEscape(column.description)}</DESCRIPTION>`
      : '';
    return about
      ? `<FIELD ${attributes.join(' ')}>${about}</FIELD>`
      : `<FIELD ${attributes.join(' ')}/>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
    '<RESOURCE type="results">',
    `<TABLE name="${xmlEscape(table)}">`,
    ...(description ? [`<DESCRIPTION>${xmlEscape(description)}</DESCRIPTION>`] : []),
    ...fields,
    '<DATA><TABLEDATA>',
    '',
  ].join('\n');
}

export const VOTABLE_TAIL = '</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n';

function td(cell: Cell): string {
  if (cell === null) return '<TD/>';
  if (typeof cell === 'boolean') return cell ? '<TD>T</TD>' : '<TD>F</TD>';
  if (typeof cell === 'string') return `<TD>${xmlEscape(cell)}</TD>`;
  // Numbers as JavaScript writes them (shortest exact round trip); bigint whole.
  if (cell === Number.POSITIVE_INFINITY) return '<TD>+Inf</TD>';
  if (cell === Number.NEGATIVE_INFINITY) return '<TD>-Inf</TD>';
  return `<TD>${String(cell)}</TD>`;
}

export function votableRows(batch: RecordBatch, columns: readonly ResultColumn[]): string {
  const cells = new BatchCells(batch, columns);
  const lines: string[] = [];
  for (let row = 0; row < cells.rows; row++) {
    let line = '<TR>';
    for (let column = 0; column < columns.length; column++) line += td(cells.at(row, column));
    lines.push(`${line}</TR>\n`);
  }
  return lines.join('');
}

/** Record batches in, the VOTable's bytes out. */
export class VotableStream extends Transform {
  constructor(
    private readonly columns: readonly ResultColumn[],
    table: string,
    description: string | null,
  ) {
    super({ writableObjectMode: true, writableHighWaterMark: 2 });
    this.push(votableHead(table, description, columns));
  }

  override _transform(batch: RecordBatch, _encoding: string, done: TransformCallback): void {
    done(null, votableRows(batch, this.columns));
  }

  override _flush(done: TransformCallback): void {
    done(null, VOTABLE_TAIL);
  }
}
