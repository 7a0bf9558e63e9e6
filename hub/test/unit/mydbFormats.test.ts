/**
 * MyDB's format writers and readers without a database: PostgreSQL's binary COPY into Arrow
 * (fed a byte at a time), FITS cards and rows, VOTable rows and parsing, the CSV header.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { arrowSchemaOf, PG, type ResultColumn } from '../../src/mydb/formats/arrowTypes.ts';
import { isoFromMicros } from '../../src/mydb/formats/cells.ts';
import { CopyBinaryToArrow } from '../../src/mydb/formats/copyBinary.ts';
import { parseCsvHeader } from '../../src/mydb/formats/csvImport.ts';
import { BLOCK, card, FitsStream, fitsLayout, headerBlock } from '../../src/mydb/formats/fits.ts';
import { FitsToCsv, parseHeader } from '../../src/mydb/formats/fitsImport.ts';
import { csvField } from '../../src/mydb/formats/importColumns.ts';
import { VotableStream, xmlEscape } from '../../src/mydb/formats/votable.ts';
import { type BinaryField, BinaryRows } from '../../src/mydb/formats/votableBinary.ts';
import { VotableToCsv } from '../../src/mydb/formats/votableImport.ts';
import { asSubquery } from '../../src/mydb/resultStream.ts';

const BIG = 9007199254740993n; // 2^53 + 1

const COLUMNS: ResultColumn[] = [
  { name: 'id', typeOid: PG.INT8, type: 'bigint', unit: null, description: 'Identifier' },
  { name: 'ra', typeOid: PG.FLOAT8, type: 'double precision', unit: 'deg', description: null },
  { name: 'name', typeOid: PG.TEXT, type: 'text' },
  { name: 'ok', typeOid: PG.BOOL, type: 'boolean' },
  { name: 'seen', typeOid: PG.TIMESTAMPTZ, type: 'timestamp with time zone' },
  { name: 'n', typeOid: PG.INT4, type: 'integer' },
];

/** A binary COPY stream of rows as PostgreSQL writes it. */
function copyBinary(rows: (Buffer | null)[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const value of row) {
      const length = Buffer.alloc(4);
      length.writeInt32BE(value === null ? -1 : value.length);
      parts.push(length, ...(value ? [value] : []));
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const int8 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
const float8 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b;
};
const int4 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};

/** 2026-12-01 22:40:00.123456 UTC in PostgreSQL's microseconds since 2000. */
const SEEN_PG = BigInt(Date.UTC(2026, 11, 1, 22, 40) - Date.UTC(2000, 0, 1)) * 1000n + 123456n;

const ROWS = copyBinary([
  [int8(BIG), float8(279.2347), Buffer.from('Vega'), Buffer.from([1]), int8(SEEN_PG), int4(7)],
  [int8(-BIG), null, Buffer.from('α CMa'), Buffer.from([0]), null, null],
  [int8(3n), float8(Number.NaN), null, null, int8(0x7fffffffffffffffn), int4(-1)],
]);

/** The batches `bytes` decode to, fed in chunks of `size` bytes. */
async function decode(bytes: Buffer, size: number, batchRows?: number): Promise<RecordBatch[]> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const decoder = new CopyBinaryToArrow(arrowSchemaOf(COLUMNS), COLUMNS, batchRows);
  const batches: RecordBatch[] = [];
  Readable.from(chunks).pipe(decoder);
  for await (const batch of decoder) batches.push(batch as RecordBatch);
  return batches;
}

