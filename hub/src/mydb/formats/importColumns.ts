/**
 * What the importers share: the columns a file declares, checked as PostgreSQL names, and the
 * CSV they turn rows into for `COPY FROM STDIN (FORMAT csv)` (NULL unquoted and empty, every
 * value quoted, so an empty string stays one).
 */
import { Transform } from 'node:stream';
import { Invalid } from '../../errors.ts';

export interface ImportedColumn {
  name: string;
  /** A PostgreSQL type from this module's own list, never the file's text. */
  type: string;
  unit: string | null;
  description: string | null;
}

/** Names PostgreSQL accepts (1–63 bytes, no NUL), each once. */
export function checkColumnNames(names: readonly string[]): void {
  if (names.length === 0) throw new Invalid('malformed_file', 'The file declares no columns');
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name.length === 0 || Buffer.byteLength(name) > 63 || name.includes('\0'))
      throw new Invalid(
        'malformed_file',
        `Column ${i + 1}: "${name.slice(0, 80)}" is not a column name (1 to 63 bytes)`,
      );
    if (seen.has(name)) throw new Invalid('malformed_file', `Column "${name}" appears twice`);
    seen.add(name);
  });
}

/** One CSV field for COPY: null as nothing, anything else quoted. */
export function csvField(value: string | null): string {
  return value === null ? '' : `"${value.replace(/"/g, '""')}"`;
}

/** A format's reader: bytes of the file in, CSV rows out, its columns known before the first row. */
export abstract class FileToCsv extends Transform {
  readonly columns: Promise<ImportedColumn[]>;
  protected declareColumns!: (columns: ImportedColumn[]) => void;
  private rejectColumns!: (err: Error) => void;
  private declared = false;

  constructor() {
    super({ readableHighWaterMark: 256 * 1024 });
    this.columns = new Promise((resolve, reject) => {
      this.declareColumns = (columns) => {
        checkColumnNames(columns.map((column) => column.name));
        this.declared = true;
        resolve(columns);
      };
      this.rejectColumns = reject;
    });
    // Nobody may be waiting yet: a failure is reported where it is awaited.
    this.columns.catch(() => undefined);
    this.on('error', (err) => this.rejectColumns(err));
    this.on('end', () => {
      if (!this.declared)
        this.rejectColumns(new Invalid('malformed_file', 'The file ended before its table began'));
    });
  }
}
