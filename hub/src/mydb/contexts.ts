/**
 * Database contexts: what a user may query. Each catalog is a schema `catalog_<name>` in the
 * science database registered as a RACM `DatabaseContext` resource named `<name>`; a user sees
 * the ones they may `read`, plus their own MyDB (context `mydb`). A context they may not read
 * answers as if it did not exist.
 */
import type { Actor } from '../auth/actor.ts';
import type { Db } from '../db/pool.ts';
import { NotFound } from '../errors.ts';
import { actionsOf, findResourceByName, listAllowed, may } from '../racm/store.ts';
import { parseComment } from './catalogFormats.ts';
import { schemaNameFor } from './names.ts';
import { contextFunctions, type FunctionView } from './schemaBrowser.ts';
import type { ScienceDatabase } from './science.ts';

export const CONTEXT_TYPE = 'DatabaseContext';
/** The context name of every user's own MyDB; no catalog may take it. */
export const MYDB_CONTEXT = 'mydb';
export const CONTEXT_NAME = /^[a-z][a-z0-9_]{0,39}$/;

export function catalogSchemaOf(name: string): string {
  if (!CONTEXT_NAME.test(name) || name === MYDB_CONTEXT)
    throw new Error(`"${name}" is not a catalog context name ([a-z][a-z0-9_]*, not "mydb")`);
  return `catalog_${name}`;
}

export interface DatabaseContextView {
  name: string;
  kind: 'mydb' | 'catalog';
  schema: string;
  description: string;
  actions: string[];
}

export interface ColumnView {
  name: string;
  type: string;
  unit: string | null;
  description: string | null;
}

export interface TableView {
  name: string;
  kind: 'table' | 'view' | 'materialized_view';
  description: string | null;
  row_estimate: number | null;
  columns: ColumnView[];
}

const KIND_OF: Record<string, TableView['kind']> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized_view',
};

/** Enough for every catalog a deployment serves; the list is not paged. */
const MAX_CONTEXTS = 1000;

export class DatabaseContexts {
  constructor(
    private readonly db: Db,
    private readonly science: ScienceDatabase,
  ) {}

  /** The caller's MyDB first, then the catalogs they may read, by name. */
  async list(actor: Actor): Promise<DatabaseContextView[]> {
    const own = await this.ownMydb(actor);
    const allowed = await listAllowed(this.db, actor.userId, CONTEXT_TYPE, 'read', {
      limit: MAX_CONTEXTS,
    });
    const catalogs: DatabaseContextView[] = [];
    for (const resource of allowed)
      catalogs.push({
        name: resource.name,
        kind: 'catalog',
        schema: catalogSchemaOf(resource.name),
        description: resource.description,
        actions: await actionsOf(this.db, actor.userId, resource.id),
      });
    catalogs.sort((a, b) => a.name.localeCompare(b.name));
    return [own, ...catalogs];
  }

  /** The schema browser: tables and views of a context the caller may read. */
  async tables(actor: Actor, context: string): Promise<TableView[]> {
    const schema = await this.readableSchema(actor, context);
    const { rows } = await this.science.pool.query(
      `SELECT c.relname AS name, c.relkind AS kind, obj_description(c.oid, 'pg_class') AS comment,
              c.reltuples::float8 AS reltuples,
              coalesce((SELECT json_agg(json_build_object('name', a.attname,
                          'type', format_type(a.atttypid, a.atttypmod),
                          'comment', col_description(c.oid, a.attnum)) ORDER BY a.attnum)
                 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               '[]') AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')
        ORDER BY c.relname`,
      [schema],
    );
    return rows.map((row) => ({
      name: row.name,
      kind: KIND_OF[row.kind] ?? 'table',
      description: row.comment,
      // -1: never analysed (and views have no rows of their own).
      row_estimate: row.kind === 'v' || row.reltuples < 0 ? null : Math.round(row.reltuples),
      columns: (row.columns as { name: string; type: string; comment: string | null }[]).map(
        (c) => ({ name: c.name, type: c.type, ...parseComment(c.comment) }),
      ),
    }));
  }

  /** The schema browser's functions: the context's own, then the shared spatial ones. */
  async functions(actor: Actor, context: string): Promise<FunctionView[]> {
    return contextFunctions(this.science, await this.readableSchema(actor, context));
  }

  private async ownMydb(actor: Actor): Promise<DatabaseContextView> {
    const { rows } = await this.db.query('SELECT safe_name FROM users WHERE id = $1', [
      actor.userId,
    ]);
    if (!rows[0]) throw new NotFound('user', 'Your account no longer exists');
    return {
      name: MYDB_CONTEXT,
      kind: 'mydb',
      schema: schemaNameFor(rows[0].safe_name),
      description: 'Your own database space (made on first use)',
      actions: ['read', 'submitQuery', 'write'],
    };
  }

  private async readableSchema(actor: Actor, context: string): Promise<string> {
    if (context === MYDB_CONTEXT) return (await this.ownMydb(actor)).schema;
    const hidden = new NotFound('context', `No database context named "${context}"`);
    if (!CONTEXT_NAME.test(context)) throw hidden;
    const resource = await findResourceByName(this.db, CONTEXT_TYPE, context);
    if (!resource || !(await may(this.db, actor.userId, 'read', resource.id))) throw hidden;
    return catalogSchemaOf(context);
  }
}