test('binary COPY becomes Arrow, a byte at a time: 64-bit integers whole, NULLs, epochs moved', async () => {
  for (const size of [1, 7, ROWS.length]) {
    const [batch, ...more] = await decode(ROWS, size);
    assert.equal(more.length, 0);
    assert.equal(batch!.numRows, 3);
    const id = batch!.getChild('id')!;
    assert.deepEqual([id.get(0), id.get(1), id.get(2)], [BIG, -BIG, 3n]);
    assert.equal(batch!.getChild('ra')!.get(0), 279.2347);
    assert.equal(batch!.getChild('ra')!.get(1), null);
    assert.ok(Number.isNaN(batch!.getChild('ra')!.get(2)));
    assert.deepEqual(
      [0, 1, 2].map((i) => batch!.getChild('name')!.get(i)),
      ['Vega', 'α CMa', null],
    );
    assert.deepEqual(
      [0, 1, 2].map((i) => batch!.getChild('ok')!.get(i)),
      [true, false, null],
    );
    const seen = batch!.getChild('seen')!;
    assert.equal(seen.data[0]!.values[0], BigInt(Date.UTC(2026, 11, 1, 22, 40)) * 1000n + 123456n);
    assert.equal(seen.get(1), null);
    // +infinity has no Arrow timestamp: NULL.
    assert.equal(seen.isValid(2), false);
    assert.deepEqual(
      [0, 1, 2].map((i) => batch!.getChild('n')!.get(i)),
      [7, null, -1],
    );
  }
});

test('binary COPY is cut into batches of the given size', async () => {
  const batches = await decode(ROWS, 5, 2);
  assert.deepEqual(
    batches.map((b) => b.numRows),
    [2, 1],
  );
  assert.equal(batches[1]!.getChild('id')!.get(0), 3n);
});

test('long text split over many chunks, and text batches larger than the last one, decode whole', async () => {
  const text: ResultColumn[] = [{ name: 'note', typeOid: PG.TEXT, type: 'text' }];
  const values = [10, 20_000, 5, 70_000, 3].map((n, i) => String.fromCharCode(97 + i).repeat(n));
  const bytes = copyBinary(values.map((value) => [Buffer.from(value)]));
  for (const size of [3000, 5000, 65_536]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    // One row per batch: each batch's first guess of its text size is the last one's.
    const decoder = new CopyBinaryToArrow(arrowSchemaOf(text), text, 1);
    Readable.from(chunks).pipe(decoder);
    const got: string[] = [];
    for await (const batch of decoder) got.push((batch as RecordBatch).getChild('note')!.get(0));
    assert.deepEqual(got, values, `chunks of ${size} bytes`);
  }
});

test('a stream that is not binary COPY, or ends mid-row, fails', async () => {
  await assert.rejects(decode(Buffer.from('id,ra\n1,2\n'.padEnd(40)), 64), /Not a binary COPY/);
  await assert.rejects(decode(ROWS.subarray(0, ROWS.length - 10), 64), /mid-row/);
});

test('timestamps as ISO 8601 with every microsecond, before 1970 too', () => {
  assert.equal(isoFromMicros(0n), '1970-01-01T00:00:00');
  assert.equal(isoFromMicros(-1n), '1969-12-31T23:59:59.999999');
  assert.equal(
    isoFromMicros(BigInt(Date.UTC(2026, 11, 1, 22, 40)) * 1000n + 123456n),
    '2026-12-01T22:40:00.123456',
  );
});

test('FITS cards are 80 characters, strings quoted with quotes doubled, ASCII only', () => {
  assert.equal(card('NAXIS2', 3), `NAXIS2  = ${'3'.padStart(20)}`.padEnd(80));
  assert.equal(card('SIMPLE', true), `SIMPLE  = ${'T'.padStart(20)}`.padEnd(80));
  assert.equal(card('TTYPE1', "it's"), "TTYPE1  = 'it''s   '".padEnd(80));
  assert.equal(card('TUNIT1', 'µm').slice(0, 20), "TUNIT1  = '?m      '");
  assert.equal(card('TCOMM1', 'x'.repeat(200)).length, 80);
  assert.equal(headerBlock([card('A', 1)]).length, BLOCK);
  const parsed = parseHeader(headerBlock([card('TTYPE1', "it's"), card('NAXIS2', 3)]));
  assert.deepEqual(
    parsed?.header,
    new Map<string, string | number | boolean>([
      ['TTYPE1', "it's"],
      ['NAXIS2', 3],
    ]),
  );
});

