/**
 * The rows of a VOTable's BINARY and BINARY2 serializations (VOTable 1.4, section 5.4): the
 * STREAM's base64 decoded as it arrives, then per row each FIELD's value, big-endian, in the
 * FIELD's order. BINARY2 puts a null flag per field before each row (a bit per field, the first
 * field in the highest bit); BINARY has none, so NULL is the FIELD's `VALUES null` for
 * integers, NaN for a scalar float, '?' or a NUL byte for a boolean, and an empty string.
 *
 * Each value comes out as the text PostgreSQL reads for its column: numbers as digits, booleans
 * as t/f, strings as they are, arrays as array literals (`{1,2,NULL}`). A FIELD with an
 * `arraysize` other than 1 is an array (a string for char and unicodeChar); `*` makes it of
 * variable length, preceded by its element count as a 32-bit integer; `3x2` is six elements.
 */
import { Invalid } from '../../errors.ts';

export interface BinaryField {
  name: string;
  datatype: string;
  arraysize: string | null;
  /** `VALUES null="…"`: the integer that stands for NULL. */
  nullValue: string | null;
}

/** Bytes per element of each datatype (bit is handled apart: eight to a byte). */
const WIDTH: Record<string, number> = {
  boolean: 1,
  unsignedByte: 1,
  short: 2,
  int: 4,
  long: 8,
  float: 4,
  double: 8,
  char: 1,
  unicodeChar: 2,
};

/** How many elements a FIELD holds: `fixed` for one or a fixed array, or a count read per row. */
export function elementsOf(arraysize: string | null): { variable: boolean; fixed: number } {
  if (arraysize === null || arraysize === '') return { variable: false, fixed: 1 };
  const dims = arraysize.split('x');
  const variable = dims[dims.length - 1]!.endsWith('*');
  let fixed = 1;
  for (const dim of dims) {
    const size = dim.replace(/\*$/, '');
    if (size === '' && dim.endsWith('*')) continue;
    if (!/^\d+$/.test(size)) throw new Error(`arraysize "${arraysize}" is not one VOTable allows`);
    fixed *= Number(size);
  }
  return { variable, fixed };
}

/** Is a FIELD of this datatype and arraysize an array (not a scalar, not a string)? */
export function isArrayField(datatype: string, arraysize: string | null): boolean {
  if (datatype === 'char' || datatype === 'unicodeChar') return false;
  const { variable, fixed } = elementsOf(arraysize);
  return variable || fixed !== 1;
}

type Cell = string | null;

interface FieldReader {
  /** Reads the field at `at`; the cell and where the field ends, or null if not all here. */
  read(data: Buffer, at: number): { cell: Cell; end: number } | null;
}

/** One element of a numeric or boolean datatype, as PostgreSQL's text, or null (NULL). */
function elementReader(field: BinaryField): (data: Buffer, at: number) => Cell {
  const isNull = (value: bigint | number) =>
    field.nullValue !== null && String(value) === field.nullValue.trim();
  switch (field.datatype) {
    case 'boolean':
      return (data, at) => {
        const c = String.fromCharCode(data[at]!);
        if (c === 'T' || c === 't' || c === '1') return 't';
        if (c === 'F' || c === 'f' || c === '0') return 'f';
        return null;
      };
    case 'unsignedByte':
      return (data, at) => (isNull(data[at]!) ? null : String(data[at]!));
    case 'short':
      return (data, at) => {
        const value = data.readInt16BE(at);
        return isNull(value) ? null : String(value);
      };
    case 'int':
      return (data, at) => {
        const value = data.readInt32BE(at);
        return isNull(value) ? null : String(value);
      };
    case 'long':
      return (data, at) => {
        const value = data.readBigInt64BE(at);
        return isNull(value) ? null : String(value);
      };
    case 'float':
      return (data, at) => floatText(data.readFloatBE(at));
    case 'double':
      return (data, at) => floatText(data.readDoubleBE(at));
    default:
      throw new Error(`datatype "${field.datatype}" is not one MyDB imports`);
  }
}

function floatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return String(value);
}

