/**
 * The two catalog files the hub loads (docs/mydb.md, "Catalog contexts") and the tables they
 * become. Each column carries its unit and description; the loader writes them as
 * `COMMENT ON COLUMN` in the form `[unit] description`, which the schema browser parses back.
 */

export interface ColumnSpec {
  name: string;
  /** A PostgreSQL type, written into CREATE TABLE as is (constants only, never user input). */
  type: string;
  unit: string | null;
  description: string;
}

export interface TableSpec {
  name: string;
  description: string;
  columns: ColumnSpec[];
  primaryKey: string;
}

const column = (name: string, type: string, unit: string | null, description: string) => ({
  name,
  type,
  unit,
  description,
});

/** KStars' `stars.dat`: Hipparcos and Tycho stars, one fixed-width line each. */
export const STARS_TABLE: TableSpec = {
  name: 'stars',
  description: 'Stars of the Hipparcos and Tycho catalogues brighter than about magnitude 9',
  primaryKey: 'star_id',
  columns: [
    column('star_id', 'integer', null, 'Line number in the source file'),
    column('ra', 'double precision', 'deg', 'Right ascension (J2000)'),
    column('dec', 'double precision', 'deg', 'Declination (J2000)'),
    column(
      'pm_ra',
      'double precision',
      'mas/yr',
      'Proper motion in right ascension (times cos dec)',
    ),
    column('pm_dec', 'double precision', 'mas/yr', 'Proper motion in declination'),
    column('parallax', 'double precision', 'mas', 'Trigonometric parallax'),
    column('mag', 'real', 'mag', 'Visual magnitude (V)'),
    column('b_v', 'real', 'mag', 'B-V colour index'),
    column('spectral_type', 'text', null, 'Spectral type (two characters)'),
    column('multiple', 'boolean', null, 'Part of a multiple system'),
    column('var_range', 'real', 'mag', 'Range of variability (null if not variable)'),
    column('var_period', 'real', 'd', 'Period of variability (null if unknown)'),
    column('bayer_name', 'text', null, 'Bayer or Flamsteed designation (e.g. alp CMa)'),
    column('name', 'text', null, 'Proper name (e.g. Sirius)'),
  ],
};

/** OpenNGC as KStars packs it (`OpenNGC.kscat`, SQLite): NGC and IC objects. */
export const NGC_TABLE: TableSpec = {
  name: 'objects',
  description: 'NGC and IC objects (OpenNGC, CC-BY-SA-4.0)',
  primaryKey: 'identifier',
  columns: [
    column('identifier', 'text', null, 'Catalogue identifier (e.g. NGC0224, IC0001)'),
    column('name', 'text', null, 'Primary name (e.g. M 31, NGC 1976)'),
    column('other_names', 'text', null, 'Other names, comma-separated'),
    column('object_type', 'text', null, 'Kind of object (galaxy, open cluster, ...)'),
    column('ra', 'double precision', 'deg', 'Right ascension (J2000)'),
    column('dec', 'double precision', 'deg', 'Declination (J2000)'),
    column('mag', 'real', 'mag', 'Visual magnitude (null if unknown)'),
    column('major_axis', 'real', 'arcmin', 'Major axis'),
    column('minor_axis', 'real', 'arcmin', 'Minor axis'),
    column('position_angle', 'real', 'deg', 'Position angle of the major axis, north through east'),
  ],
};

/** `[unit] description`, or the description alone for a column without unit. */
export function formatComment(unit: string | null, description: string): string {
  return unit ? `[${unit}] ${description}` : description;
}

/** The reverse of formatComment; any comment that does not start with `[...]` has no unit. */
export function parseComment(comment: string | null): {
  unit: string | null;
  description: string | null;
} {
  if (comment === null) return { unit: null, description: null };
  const match = /^\[([^\]]*)\]\s*(.*)$/s.exec(comment);
  if (!match) return { unit: null, description: comment };
  return { unit: match[1] || null, description: match[2] || null };
}

type Cell = string | number | boolean | null;

const optionalNumber = (text: string): number | null => {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
};

const requiredNumber = (text: string, what: string, lineNumber: number): number => {
  const value = optionalNumber(text);
  if (value === null) throw new Error(`stars.dat line ${lineNumber}: unreadable ${what} "${text}"`);
  return value;
};