/** A FITS file of ROWS written by FitsStream. */
async function fitsFile(): Promise<Buffer> {
  const [batch] = await decode(ROWS, ROWS.length);
  const layout = fitsLayout(COLUMNS, [0, 0, 6, 0, 0, 0]);
  assert.deepEqual(
    layout.map((c) => c.tform),
    ['K', 'D', '6A', 'L', '27A', 'J'],
  );
  const stream = new FitsStream(COLUMNS, layout, 'stars', 3);
  const parts: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => parts.push(chunk));
  stream.end(batch);
  await new Promise((resolve) => stream.on('end', resolve));
  return Buffer.concat(parts);
}

test('FITS rows are big-endian with TNULL for NULL integers; the file is whole blocks', async () => {
  const file = await fitsFile();
  assert.equal(file.length % BLOCK, 0);
  const header = file.toString('latin1', BLOCK, 2 * BLOCK);
  assert.match(header, /NAXIS1 {2}=\s+54 /);
  assert.match(header, /TUNIT2 {2}= 'deg {5}'/);
  assert.match(header, /TCOMM1 {2}= 'Identifier'/);
  assert.match(header, /TNULL6 {2}=\s+-2147483648/);
  const data = file.subarray(2 * BLOCK);
  assert.equal(data.readBigInt64BE(0), BIG);
  assert.equal(data.readDoubleBE(8), 279.2347);
  assert.equal(data.toString('utf8', 16, 22).replace(/\0+$/, ''), 'Vega');
  assert.equal(data.toString('latin1', 22, 23), 'T');
  assert.equal(data.toString('latin1', 23, 50), '2026-12-01T22:40:00.123456Z');
  assert.equal(data.readInt32BE(54 + 50), -2147483648);
  assert.equal(data.readInt32BE(2 * 54 + 50), -1);
  assert.equal(data.readBigInt64BE(2 * 54), 3n);
});

test('FITS read back, a few bytes at a time: columns, units, NULLs', async () => {
  const file = await fitsFile();
  for (const size of [13, file.length]) {
    const reader = new FitsToCsv();
    const chunks: Buffer[] = [];
    for (let i = 0; i < file.length; i += size) chunks.push(file.subarray(i, i + size));
    Readable.from(chunks).pipe(reader);
    let csv = '';
    for await (const chunk of reader) csv += chunk;
    const columns = await reader.columns;
    assert.deepEqual(
      columns.map((c) => [c.name, c.type, c.unit]),
      [
        ['id', 'bigint', null],
        ['ra', 'double precision', 'deg'],
        ['name', 'text', null],
        ['ok', 'boolean', null],
        ['seen', 'text', null],
        ['n', 'integer', null],
      ],
    );
    assert.equal(columns[0]!.description, 'Identifier');
    assert.equal(
      csv,
      `"${BIG}","279.2347","Vega","t","2026-12-01T22:40:00.123456Z","7"\n` +
        `"-${BIG}","NaN","α CMa","f","",\n` +
        `"3","NaN","",,"","-1"\n`,
    );
  }
});

