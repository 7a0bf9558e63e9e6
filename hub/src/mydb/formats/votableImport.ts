/**
 * VOTable import (VOTable 1.1–1.4; TABLEDATA, BINARY and BINARY2 serializations): the first
 * TABLE's FIELDs become columns (datatype → PostgreSQL type, unit and DESCRIPTION kept for the
 * column's comment), each row a CSV row for COPY. `VALUES null="…"` marks a field's null value;
 * an empty TD is NULL. A field with an `arraysize` (not char) is a PostgreSQL array of its type
 * (TABLEDATA: its values separated by spaces). BINARY and BINARY2 rows are read by
 * votableBinary.ts from the base64 STREAM as it arrives; the FITS serialization, a STREAM that
 * points elsewhere (`href`) or is not base64 are refused with a 400 naming them.
 */
import type { TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { Invalid } from '../../errors.ts';
import { csvField, FileToCsv, type ImportedColumn } from './importColumns.ts';
import { BinaryRows, isArrayField } from './votableBinary.ts';

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
  arraysize: string | null;
  array: boolean;
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
  /** The BINARY or BINARY2 rows being read, inside their STREAM. */
  private binary: BinaryRows | null = null;
  private serialization: 'BINARY' | 'BINARY2' | null = null;
  private inStream = false;
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
        let array: boolean;
        try {
          array = isArrayField(datatype, arraysize);
        } catch (err) {
          return this.fail(`FIELD "${fieldName}": ${(err as Error).message}`);
        }
        this.field = {
          name: fieldName,
          type: array ? `${type}[]` : type,
          unit: attr('unit'),
          description: null,
          nullValue: null,
          datatype,
          arraysize,
          array,
        };
        this.fields.push(this.field);
      } else if (name === 'DESCRIPTION' && this.field) this.text = '';
      else if (name === 'VALUES' && this.field) this.field.nullValue = attr('null');
      else if (name === 'FITS')
        this.fail('The FITS serialization is not imported; write TABLEDATA, BINARY or BINARY2');
      else if (name === 'TABLEDATA') this.startData();
      else if (name === 'BINARY' || name === 'BINARY2') {
        this.serialization = name;
        this.startData();
      } else if (name === 'STREAM' && this.serialization && !this.binary) {
        if (attr('href'))
          return this.fail('A STREAM that points elsewhere (href) is not imported; put it inline');
        const encoding = attr('encoding') ?? 'base64';
        if (encoding !== 'base64')
          return this.fail(`A STREAM encoded as "${encoding}" is not imported; use base64`);
        try {
          this.binary = new BinaryRows(this.fields, this.serialization === 'BINARY2');
        } catch (err) {
          return this.fail((err as Error).message);
        }
        this.inStream = true;
      } else if (name === 'TR' && this.inData) this.row = [];
      else if (name === 'TD' && this.row) this.text = '';
    });
    parser.on('text', (text) => {
      if (this.inStream) this.binaryText(text);
      else if (this.text !== null) this.text += text;
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
      } else if (name === 'STREAM' && this.inStream) {
        this.inStream = false;
        if (this.binary!.pending > 0)
          this.fail(`The ${this.serialization} stream ends inside row ${this.rows + 1}`);
      } else if (name === 'TABLE') this.inTable = false;
    });
    parser.on('error', (err) => {
      this.fail(`The XML is malformed: ${err.message}`);
    });
  }

  private startData(): void {
    this.inData = true;
    this.declareColumns(
      this.fields.map(({ name, type, unit, description }) => ({ name, type, unit, description })),
    );
  }

  /** More of a BINARY or BINARY2 STREAM: its completed rows become CSV (cells already PostgreSQL's text). */
  private binaryText(text: string): void {
    let rows: (string | null)[][];
    try {
      rows = this.binary!.push(text);
    } catch (err) {
      this.fail(`Row ${this.rows + 1}: ${(err as Error).message}`);
      return;
    }
    for (const cells of rows) {
      this.rows++;
      this.out.push(`${cells.map(csvField).join(',')}\n`);
    }
  }

  /** A TABLEDATA array's values (separated by spaces) as a PostgreSQL array literal. */
  private arrayOf(field: Field, text: string): string {
    const elements = text.trim().split(/\s+/u);
    const values = elements.map((element) => {
      if (element === field.nullValue) return 'NULL';
      if (field.type === 'boolean[]') return booleanOf(element) ?? 'NULL';
      return numberOf(element);
    });
    return `{${values.join(',')}}`;
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
        if (field.array) return csvField(this.arrayOf(field, text));
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
    if (!this.failure && !this.inData)
      this.fail('The VOTable has no TABLEDATA, BINARY or BINARY2 data');
    if (!this.failure && this.inStream) this.fail(`The ${this.serialization} stream is cut short`);
    if (this.failure) {
      done(this.failure);
      return;
    }
    done(null, this.out.join(''));
  }
}
