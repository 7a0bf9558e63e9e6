/**
 * A user's MyDB tables as files: exported (CSV, VOTable, FITS, Parquet) and imported (CSV,
 * VOTable, FITS) in streams, and dropped. Everything runs on a connection that logged in as the
 * user's own role, so PostgreSQL's permissions decide what may be read and written.
 *
 * Export reads in one read-only, repeatable-read transaction (a FITS header's row count and the
 * rows it then streams agree). Import makes the table, copies the file into it (`COPY FROM
 * STDIN`) and settles its types in one transaction: a failure leaves no table.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Db } from '../db/pool.ts';
import { Conflict, Invalid, LimitReached, NotFound } from '../errors.ts';
import { HttpError } from '../http/errors.ts';
import { parseComment } from './catalogFormats.ts';
import { arrowSchemaOf, needsTextCast, type ResultColumn } from './formats/arrowTypes.ts';
import { CopyBinaryToArrow } from './formats/copyBinary.ts';
import { inferCsvTypes, readCsvHeader } from './formats/csvImport.ts';
import { FitsStream, fitsLayout, isFitsVector } from './formats/fits.ts';
import { FitsToCsv } from './formats/fitsImport.ts';
import { checkColumnNames, type ImportedColumn } from './formats/importColumns.ts';
import { parquetStream } from './formats/parquet.ts';
import { VotableStream } from './formats/votable.ts';
import { VotableToCsv } from './formats/votableImport.ts';
import { connectAsRole, type RoleLogin } from './queryRun.ts';
import { QUOTA_SQLSTATE } from './quotaGuard.ts';

export type ExportFormat = 'csv' | 'votable' | 'fits' | 'parquet';
export type ImportFormat = 'csv' | 'votable' | 'fits';

const EXPORTS: Record<ExportFormat, { type: string; extension: string }> = {
  csv: { type: 'text/csv; charset=utf-8', extension: 'csv' },
  votable: { type: 'application/x-votable+xml', extension: 'vot' },
  fits: { type: 'application/fits', extension: 'fits' },
  parquet: { type: 'application/vnd.apache.parquet', extension: 'parquet' },
};

export interface ImportAnswer {
  table: string;
  row_count: number;
  columns: { name: string; type: string }[];
}

const qualified = (schema: string, table: string) =>
  `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;

/** The table's columns with units and descriptions (`[unit] description` comments), or null. */
async function describeTable(
  client: pg.ClientBase,
  schema: string,
  table: string,
): Promise<{ description: string | null; columns: ResultColumn[] } | null> {
  const { rows } = await client.query(
    `SELECT obj_description(c.oid, 'pg_class') AS description,
            coalesce((SELECT json_agg(json_build_object(
                        'name', a.attname, 'typeOid', a.atttypid::int,
                        'type', format_type(a.atttypid, a.atttypmod),
                        'comment', col_description(c.oid, a.attnum)) ORDER BY a.attnum)
                        FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm')`,
    [schema, table],
  );
  const found = rows[0];
  if (!found) return null;
  return {
    description: found.description,
    columns: (
      found.columns as { name: string; typeOid: number; type: string; comment: string | null }[]
    ).map(({ comment, ...column }) => ({ ...column, ...parseComment(comment) })),
  };
}

/** Exports and imports one user may have running at once (each holds a connection). */
const TRANSFERS_PER_USER = 2;

export class MydbTables {
  /** Running exports and imports per role, in this hub process. */
  private readonly running = new Map<string, number>();

  constructor(private readonly admin: Db) {}

  /** `work` under the per-user cap of running transfers: 429 above it, nothing run. */
  async limited<T>(login: RoleLogin, work: () => Promise<T>): Promise<T> {
    const held = this.running.get(login.role) ?? 0;
    if (held >= TRANSFERS_PER_USER)
      throw new LimitReached(
        'table_transfers_running',
        `You already have ${held} exports or imports running (the limit is ${TRANSFERS_PER_USER}); wait for one to finish`,
        { retryAfterSeconds: 5 },
      );
    this.running.set(login.role, held + 1);
    try {
      return await work();
    } finally {
      const left = (this.running.get(login.role) ?? 1) - 1;
      if (left > 0) this.running.set(login.role, left);
      else this.running.delete(login.role);
    }
  }

