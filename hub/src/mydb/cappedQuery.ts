/**
 * A single quick query in one round trip: the capped query and the check whether it wrote
 * anything go to the server as one pipeline of extended-protocol messages (Parse, Bind,
 * Describe, Execute for each, then one Sync), written at once.
 *
 * Why this keeps every guarantee of BEGIN / query / check / COMMIT sent one by one:
 * - The statements before a Sync run in one implicit transaction: the check sees the query's
 *   transaction id, and the Sync commits both, or rolls both back if either failed (an error
 *   makes the server skip to the Sync). No half-written state, no open transaction left.
 * - Each Parse takes exactly one statement (the extended protocol refuses several), so the
 *   user's SQL cannot break out of the `SELECT * FROM (…) LIMIT n` wrapper into statements of
 *   its own, as it could inside a simple-protocol string.
 * - The check is schema-qualified, so a function of the user's on the search path cannot
 *   answer it.
 */
import pg from 'pg';
import { quickQueryTypes } from './queryValues.ts';

/** Did the transaction get an id, i.e. write anything (a table, a grant, a sequence)? */
const WROTE_NOTHING_CHECK = 'SELECT pg_catalog.pg_current_xact_id_if_assigned() IS NULL';

export interface CappedOutcome {
  columns: { name: string; typeOid: number }[];
  /** At most `maxRows`. */
  rows: unknown[][];
  truncated: boolean;
  command: string | null;
  wroteNothing: boolean;
}

/** pg's connection, as a Submittable sees it (its typings leave these out). */
interface Wire {
  parse(message: { text: string; name?: string; types?: number[] }): void;
  bind(message: { portal?: string; statement?: string; values?: unknown[] }): void;
  describe(message: { type: 'P' | 'S'; name: string }): void;
  execute(message: { portal?: string; rows?: number }): void;
  sync(): void;
}

/** pg's Query, sending the query and the check before one Sync; counts the row descriptions. */
class QueryThenCheck extends (pg.Query as unknown as new (
  config: object,
) => pg.Query & { handleRowDescription(message: unknown): void }) {
  /** 1 while the user's query's rows arrive, 2 for the check's. */
  statement = 0;

  override handleRowDescription(message: unknown): void {
    this.statement++;
    super.handleRowDescription(message);
  }

  /** Called by pg's `submit` between cork and uncork: every message leaves in one write. */
  prepare(wire: Wire): void {
    for (const text of [(this as unknown as { text: string }).text, WROTE_NOTHING_CHECK]) {
      wire.parse({ text });
      wire.bind({});
      wire.describe({ type: 'P', name: '' });
      wire.execute({ rows: 0 });
    }
    wire.sync();
  }
}

/**
 * Run `sql` (one query, already wrapped with its LIMIT of the cap + 1) and the check, in one
 * round trip; keep at most `maxRows` rows. Rejects with PostgreSQL's error, nothing written.
 */
export function runCapped(client: pg.Client, sql: string, maxRows: number): Promise<CappedOutcome> {
  const query = new QueryThenCheck({
    text: sql,
    rowMode: 'array',
    types: quickQueryTypes,
    queryMode: 'extended',
  });
  const rows: unknown[][] = [];
  let truncated = false;
  let clean: unknown;
  // A 'row' listener (and no callback) makes pg hand over rows one by one instead of keeping them.
  query.on('row', (row: unknown[]) => {
    if (query.statement === 2) clean = row[0];
    else if (rows.length < maxRows) rows.push(row);
    else truncated = true;
  });
  return new Promise((resolve, reject) => {
    query.on('error', reject);
    query.on('end', (results: pg.QueryResult | pg.QueryResult[]) => {
      const mine = Array.isArray(results) ? results[0] : results;
      if (!Array.isArray(results) || results.length !== 2 || typeof clean !== 'boolean') {
        reject(new Error('the query and its check did not both answer'));
        return;
      }
      resolve({
        columns: (mine?.fields ?? []).map((field) => ({
          name: field.name,
          typeOid: field.dataTypeID,
        })),
        rows,
        truncated,
        command: mine?.command || null,
        wroteNothing: clean,
      });
    });
    client.query(query as unknown as pg.Submittable);
  });
}
