/**
 * FITS binary table import: the HDUs before the first BINTABLE are skipped, its TTYPE/TFORM/
 * TUNIT/TCOMM/TNULL become columns (unit and description for the comment), each row a CSV row
 * for COPY, read as it arrives. Columns of one value of L, B, I, J, K, E, D and strings (rA) are
 * imported, with the standard TZERO offsets of unsigned integers, and so are vectors of them
 * (`3D`: a PostgreSQL array); bits, complex, heap (variable-length) arrays and other scalings are
 * refused with a 400 naming the column.
 */
import type { TransformCallback } from 'node:stream';
import { Invalid } from '../../errors.ts';
import { BLOCK } from './fits.ts';
import { csvField, FileToCsv, type ImportedColumn } from './importColumns.ts';

type Header = Map<string, string | number | boolean>;

/** The cards of one header, or null if its END has not arrived within `data`. */
export function parseHeader(data: Buffer): { header: Header; bytes: number } | null {
  const header: Header = new Map();
  for (let at = 0; at + 80 <= data.length; at += 80) {
    const line = data.toString('latin1', at, at + 80);
    const key = line.slice(0, 8).trim();
    if (key === 'END') {
      const bytes = Math.ceil((at + 80) / BLOCK) * BLOCK;
      // The header's padding must have arrived too, or what follows it would be misread.
      return bytes <= data.length ? { header, bytes } : null;
    }
    if (line.slice(8, 10) !== '= ') continue;
    const raw = line.slice(10).trim();
    if (raw.startsWith("'")) {
      const match = /^'((?:[^']|'')*)'/.exec(raw);
      header.set(key, (match?.[1] ?? '').replace(/''/g, "'").trimEnd());
    } else {
      const value = raw.split('/')[0]!.trim();
      if (value === 'T' || value === 'F') header.set(key, value === 'T');
      // An integer beyond a double's precision (a 64-bit TNULL) is kept as its digits.
      else if (/^[+-]?\d{16,}$/.test(value)) header.set(key, value);
      else header.set(key, Number(value));
    }
  }
  return null;
}

/** Bytes of the data unit after a header (padded to the block). */
function dataBytes(header: Header): number {
  const axes = Number(header.get('NAXIS') ?? 0);
  if (axes === 0) return 0;
  let count = 1;
  for (let i = 1; i <= axes; i++) count *= Number(header.get(`NAXIS${i}`) ?? 0);
  const bits = Math.abs(Number(header.get('BITPIX') ?? 8));
  const bytes =
    (bits / 8) * Number(header.get('GCOUNT') ?? 1) * (Number(header.get('PCOUNT') ?? 0) + count);
  return Math.ceil(bytes / BLOCK) * BLOCK;
}

interface Reader {
  width: number;
  read(data: Buffer, at: number): string | null;
}

const UNSIGNED_ZERO: Record<string, { zero: bigint; type: string }> = {
  I: { zero: 32768n, type: 'integer' },
  J: { zero: 2147483648n, type: 'bigint' },
  K: { zero: 9223372036854775808n, type: 'numeric(20,0)' },
};

/** A vector's elements as a PostgreSQL array literal (`{1,NULL,3}`). */
function arrayLiteral(elements: readonly (string | null)[]): string {
  return `{${elements.map((element) => element ?? 'NULL').join(',')}}`;
}

/**
 * The column's type and how to read its value from a row. A column of `r` values (TFORM `rE`,
 * r > 1) is a vector: a one-dimensional PostgreSQL array of the element's type, TNULL and NaN
 * elements kept as NULL and NaN.
 */
export function columnReader(header: Header, n: number): { type: string; reader: Reader } {
  const name = String(header.get(`TTYPE${n}`) ?? `col${n}`);
  const tform = String(header.get(`TFORM${n}`) ?? '');
  const match = /^\s*(\d*)([A-Z])/.exec(tform);
  const refuse = (why: string) =>
    new Invalid('malformed_file', `Column ${n} ("${name}", TFORM ${tform}): ${why}`);
  if (!match) throw refuse('not a binary table format');
  const repeat = match[1] === '' ? 1 : Number(match[1]);
  const code = match[2]!;
  if (code === 'A') {
    return {
      type: 'text',
      reader: {
        width: repeat,
        read: (data, at) => data.toString('utf8', at, at + repeat).replace(/[\0 ]+$/u, ''),
      },
    };
  }
  if (repeat === 0) throw refuse('columns of no values (repeat 0) are not imported');
  const element = elementReader(header, n, code, refuse);
  if (repeat === 1) return element;
  const width = element.reader.width;
  return {
    type: `${element.type}[]`,
    reader: {
      width: width * repeat,
      read: (data, at) => {
        const values: (string | null)[] = [];
        for (let i = 0; i < repeat; i++) values.push(element.reader.read(data, at + i * width));
        return arrayLiteral(values);
      },
    },
  };
}

