/**
 * The schema browser's functions: those of a context's own schema (a user's MyDB functions, a
 * catalog's), then the shared spatial functions of the schema `orrery` every context may call.
 * Each comes with its arguments and result as PostgreSQL prints them and its comment, parsed as
 * columns' are (`[unit] description`, e.g. `[deg] Great-circle distance ...`).
 */
import { parseComment } from './catalogFormats.ts';
import type { ScienceDatabase } from './science.ts';
import { PUBLIC_FUNCTION_NAMES, SPATIAL_SCHEMA } from './spatial/functions.ts';

export interface FunctionView {
  name: string;
  schema: string;
  kind: 'function' | 'procedure' | 'aggregate' | 'window';
  /** As PostgreSQL prints them: `ra_deg double precision, ..., method text DEFAULT 'auto'::text`. */
  arguments: string;
  returns: string | null;
  unit: string | null;
  description: string | null;
}

const KIND_OF: Record<string, FunctionView['kind']> = {
  f: 'function',
  p: 'procedure',
  a: 'aggregate',
  w: 'window',
};

/** Functions of `schema` (extensions' members left out), then the shared ones users call. */
export async function contextFunctions(
  science: ScienceDatabase,
  schema: string,
): Promise<FunctionView[]> {
  const { rows } = await science.pool.query(
    `SELECT p.proname AS name, n.nspname AS schema, p.prokind AS kind,
            pg_get_function_arguments(p.oid) AS arguments, pg_get_function_result(p.oid) AS returns,
            obj_description(p.oid, 'pg_proc') AS comment
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE (n.nspname = $1 OR (n.nspname = $2 AND p.proname = ANY($3)))
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
      ORDER BY n.nspname = $2, p.proname, pg_get_function_arguments(p.oid)`,
    [schema, SPATIAL_SCHEMA, PUBLIC_FUNCTION_NAMES],
  );
  return rows.map((row) => ({
    name: row.name,
    schema: row.schema,
    kind: KIND_OF[row.kind] ?? 'function',
    arguments: row.arguments,
    returns: row.returns,
    ...parseComment(row.comment),
  }));
}