test('VOTable rows: NULL as an empty TD, text escaped, infinities as VOTable writes them', async () => {
  const [batch] = await decode(ROWS, ROWS.length);
  const stream = new VotableStream(COLUMNS, 'stars', 'Bright <stars>');
  let xml = '';
  stream.on('data', (chunk) => {
    xml += chunk;
  });
  stream.end(batch);
  await new Promise((resolve) => stream.on('end', resolve));
  assert.match(
    xml,
    /<FIELD name="id" datatype="long"><DESCRIPTION>Identifier<\/DESCRIPTION><\/FIELD>/,
  );
  assert.match(xml, /<FIELD name="ra" datatype="double" unit="deg"\/>/);
  assert.match(xml, /<DESCRIPTION>Bright &lt;stars&gt;<\/DESCRIPTION>/);
  assert.ok(xml.includes(`<TR><TD>${BIG}</TD><TD>279.2347</TD><TD>Vega</TD><TD>T</TD>`));
  assert.ok(xml.includes(`<TR><TD>-${BIG}</TD><TD/><TD>α CMa</TD><TD>F</TD><TD/><TD/></TR>`));
  assert.equal(xmlEscape('a&b"\u0001'), 'a&amp;b&quot;');

  // And read back.
  const reader = new VotableToCsv();
  Readable.from([Buffer.from(xml)]).pipe(reader);
  let csv = '';
  for await (const chunk of reader) csv += chunk;
  assert.deepEqual(
    (await reader.columns).map((c) => [c.name, c.type]),
    [
      ['id', 'bigint'],
      ['ra', 'double precision'],
      ['name', 'text'],
      ['ok', 'boolean'],
      ['seen', 'text'],
      ['n', 'integer'],
    ],
  );
  assert.equal(csv.split('\n')[1], `"-${BIG}",,"α CMa","f",,`);
});

test('VOTable import: VALUES null, arrays, and what is refused with a clear message', async () => {
  const read = async (xml: string) => {
    const reader = new VotableToCsv();
    Readable.from([Buffer.from(xml)]).pipe(reader);
    let csv = '';
    for await (const chunk of reader) csv += chunk;
    return csv;
  };
  const table = (fields: string, data: string) =>
    `<VOTABLE><RESOURCE><TABLE>${fields}<DATA>${data}</DATA></TABLE></RESOURCE></VOTABLE>`;
  assert.equal(
    await read(
      table(
        '<FIELD name="n" datatype="int"><VALUES null="-999"/></FIELD><FIELD name="x" datatype="double"/>',
        '<TABLEDATA><TR><TD>-999</TD><TD>+Inf</TD></TR><TR><TD>4</TD><TD> 1.5 </TD></TR></TABLEDATA>',
      ),
    ),
    ',"Infinity"\n"4","1.5"\n',
  );
  assert.equal(
    await read(
      table(
        '<FIELD name="v" datatype="double" arraysize="3"/><FIELD name="n" datatype="short" arraysize="*"><VALUES null="-1"/></FIELD>',
        '<TABLEDATA><TR><TD> 1 2.5  NaN</TD><TD>4 -1</TD></TR><TR><TD/><TD>7</TD></TR></TABLEDATA>',
      ),
    ),
    '"{1,2.5,NaN}","{4,NULL}"\n,"{7}"\n',
  );
  await assert.rejects(
    read(table('<FIELD name="v" datatype="double"/>', '<BINARY2><STREAM>AA==</STREAM></BINARY2>')),
    /BINARY2 stream ends inside row 1/,
  );
  await assert.rejects(
    read(table('<FIELD name="v" datatype="double"/>', '<FITS><STREAM>AA==</STREAM></FITS>')),
    /FITS serialization/,
  );
  await assert.rejects(
    read(
      table(
        '<FIELD name="v" datatype="double"/>',
        '<BINARY><STREAM href="http://example.org/x"/></BINARY>',
      ),
    ),
    /href/,
  );
  await assert.rejects(
    read(
      table(
        '<FIELD name="v" datatype="int"/>',
        '<TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA>',
      ),
    ),
    /Row 1 has 2 cells/,
  );
});

/** A BINARY2 stream of rows, each `[flags, ...values]`, as base64 cut into `size`-character pieces. */
function binary2(rows: Buffer[][], size: number): string[] {
  const text = Buffer.concat(rows.flat()).toString('base64');
  const pieces: string[] = [];
  // Line breaks inside the base64, as writers put them.
  for (let i = 0; i < text.length; i += size) pieces.push(`${text.slice(i, i + size)}\n `);
  return pieces;
}