  /** Stream `schema.table` into `res` as `format`. */
  async export(
    login: RoleLogin,
    schema: string,
    table: string,
    format: ExportFormat,
    res: Response,
  ): Promise<void> {
    const session = await connectAsRole(this.admin, login);
    const { client } = session;
    const onClose = () => {
      if (!res.writableFinished) void session.cancel();
    };
    res.on('close', onClose);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const described = await describeTable(client, schema, table);
      if (!described) throw new NotFound('table', `You have no table named "${table}"`);
      const { columns, description } = described;
      const source = qualified(schema, table);
      // FITS states the row count and string widths first: measured in this same snapshot.
      let fits: Awaited<ReturnType<typeof measure>> | undefined;
      if (format === 'fits') fits = await measure(client, source, columns);
      res.status(200);
      res.setHeader('Content-Type', EXPORTS[format].type);
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="${table.replace(/[^A-Za-z0-9_.-]/g, '_')}.${EXPORTS[format].extension}"`,
      );
      res.setHeader('Cache-Control', 'no-store');
      if (format === 'csv') {
        await pipeline(client.query(copyTo(`COPY ${source} TO STDOUT (FORMAT csv, HEADER)`)), res);
      } else {
        const list = columns
          .map((column) => {
            const name = pg.escapeIdentifier(column.name);
            return needsTextCast(column.typeOid) ? `${name}::text` : name;
          })
          .join(', ');
        const schemaOfArrow = arrowSchemaOf(columns, { 'orrery.table': table });
        const batches = client
          .query(copyTo(`COPY (SELECT ${list} FROM ${source}) TO STDOUT (FORMAT binary)`))
          .pipe(new CopyBinaryToArrow(schemaOfArrow, columns));
        if (format === 'parquet') await pipeline(await parquetStream(batches), res);
        else
          await pipeline(
            batches,
            format === 'votable'
              ? new VotableStream(columns, table, description)
              : new FitsStream(
                  columns,
                  fitsLayout(columns, fits!.textBytes, fits!.elements),
                  table,
                  fits!.rows,
                ),
            res,
          );
      }
      await client.query('COMMIT');
    } catch (err) {
      if (!res.headersSent) throw err;
      res.destroy();
    } finally {
      res.off('close', onClose);
      void client.end().catch(() => undefined);
    }
  }

  /** Drop one of the user's tables (as the user's role); 404 if there is none. */
  async drop(login: RoleLogin, schema: string, table: string): Promise<void> {
    const { client } = await connectAsRole(this.admin, login);
    try {
      const { rows } = await client.query(
        `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
        [schema, table],
      );
      if (!rows[0]) throw new NotFound('table', `You have no table named "${table}"`);
      await client.query(`DROP TABLE ${qualified(schema, table)}`);
    } finally {
      void client.end().catch(() => undefined);
    }
  }

  /**
   * Make `schema.table` from the file in `req`'s body (at most `maxBytes`), all or nothing.
   * 409 if the table exists; 400 naming the line or row for a malformed file.
   */
  async import(
    login: RoleLogin,
    schema: string,
    table: string,
    format: ImportFormat,
    req: Request,
    space: { maxBytes: number; quotaBytes: number },
  ): Promise<ImportAnswer> {
    const { client } = await connectAsRole(this.admin, login);
    const body = req.pipe(new SizeLimit(space.maxBytes));
    req.on('error', (err) => body.destroy(err));
    try {
      await client.query('BEGIN');
      const target = qualified(schema, table);
      const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [target]);
      if (exists.rows[0].found)
        throw new Conflict('table_exists', `You already have a table named "${table}"`);
      let columns: ImportedColumn[];
      let rowCount: number;
      if (format === 'csv') {
        const { header, rest } = await readCsvHeader(body);
        checkColumnNames(header);
        columns = header.map((name) => ({ name, type: 'text', unit: null, description: null }));
        await createTable(client, target, columns);
        rowCount = await copyInto(
          client,
          target,
          rest,
          'FORMAT csv, HEADER true',
          (line) => `line ${line}`,
        );
        columns = await inferCsvTypes(client, target, columns);
      } else {
        const reader = format === 'votable' ? new VotableToCsv() : new FitsToCsv();
        const converted = body.pipe(reader);
        body.on('error', (err) => converted.destroy(err));
        columns = await reader.columns;
        await createTable(client, target, columns);
        // COPY counts lines from 1; with no header line, line n is the file's row n.
        rowCount = await copyInto(client, target, converted, 'FORMAT csv', (line) => `row ${line}`);
      }
      await commentColumns(client, target, columns);
      const used = await client.query(
        `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
        [schema],
      );
      if (Number(used.rows[0].bytes) > space.quotaBytes)
        throw new LimitReached(
          'mydb_quota',
          `Importing this file would take your MyDB past its quota of ${space.quotaBytes} bytes`,
        );
      await client.query('COMMIT');
      return {
        table,
        row_count: rowCount,
        columns: columns.map(({ name, type }) => ({ name, type })),
      };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // What was not read of the body is left unread; the answer goes out and the socket closes.
      req.unpipe();
      throw asImportRefusal(err, space.quotaBytes);
    } finally {
      void client.end().catch(() => undefined);
    }
  }
}

/** PostgreSQL's refusal of what the file asked for (a name too long, permission, …) is a 400. */
function asImportRefusal(err: unknown, quotaBytes: number): unknown {
  const db = err as { code?: string; message?: string };
  // The COPY's own quota check (quotaGuard.ts) stopped it: the same refusal as the check below.
  if (db.code === QUOTA_SQLSTATE)
    return new LimitReached(
      'mydb_quota',
      `Importing this file would take your MyDB past its quota of ${quotaBytes} bytes`,
    );
  if (err instanceof Error && !(err as { kind?: string }).kind && !(err instanceof HttpError))
    if (typeof db.code === 'string' && /^[0-9A-Z]{5}$/.test(db.code))
      return new Invalid('malformed_file', `${db.message} [SQLSTATE ${db.code}]`);
  return err;
}

/**
 * Row count; per text column, the longest value in bytes; per array column written as a FITS
 * vector, the most elements.
 */
async function measure(
  client: pg.ClientBase,
  source: string,
  columns: readonly ResultColumn[],
): Promise<{ rows: number; textBytes: number[]; elements: number[] }> {
  const widths = columns.map((column, i) => {
    const name = pg.escapeIdentifier(column.name);
    if (isFitsVector(column.typeOid)) return `coalesce(max(cardinality(${name})), 0)::int AS w${i}`;
    return needsTextCast(column.typeOid) ||
      ['text', 'character varying', 'name'].some((t) => column.type.startsWith(t)) ||
      column.type.startsWith('character')
      ? `coalesce(max(octet_length(${name}::text)), 0)::int AS w${i}`
      : `0 AS w${i}`;
  });
  const { rows } = await client.query(
    `SELECT count(*)::bigint AS n${widths.length ? `, ${widths.join(', ')}` : ''} FROM ${source}`,
  );
  const measured = columns.map((_, i) => Number(rows[0][`w${i}`]));
  const vector = columns.map((column) => isFitsVector(column.typeOid));
  return {
    rows: Number(rows[0].n),
    textBytes: measured.map((value, i) => (vector[i] ? 0 : value)),
    elements: measured.map((value, i) => (vector[i] ? value : 0)),
  };
}

async function createTable(
  client: pg.ClientBase,
  target: string,
  columns: readonly ImportedColumn[],
): Promise<void> {
  const list = columns.map((column) => `${pg.escapeIdentifier(column.name)} ${column.type}`);
  await client.query(`CREATE TABLE ${target} (${list.join(', ')})`);
}

async function commentColumns(
  client: pg.ClientBase,
  target: string,
  columns: readonly ImportedColumn[],
): Promise<void> {
  for (const column of columns) {
    if (!column.unit && !column.description) continue;
    const comment = column.unit
      ? `[${column.unit}] ${column.description ?? ''}`.trim()
      : column.description!;
    await client.query(
      `COMMENT ON COLUMN ${target}.${pg.escapeIdentifier(column.name)} IS ${pg.escapeLiteral(comment)}`,
    );
  }
}

/** Stream `source` into `COPY target FROM STDIN`; PostgreSQL's complaint becomes a 400 naming where. */
async function copyInto(
  client: pg.ClientBase,
  target: string,
  source: Readable,
  options: string,
  where: (line: string) => string,
): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${target} FROM STDIN (${options})`));
  try {
    await pipeline(source, copy);
  } catch (err) {
    const db = err as { code?: string; message: string; where?: string };
    if (err instanceof HttpError || (err as { kind?: string }).kind) throw err;
    if (typeof db.code === 'string' && /^(22|23)/.test(db.code)) {
      const line = /line (\d+)/.exec(db.where ?? '')?.[1];
      throw new Invalid(
        'malformed_file',
        `${line ? `${where(line)}: ` : ''}${db.message}${db.where ? ` (${db.where})` : ''}`,
      );
    }
    if ((err as { fileError?: boolean }).fileError) throw new Invalid('malformed_file', db.message);
    throw err;
  }
  return Number(copy.rowCount);
}

/** Passes bytes through until `limit`, then fails with 413. */
class SizeLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      done(
        new HttpError(
          413,
          `The file is larger than the ${this.limit} bytes left in your MyDB quota`,
        ),
      );
      return;
    }
    done(null, chunk);
  }
}

export { Readable };
