/**
 * A quick query's result streamed as Arrow or CSV, never held whole in the hub: PostgreSQL's
 * `COPY (query) TO STDOUT` goes through (CSV as the server writes it; binary decoded straight
 * into Arrow buffers), with the HTTP answer's backpressure reaching the database.
 *
 * The answer's first bytes must already say whether the row cap cut the result (the contract puts
 * it in a header and in the Arrow schema), so in one read-only, repeatable-read transaction the
 * hub first describes the query, then counts its rows up to the cap + 1 (no rows travel), then
 * copies at most the cap: the same snapshot, so the count and the copy agree (a query whose rows
 * are themselves random, `WHERE random() < 0.5`, is the exception), and read-only, so running the
 * query twice cannot write twice.
 */
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '../db/pool.ts';
import { Invalid } from '../errors.ts';
import { ArrowIpcStream } from './formats/arrowIpc.ts';
import { arrowSchemaOf, needsTextCast, type ResultColumn } from './formats/arrowTypes.ts';
import { CopyBinaryToArrow } from './formats/copyBinary.ts';
import { typeNamesOf } from './queryValues.ts';

export type StreamFormat = 'arrow' | 'csv';

export const CONTENT_TYPES: Record<StreamFormat, string> = {
  arrow: 'application/vnd.apache.arrow.stream',
  csv: 'text/csv; charset=utf-8',
};

export interface StreamOutcome {
  rowCount: number;
  truncated: boolean;
  /** The client left before the end; the query was cancelled. */
  disconnected: boolean;
}

/** The user's SQL as a subquery: trailing semicolons off, and on lines of its own (a `--` comment). */
export function asSubquery(sql: string): string {
  const inner = sql.replace(/[\s;]+$/u, '');
  return `(\n${inner}\n) AS orrery_q`;
}

/** What `SELECT * FROM ${asSubquery(sql)}` puts before the user's SQL. */
export const SUBQUERY_PREFIX = 'SELECT * FROM (\n';

/**
 * PostgreSQL's error for SQL sent behind `prefix`, its `position` moved back to point into the
 * user's SQL (undefined when it pointed into the wrapper). Returns `err` itself.
 */
export function positionedInUserSql<E>(err: E, prefix: string): E {
  const db = err as { position?: string };
  if (db && typeof db.position === 'string') {
    const inSql = Number(db.position) - prefix.length;
    db.position = inSql >= 1 ? String(inSql) : undefined;
  }
  return err;
}

/** The query's columns, from planning it with no rows (one statement, extended protocol). */
async function describe(client: pg.Client, admin: Db, subquery: string): Promise<ResultColumn[]> {
  const result = await client.query({
    text: `SELECT * FROM ${subquery} LIMIT 0`,
    rowMode: 'array',
    queryMode: 'extended',
  } as pg.QueryArrayConfig);
  const names = await typeNamesOf(
    admin,
    result.fields.map((field) => field.dataTypeID),
  );
  return result.fields.map((field) => ({
    name: field.name,
    typeOid: field.dataTypeID,
    type: names.get(field.dataTypeID) ?? 'unknown',
  }));
}

/** The columns the COPY selects: positional names (a result may repeat one), odd types as text. */
export function copySelectList(columns: readonly ResultColumn[]): {
  list: string;
  aliases: string;
} {
  const aliases = columns.map((_, i) => `c${i + 1}`);
  const list = columns
    .map((column, i) =>
      needsTextCast(column.typeOid) ? `orrery_q.${aliases[i]}::text` : `orrery_q.${aliases[i]}`,
    )
    .join(', ');
  return { list, aliases: aliases.join(', ') };
}

/**
 * Run `sql` (one query) on `client`, a session of the user's role, and stream at most `maxRows`
 * of its rows into `res` as `format`. SQL errors before the first byte reject (the route answers
 * 400); after it, the answer is cut short.
 */
export async function streamQuery(
  client: pg.Client,
  admin: Db,
  cancel: () => Promise<void>,
  res: Response,
  request: { sql: string; maxRows: number; format: StreamFormat; started: number },
): Promise<StreamOutcome> {
  // A client that leaves (while the rows are counted or streamed) gets its query cancelled.
  let disconnected = false;
  const onClose = () => {
    if (!res.writableFinished) {
      disconnected = true;
      void cancel();
    }
  };
  res.on('close', onClose);
  let counted = { rowCount: 0, truncated: false };
  try {
    counted = await countAndStream(client, admin, res, request);
  } catch (err) {
    if (disconnected) return { ...counted, disconnected };
    throw err;
  } finally {
    res.off('close', onClose);
  }
  await client.query('COMMIT');
  return { ...counted, disconnected };
}

async function countAndStream(
  client: pg.Client,
  admin: Db,
  res: Response,
  request: { sql: string; maxRows: number; format: StreamFormat; started: number },
): Promise<{ rowCount: number; truncated: boolean }> {
  const { sql, maxRows, format } = request;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const subquery = asSubquery(sql);
  let columns: ResultColumn[];
  try {
    columns = await describe(client, admin, subquery);
  } catch (err) {
    positionedInUserSql(err, SUBQUERY_PREFIX);
    if ((err as { code?: string }).code === '42601' && /multiple commands|syntax/.test(String(err)))
      throw new Invalid(
        'one_query',
        `Arrow and CSV answers take one query (a SELECT, VALUES or TABLE); scripts and other statements answer JSON only. PostgreSQL said: ${(err as Error).message}`,
      );
    throw err;
  }
  const { rows } = await client.query<{ n: number }>({
    text: `SELECT count(*)::int AS n FROM (SELECT FROM ${subquery} LIMIT ${maxRows + 1}) AS counted`,
    queryMode: 'extended',
  } as pg.QueryConfig);
  const total = rows[0]!.n;
  const truncated = total > maxRows;
  const rowCount = Math.min(total, maxRows);
  const elapsedMs = Math.round(performance.now() - request.started);
  res.status(200);
  res.setHeader('Content-Type', CONTENT_TYPES[format]);
  res.setHeader('Orrery-Truncated', String(truncated));
  res.setHeader('Orrery-Row-Count', String(rowCount));
  res.setHeader('Cache-Control', 'no-store');

  if (format === 'csv') {
    const copy = client.query(
      copyTo(`COPY (SELECT * FROM ${subquery} LIMIT ${maxRows}) TO STDOUT (FORMAT csv, HEADER)`),
    );
    await pipeline(copy, res);
  } else {
    const schema = arrowSchemaOf(columns, {
      'orrery.truncated': String(truncated),
      'orrery.row_count': String(rowCount),
      'orrery.elapsed_ms': String(elapsedMs),
    });
    const { list, aliases } = copySelectList(columns);
    const named = columns.length
      ? subquery.replace(/AS orrery_q$/u, `AS orrery_q(${aliases})`)
      : subquery;
    const copy = client.query(
      copyTo(`COPY (SELECT ${list} FROM ${named} LIMIT ${maxRows}) TO STDOUT (FORMAT binary)`),
    );
    await pipeline(copy, new CopyBinaryToArrow(schema, columns), new ArrowIpcStream(schema), res);
  }
  return { rowCount, truncated };
}