test('VOTable BINARY2 rows, fed a few characters at a time: flags, arrays, strings, 64-bit ints', () => {
  const fields: BinaryField[] = [
    { name: 'id', datatype: 'long', arraysize: null, nullValue: null },
    { name: 'n', datatype: 'int', arraysize: null, nullValue: '-999' },
    { name: 'x', datatype: 'double', arraysize: null, nullValue: null },
    { name: 'name', datatype: 'char', arraysize: '*', nullValue: null },
    { name: 'flux', datatype: 'float', arraysize: '3', nullValue: null },
    { name: 'hits', datatype: 'short', arraysize: '2x*', nullValue: '-1' },
    { name: 'ok', datatype: 'boolean', arraysize: null, nullValue: null },
    { name: 'greek', datatype: 'unicodeChar', arraysize: '4', nullValue: null },
  ];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };
  const f4 = (...vs: number[]) => {
    const b = Buffer.alloc(4 * vs.length);
    for (const [i, v] of vs.entries()) b.writeFloatBE(v, i * 4);
    return b;
  };
  const i2 = (...vs: number[]) => {
    const b = Buffer.alloc(2 * vs.length);
    for (const [i, v] of vs.entries()) b.writeInt16BE(v, i * 2);
    return b;
  };
  const ucs2 = (text: string, chars: number) =>
    Buffer.from(text.padEnd(chars, '\0'), 'utf16le').swap16();
  const rows = [
    [
      Buffer.from([0]),
      int8(BIG),
      int4(-999),
      float8(279.25),
      u32(4),
      Buffer.from('Vega'),
      f4(1.5, Number.NaN, -2),
      u32(3),
      i2(7, -1, 9),
      Buffer.from('T'),
      ucs2('αβ', 4),
    ],
    // Flags: x (third field) and ok (seventh) are NULL whatever their bytes say.
    [
      Buffer.from([0b0010_0010]),
      int8(-BIG),
      int4(5),
      float8(Number.NaN),
      u32(0),
      f4(0, 0, 0),
      u32(0),
      Buffer.from('?'),
      ucs2('', 4),
    ],
  ];
  const reader = new BinaryRows(fields, true);
  const out: (string | null)[][] = [];
  for (const piece of binary2(rows, 7)) out.push(...reader.push(piece));
  assert.equal(reader.pending, 0);
  assert.deepEqual(out, [
    [String(BIG), null, '279.25', 'Vega', '{1.5,NaN,-2}', '{7,NULL,9}', 't', 'αβ'],
    [String(-BIG), '5', null, '', '{0,0,0}', '{}', null, ''],
  ]);
  // BINARY (no flags): a scalar NaN and an empty string are NULL.
  const plain = new BinaryRows(fields.slice(2, 4), false);
  const bytes = Buffer.concat([float8(Number.NaN), u32(0)]).toString('base64');
  assert.deepEqual(plain.push(bytes), [[null, null]]);
});

test('the CSV header: quotes, commas and CRLF; incomplete until its line ends', () => {
  assert.deepEqual(parseCsvHeader('a,"b,c","d""e"\r\n1,2,3'), ['a', 'b,c', 'd"e']);
  assert.equal(parseCsvHeader('a,"b\nc'), null);
  assert.deepEqual(parseCsvHeader('a,"b\nc"\n'), ['a', 'b\nc']);
  assert.equal(csvField(null), '');
  assert.equal(csvField(''), '""');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
});

test('the user’s query as a subquery: trailing semicolons off, a final comment kept apart', () => {
  assert.equal(asSubquery('SELECT 1;  \n'), '(\nSELECT 1\n) AS orrery_q');
  assert.equal(asSubquery('SELECT 1 -- note'), '(\nSELECT 1 -- note\n) AS orrery_q');
});