/** `hhmmss.ss` to degrees. */
function raDegrees(text: string, lineNumber: number): number {
  const h = requiredNumber(text.slice(0, 2), 'RA hours', lineNumber);
  const m = requiredNumber(text.slice(2, 4), 'RA minutes', lineNumber);
  const s = requiredNumber(text.slice(4), 'RA seconds', lineNumber);
  return 15 * (h + m / 60 + s / 3600);
}

/** `sddmmss.s` to degrees. */
function decDegrees(text: string, lineNumber: number): number {
  const sign = text[0] === '-' ? -1 : 1;
  const d = requiredNumber(text.slice(1, 3), 'Dec degrees', lineNumber);
  const m = requiredNumber(text.slice(3, 5), 'Dec minutes', lineNumber);
  const s = requiredNumber(text.slice(5), 'Dec seconds', lineNumber);
  return sign * (d + m / 60 + s / 3600);
}

/**
 * One line of stars.dat, in STARS_TABLE's column order; null for a comment or blank line.
 * The layout (0-based columns), as the file's header and KStars' reader have it:
 *   0-8 RA hhmmss.ss, 10-18 Dec sddmmss.s, 20-28 pmRA, 29-37 pmDec [mas/yr], 38-44 parallax
 *   [mas], 45-50 V mag, 51-55 B-V, 56-57 spectral type, 59 multiple (0/1), 60-64 variability
 *   range, 65-71 period; then `, <Bayer name>, <proper name>`, both optional.
 */
export function parseStarLine(line: string, lineNumber: number): Cell[] | null {
  if (line.startsWith('#') || line.trim() === '') return null;
  const comma = line.indexOf(',');
  const fields = comma === -1 ? line : line.slice(0, comma);
  if (fields.length < 60) throw new Error(`stars.dat line ${lineNumber}: too short`);
  const names = comma === -1 ? [] : line.slice(comma + 1).split(',');
  const text = (value: string | undefined) => value?.trim() || null;
  return [
    lineNumber,
    raDegrees(fields.slice(0, 9), lineNumber),
    decDegrees(fields.slice(10, 19), lineNumber),
    optionalNumber(fields.slice(20, 29)),
    optionalNumber(fields.slice(29, 38)),
    optionalNumber(fields.slice(38, 45)),
    requiredNumber(fields.slice(45, 51), 'magnitude', lineNumber),
    optionalNumber(fields.slice(51, 56)),
    text(fields.slice(56, 58)),
    fields[59] === '1',
    optionalNumber(fields.slice(60, 65)),
    optionalNumber(fields.slice(65, 72)),
    text(names[0]),
    text(names.slice(1).join(',')),
  ];
}

/** KStars' object type codes (SkyObject::TYPE) as words. */
const OBJECT_TYPES: Record<number, string> = {
  0: 'star',
  1: 'catalog star',
  3: 'open cluster',
  4: 'globular cluster',
  5: 'gaseous nebula',
  6: 'planetary nebula',
  7: 'supernova remnant',
  8: 'galaxy',
  13: 'asterism',
  14: 'galaxy cluster',
  15: 'dark nebula',
  16: 'quasar',
  17: 'multiple star',
  18: 'radio source',
  20: 'supernova',
};

export function objectTypeName(code: number | null): string | null {
  if (code === null) return null;
  return OBJECT_TYPES[code] ?? 'unknown';
}

/** One row of the kscat `cat` table (as the SQLite reader yields it), in NGC_TABLE's order. */
export interface KscatRow {
  catalog_identifier: string;
  name: string | null;
  long_name: string | null;
  type: number | null;
  ra: number;
  dec: number;
  magnitude: number | null;
  major_axis: number | null;
  minor_axis: number | null;
  position_angle: number | null;
}

export function ngcCells(row: KscatRow): Cell[] {
  return [
    row.catalog_identifier,
    row.name || null,
    row.long_name || null,
    objectTypeName(row.type),
    row.ra,
    row.dec,
    row.magnitude,
    row.major_axis,
    row.minor_axis,
    row.position_angle,
  ];
}

/** One row in COPY's text format: tab-separated, `\N` for null, backslash escapes. */
export function copyLine(cells: Cell[]): string {
  return `${cells
    .map((cell) => {
      if (cell === null) return '\\N';
      if (typeof cell === 'boolean') return cell ? 't' : 'f';
      if (typeof cell === 'number') return String(cell);
      return cell
        .replace(/\\/g, '\\\\')
        .replace(/\t/g, '\\t')
        .replace(/\n/g, '\\n')
        .replace(/\r/g, '\\r');
    })
    .join('\t')}\n`;
}