/** The type and reader of one value of TFORM code `code` (L, B, I, J, K, E, D). */
function elementReader(
  header: Header,
  n: number,
  code: string,
  refuse: (why: string) => Invalid,
): { type: string; reader: Reader } {
  const tnull = header.get(`TNULL${n}`);
  const scale = Number(header.get(`TSCAL${n}`) ?? 1);
  const zero = header.has(`TZERO${n}`) ? BigInt(String(header.get(`TZERO${n}`))) : 0n;
  if (scale !== 1) throw refuse('scaled columns (TSCAL) are not imported');
  const unsigned = zero === 0n ? undefined : UNSIGNED_ZERO[code];
  if (zero !== 0n && (!unsigned || unsigned.zero !== zero) && !(code === 'B' && zero === -128n))
    throw refuse(`TZERO ${zero} is not imported (only the unsigned-integer offsets)`);
  const isNull = (value: bigint) => tnull !== undefined && value === BigInt(String(tnull));
  const integer = (
    width: number,
    get: (data: Buffer, at: number) => bigint,
    type: string,
  ): { type: string; reader: Reader } => ({
    type: unsigned?.type ?? type,
    reader: {
      width,
      read: (data, at) => {
        const value = get(data, at);
        return isNull(value) ? null : String(value + zero);
      },
    },
  });
  const float = (width: number, get: (data: Buffer, at: number) => number, type: string) => ({
    type,
    reader: {
      width,
      read: (data: Buffer, at: number) => {
        const value = get(data, at);
        return Number.isNaN(value)
          ? 'NaN'
          : Number.isFinite(value)
            ? String(value)
            : value > 0
              ? 'Infinity'
              : '-Infinity';
      },
    },
  });
  switch (code) {
    case 'L':
      return {
        type: 'boolean',
        reader: {
          width: 1,
          read: (data, at) => (data[at] === 0x54 ? 't' : data[at] === 0x46 ? 'f' : null),
        },
      };
    case 'B':
      // TZERO -128 makes the unsigned byte a signed one (the stored byte minus 128).
      return integer(1, (data, at) => BigInt(data[at]!), 'smallint');
    case 'I':
      return integer(2, (data, at) => BigInt(data.readInt16BE(at)), 'smallint');
    case 'J':
      return integer(4, (data, at) => BigInt(data.readInt32BE(at)), 'integer');
    case 'K':
      return integer(8, (data, at) => data.readBigInt64BE(at), 'bigint');
    case 'E':
      return float(4, (data, at) => data.readFloatBE(at), 'real');
    case 'D':
      return float(8, (data, at) => data.readDoubleBE(at), 'double precision');
    default:
      throw refuse('this column type is not imported');
  }
}

export class FitsToCsv extends FileToCsv {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes still to skip (a data unit before the table). */
  private skip = 0;
  private primarySeen = false;
  private readers: Reader[] | null = null;
  private rowBytes = 0;
  private rowsLeft = 0;
  private rowsTotal = 0;

  override _transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
    try {
      let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      const out: string[] = [];
      for (;;) {
        if (this.skip > 0) {
          const skipped = Math.min(this.skip, data.length);
          this.skip -= skipped;
          data = data.subarray(skipped);
          if (this.skip > 0) break;
        }
        if (this.readers) {
          let at = 0;
          while (this.rowsLeft > 0 && at + this.rowBytes <= data.length) {
            out.push(
              `${this.readers.map((reader, i) => csvField(reader.read(data, at + this.offsets[i]!))).join(',')}\n`,
            );
            at += this.rowBytes;
            this.rowsLeft--;
          }
          data = this.rowsLeft === 0 ? Buffer.alloc(0) : data.subarray(at);
          break;
        }
        if (!this.primarySeen && data.length >= 9 && data.toString('latin1', 0, 9) !== 'SIMPLE  =')
          throw new Invalid('malformed_file', 'Not a FITS file: it does not begin with SIMPLE = T');
        const parsed = parseHeader(data);
        if (!parsed) {
          if (data.length > 100 * BLOCK)
            throw new Invalid('malformed_file', 'No END card within the first 100 header blocks');
          break;
        }
        data = data.subarray(parsed.bytes);
        this.startHdu(parsed.header);
      }
      this.pending = Buffer.from(data);
      done(null, out.join(''));
    } catch (err) {
      done(err as Error);
    }
  }

  private offsets: number[] = [];

  private startHdu(header: Header): void {
    if (!this.primarySeen) {
      if (header.get('SIMPLE') !== true)
        throw new Invalid('malformed_file', 'Not a FITS file: it does not begin with SIMPLE = T');
      this.primarySeen = true;
      this.skip = dataBytes(header);
      return;
    }
    if (header.get('XTENSION') !== 'BINTABLE') {
      this.skip = dataBytes(header);
      return;
    }
    const fields = Number(header.get('TFIELDS') ?? 0);
    const columns: ImportedColumn[] = [];
    const readers: Reader[] = [];
    for (let n = 1; n <= fields; n++) {
      const { type, reader } = columnReader(header, n);
      const unit = header.get(`TUNIT${n}`);
      const description = header.get(`TCOMM${n}`);
      columns.push({
        name: String(header.get(`TTYPE${n}`) ?? `col${n}`),
        type,
        unit: unit ? String(unit) : null,
        description: description ? String(description) : null,
      });
      readers.push(reader);
    }
    this.offsets = [];
    let offset = 0;
    for (const reader of readers) {
      this.offsets.push(offset);
      offset += reader.width;
    }
    this.rowBytes = Number(header.get('NAXIS1') ?? 0);
    if (offset !== this.rowBytes)
      throw new Invalid(
        'malformed_file',
        `NAXIS1 is ${this.rowBytes} but the columns take ${offset} bytes`,
      );
    this.rowsTotal = this.rowsLeft = Number(header.get('NAXIS2') ?? 0);
    this.readers = readers;
    this.declareColumns(columns);
  }

  override _flush(done: TransformCallback): void {
    if (!this.readers) {
      done(new Invalid('malformed_file', 'The file has no binary table (BINTABLE) extension'));
      return;
    }
    if (this.rowsLeft > 0) {
      done(
        new Invalid(
          'malformed_file',
          `The file ended at row ${this.rowsTotal - this.rowsLeft + 1} of ${this.rowsTotal}`,
        ),
      );
      return;
    }
    done();
  }
}