/** How to read one FIELD from a row; `flagged` (BINARY2): NULL is flagged, NaN and '' are values. */
function fieldReader(field: BinaryField, flagged: boolean): FieldReader {
  const { variable, fixed } = elementsOf(field.arraysize);
  /** The element count at `at` and where the elements start, or null if not all here. */
  const counted = (data: Buffer, at: number): { count: number; start: number } | null => {
    if (!variable) return { count: fixed, start: at };
    if (at + 4 > data.length) return null;
    return { count: data.readUInt32BE(at), start: at + 4 };
  };
  if (field.datatype === 'char' || field.datatype === 'unicodeChar') {
    const width = WIDTH[field.datatype]!;
    return {
      read(data, at) {
        const place = counted(data, at);
        if (!place) return null;
        const end = place.start + place.count * width;
        if (end > data.length) return null;
        let text: string;
        if (width === 1) text = data.toString('utf8', place.start, end);
        else {
          // UCS-2, big-endian: swapped into the little-endian order Node decodes.
          const bytes = Buffer.from(data.subarray(place.start, end));
          text = bytes.swap16().toString('utf16le');
        }
        // A fixed-length string is padded with NULs.
        text = text.replace(/\0+$/u, '');
        return { cell: text === '' && !flagged ? null : text, end };
      },
    };
  }
  if (field.datatype === 'bit') {
    return {
      read(data, at) {
        const place = counted(data, at);
        if (!place) return null;
        const end = place.start + Math.ceil(place.count / 8);
        if (end > data.length) return null;
        const bits: string[] = [];
        for (let i = 0; i < place.count; i++)
          bits.push(data[place.start + (i >> 3)]! & (0x80 >> (i & 7)) ? 't' : 'f');
        if (variable || fixed !== 1) return { cell: `{${bits.join(',')}}`, end };
        // A single bit: the standard puts it in the highest bit, astropy in 0x08; any set is true.
        return { cell: data[place.start] ? 't' : 'f', end };
      },
    };
  }
  const width = WIDTH[field.datatype];
  if (width === undefined) throw new Error(`datatype "${field.datatype}" is not one MyDB imports`);
  const element = elementReader(field);
  if (!variable && fixed === 1) {
    const nanIsNull = !flagged && (field.datatype === 'float' || field.datatype === 'double');
    return {
      read(data, at) {
        if (at + width > data.length) return null;
        const cell = element(data, at);
        // A scalar float's NULL is NaN in BINARY (BINARY2 flags it instead, read first).
        return { cell: nanIsNull && cell === 'NaN' ? null : cell, end: at + width };
      },
    };
  }
  return {
    read(data, at) {
      const place = counted(data, at);
      if (!place) return null;
      const end = place.start + place.count * width;
      if (end > data.length) return null;
      const cells: string[] = [];
      for (let i = 0; i < place.count; i++)
        cells.push(element(data, place.start + i * width) ?? 'NULL');
      return { cell: `{${cells.join(',')}}`, end };
    },
  };
}

/** The rows of a BINARY or BINARY2 STREAM, fed its base64 text as it arrives. */
export class BinaryRows {
  private readonly readers: FieldReader[];
  /** Base64 characters not yet decoded (fewer than four). */
  private base64 = '';
  /** Decoded bytes not yet read (a row cut by the chunk). */
  private bytes: Buffer = Buffer.alloc(0);

  constructor(
    fields: readonly BinaryField[],
    /** BINARY2: null flags before each row. */
    private readonly flagged: boolean,
  ) {
    if (fields.length === 0) throw new Invalid('malformed_file', 'The TABLE declares no FIELD');
    this.readers = fields.map((field) => {
      try {
        return fieldReader(field, flagged);
      } catch (err) {
        throw new Invalid('malformed_file', `FIELD "${field.name}": ${(err as Error).message}`);
      }
    });
  }

  /** Bytes decoded but not yet read: a row the stream cut short if it ends now. */
  get pending(): number {
    return this.bytes.length + this.base64.length;
  }

  /** The rows completed by `text` (more of the STREAM's base64). */
  push(text: string): Cell[][] {
    const clean = this.base64 + text.replace(/[^A-Za-z0-9+/=]/g, '');
    const whole = clean.length - (clean.length % 4);
    this.base64 = clean.slice(whole);
    if (whole === 0) return [];
    const decoded = Buffer.from(clean.slice(0, whole), 'base64');
    const data = this.bytes.length ? Buffer.concat([this.bytes, decoded]) : decoded;
    const rows: Cell[][] = [];
    let at = 0;
    for (;;) {
      const row = this.readRow(data, at);
      if (!row) break;
      rows.push(row.cells);
      at = row.end;
    }
    this.bytes = Buffer.from(data.subarray(at));
    return rows;
  }

  private readRow(data: Buffer, at: number): { cells: Cell[]; end: number } | null {
    const count = this.readers.length;
    let offset = at;
    let flags: Buffer | null = null;
    if (this.flagged) {
      const flagBytes = Math.ceil(count / 8);
      if (offset + flagBytes > data.length) return null;
      flags = data.subarray(offset, offset + flagBytes);
      offset += flagBytes;
    }
    const cells: Cell[] = [];
    for (let i = 0; i < count; i++) {
      const field = this.readers[i]!.read(data, offset);
      if (!field) return null;
      const flaggedNull = flags !== null && (flags[i >> 3]! & (0x80 >> (i & 7))) !== 0;
      cells.push(flaggedNull ? null : field.cell);
      offset = field.end;
    }
    return { cells, end: offset };
  }
}
