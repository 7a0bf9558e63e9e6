/**
 * How a quick query's values become JSON. PostgreSQL sends every value as text (the simple query
 * protocol); only types JSON holds exactly are parsed. 64-bit integers, numerics, money and
 * everything unlisted stay the server's text, so no digit is lost; timestamps become ISO 8601
 * (the session runs in UTC with the ISO date style).
 */
import type pg from 'pg';

const BOOL = 16;
const INT2 = 21;
const INT4 = 23;
const OID = 26;
const FLOAT4 = 700;
const FLOAT8 = 701;
const JSON_TYPE = 114;
const JSONB = 3802;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;

type Parser = (text: string) => unknown;

const asText: Parser = (text) => text;

/** A float JSON can hold, else its text (NaN, Infinity). */
const asFloat: Parser = (text) => {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
};

const ISO_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:([+-]\d\d)(?::(\d\d))?)?$/;

/** `2026-12-01 22:40:00.123456+00` as `2026-12-01T22:40:00.123456Z`; other forms (BC, infinity) as sent. */
export const isoTimestamp: Parser = (text) => {
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return text;
  const [, date, time, hours, minutes] = match;
  if (hours === undefined) return `${date}T${time}`;
  const offset = `${hours}:${minutes ?? '00'}`;
  return `${date}T${time}${offset === '+00:00' ? 'Z' : offset}`;
};

const PARSERS: Record<number, Parser> = {
  [BOOL]: (text) => text === 't',
  [INT2]: Number,
  [INT4]: Number,
  [OID]: Number,
  [FLOAT4]: asFloat,
  [FLOAT8]: asFloat,
  [JSON_TYPE]: JSON.parse,
  [JSONB]: JSON.parse,
  [TIMESTAMP]: isoTimestamp,
  [TIMESTAMPTZ]: isoTimestamp,
};

/** The `types` of a pg query: the parsers above, text for everything else. */
export const quickQueryTypes = {
  getTypeParser: (oid: number) => PARSERS[oid] ?? asText,
} as unknown as pg.CustomTypesConfig;

/** Built-in types keep their OIDs; a user's own type may be dropped and made again. */
const FIRST_USER_OID = 16384;
const typeNames = new Map<number, string>();

/** Each type OID's SQL name (`bigint`, `timestamp with time zone`), asked of the server once. */
export async function typeNamesOf(
  admin: pg.Pool | pg.ClientBase,
  oids: readonly number[],
): Promise<Map<number, string>> {
  const missing = [...new Set(oids)].filter((oid) => !typeNames.has(oid));
  const found = new Map<number, string>();
  if (missing.length) {
    const { rows } = await admin.query<{ oid: number; name: string }>(
      'SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])',
      [missing],
    );
    for (const { oid, name } of rows) {
      found.set(oid, name);
      if (oid < FIRST_USER_OID) typeNames.set(oid, name);
    }
  }
  return new Map(oids.map((oid) => [oid, typeNames.get(oid) ?? found.get(oid) ?? 'unknown']));
}
