/**
 * VOTable import (TABLEDATA serialization; VOTable 1.1–1.4): the first TABLE's FIELDs become
 * columns (datatype → PostgreSQL type, unit and DESCRIPTION kept for the column's comment), each
 * TR a CSV row for COPY. `VALUES null="…"` marks a field's null value; an empty TD is NULL.
 * Arrays (an `arraysize` on a non-character field) and the BINARY/BINARY2/FITS serializations
 * are refused with a 400 naming them.
 */
import type { TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { Invalid } from '../../errors.ts';
import { csvField, FileToCsv, type ImportedColumn } from './importColumns.ts';

const TYPES: Record<string, string> = {
  boolean: 'boolean',
  bit: 'boolean',
  unsignedByte: 'smallint',
  short: 'smallint',
  int: 'integer',
  long: 'bigint',
  float: 'real',
  double: 'double precision',
  char: 'text',
  unicodeChar: 'text',
};

interface Field extends ImportedColumn {
  nullValue: string | null;
  datatype: string;
}

/** A VOTable boolean as PostgreSQL reads it; `?`, blank and anything unknown are NULL. */
function booleanOf(text: string): string | null {
  const value = text.trim().toLowerCase();
  if (value === 't' || value === 'true' || value === '1') return 't';
  if (value === 'f' || value === 'false' || value === '0') return 'f';
  return null;
}

/** A number's text as PostgreSQL reads it (VOTable writes infinities as +Inf / -Inf). */
function numberOf(text: string): string {
  const value = text.trim();
  if (/^\+?inf$/i.test(value)) return 'Infinity';
  if (/^-inf$/i.test(value)) return '-Infinity';
  return value;
}

export class VotableToCsv extends FileToCsv {
  private readonly parser = new SaxesParser({ xmlns: false });
  private readonly decoder = new StringDecoder('utf8');
  private fields: Field[] = [];
  private tables = 0;
  private inTable = false;
  private inData = false;
  private field: Field | null = null;
  private text: string | null = null;
  private row: (string | null)[] | null = null;
  private rows = 0;
  private out: string[] = [];
  private failure: Error | null = null;

  constructor() {
    super();
    const parser = this.parser;
    parser.on('opentag', (tag) => {
      const name = tag.name.replace(/^.*:/, '');
      const attr = (key: string) => (tag.attributes[key] as string | undefined) ?? null;
      if (name === 'TABLE') {
        this.tables++;
        this.inTable = this.tables === 1;
      } else if (!this.inTable) return;
      else if (name === 'FIELD') {
        const datatype = attr('datatype') ?? '';
        const type = TYPES[datatype];
        const fieldName = attr('name') ?? '';
        if (!type)
          return this.fail(`FIELD "${fieldName}": datatype "${datatype}" is not one MyDB imports`);
        const arraysize = attr('arraysize');
        if (arraysize && arraysize !== '1' && type !== 'text')
          return this.fail(
            `FIELD "${fieldName}": arrays (arraysize="${arraysize}") are not imported`,
          );
        this.field = {
          name: fieldName,
          type,
          unit: attr('unit'),
          description: null,
          nullValue: null,
          datatype,
        };
        this.fields.push(this.field);
      } else if (name === 'DESCRIPTION' && this.field) this.text = '';
      else if (name === 'VALUES' && this.field) this.field.nullValue = attr('null');
      else if (name === 'BINARY' || name === 'BINARY2' || name === 'FITS')
        this.fail(`The ${name} serialization is not imported; write the VOTable as TABLEDATA`);
      else if (name === 'TABLEDATA') {
        this.inData = true;
        this.declareColumns(
          this.fields.map(({ name, type, unit, description }) => ({
            name,
            type,
            unit,
            description,
          })),
        );
      } else if (name === 'TR' && this.inData) this.row = [];
      else if (name === 'TD' && this.row) this.text = '';
    });
    parser.on('text', (text) => {
      if (this.text !== null) this.text += text;
    });
    parser.on('cdata', (text) => {
      if (this.text !== null) this.text += text;
    });
    parser.on('closetag', (tag) => {
      const name = tag.name.replace(/^.*:/, '');
      if (!this.inTable) return;
      if (name === 'DESCRIPTION' && this.field && this.text !== null) {
        this.field.description = this.text.trim() || null;
        this.text = null;
      } else if (name === 'FIELD') this.field = null;
      else if (name === 'TD' && this.row) {
        this.row.push(this.text ?? '');
        this.text = null;
      } else if (name === 'TR' && this.row) {
        this.rows++;
        this.out.push(this.csvRow(this.row));
        this.row = null;
      } else if (name === 'TABLE') this.inTable = false;
    });
    parser.on('error', (err) => {
      this.fail(`The XML is malformed: ${err.message}`);
    });
  }

  private csvRow(cells: (string | null)[]): string {
    if (cells.length !== this.fields.length)
      this.fail(
        `Row ${this.rows} has ${cells.length} cells; the table has ${this.fields.length} fields`,
      );
    return `${this.fields
      .map((field, i) => {
        const text = cells[i] ?? '';
        // An empty TD is NULL (VOTable 1.3), for text too: the export writes NULL so.
        if (field.type === 'text')
          return csvField(text === '' || text === field.nullValue ? null : text);
        if (text.trim() === '' || text.trim() === field.nullValue) return '';
        if (field.type === 'boolean') return csvField(booleanOf(text));
        return csvField(numberOf(text));
      })
      .join(',')}\n`;
  }

  private fail(message: string): void {
    this.failure ??= new Invalid('malformed_file', message);
  }

  override _transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
    try {
      this.parser.write(this.decoder.write(chunk));
    } catch (err) {
      this.fail(`The XML is malformed: ${(err as Error).message}`);
    }
    if (this.failure) {
      done(this.failure);
      return;
    }
    const out = this.out.join('');
    this.out = [];
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    try {
      this.parser.write(this.decoder.end());
      this.parser.close();
    } catch (err) {
      this.fail(`The XML is malformed: ${(err as Error).message}`);
    }
    if (!this.failure && !this.inData) this.fail('The VOTable has no TABLEDATA');
    if (this.failure) {
      done(this.failure);
      return;
    }
    done(null, this.out.join(''));
  }
}
