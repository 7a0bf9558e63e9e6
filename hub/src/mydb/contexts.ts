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
import { MYDB_TABLE_TYPE, MYDB_TYPE } from './grants.ts';
import { schemaNameFor, scratchSchemaFor } from './names.ts';
import { contextFunctions, type FunctionView } from './schemaBrowser.ts';
import type { ScienceDatabase } from './science.ts';

export const CONTEXT_TYPE = 'DatabaseContext';
/** The context name of every user's own MyDB; no catalog may take it. */
export const MYDB_CONTEXT = 'mydb';
/** The context name of every user's MyScratch. */
export const MYSCRATCH_CONTEXT = 'myscratch';
/** Another user's MyDB shared with the caller is the context `mydb:<owner>`. */
const SHARED_PREFIX = 'mydb:';
export const CONTEXT_NAME = /^[a-z][a-z0-9_]{0,39}$/;

export function catalogSchemaOf(name: string): string {
  if (!CONTEXT_NAME.test(name) || name === MYDB_CONTEXT || name === MYSCRATCH_CONTEXT)
    throw new Error(`"${name}" is not a catalog context name ([a-z][a-z0-9_]*, not "mydb")`);
  return `catalog_${name}`;
}

export interface DatabaseContextView {
  name: string;
  kind: 'mydb' | 'myscratch' | 'catalog' | 'shared';
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
    const shared = [...(await this.sharedWith(actor)).entries()].map(
      ([owner, share]): DatabaseContextView => ({
        name: `${SHARED_PREFIX}${owner}`,
        kind: 'shared',
        schema: share.schema,
        description: share.tables
          ? `${owner}'s MyDB (shared tables: ${[...share.tables].sort().join(', ')})`
          : `${owner}'s MyDB`,
        actions: ['read'],
      }),
    );
    return [own, scratchOf(own), ...catalogs, ...shared];
  }

  /**
   * The schema a quick query in `context` runs in (first in its search_path). A catalog needs
   * `read` or `submitQuery`; one the caller may not query answers as one that does not exist.
   */
  async querySchema(actor: Actor, context: string): Promise<string> {
    return (await this.resolve(actor, context, ['read', 'submitQuery'])).schema;
  }

  /** The schema browser: tables and views of a context the caller may read. */
  async tables(actor: Actor, context: string): Promise<TableView[]> {
    const { schema, only } = await this.resolve(actor, context, ['read']);
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
    // A share of single tables shows those tables only.
    return rows
      .filter((row) => !only || only.has(row.name))
      .map((row) => ({
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
    return contextFunctions(this.science, (await this.resolve(actor, context, ['read'])).schema);
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

  /** Another user's MyDBs shared with the caller: owner → schema and shared tables (all: undefined). */
  private async sharedWith(
    actor: Actor,
  ): Promise<Map<string, { schema: string; tables: Set<string> | undefined }>> {
    const page = { limit: MAX_CONTEXTS };
    const whole = await listAllowed(this.db, actor.userId, MYDB_TYPE, 'read', page);
    const single = await listAllowed(this.db, actor.userId, MYDB_TABLE_TYPE, 'read', page);
    const owned = [...whole, ...single].filter((r) => r.owner !== null);
    if (owned.length === 0) return new Map();
    const { rows } = await this.db.query(
      `SELECT u.name, s.schema_name AS schema FROM users u JOIN mydb_spaces s ON s.user_id = u.id
        WHERE u.name = ANY($1) AND u.id <> $2`,
      [[...new Set(owned.map((r) => r.owner))], actor.userId],
    );
    const schemaOf = new Map<string, string>(rows.map((row) => [row.name, row.schema]));
    const shares = new Map<string, { schema: string; tables: Set<string> | undefined }>();
    for (const resource of whole) {
      const schema = resource.owner && schemaOf.get(resource.owner);
      if (schema) shares.set(resource.owner!, { schema, tables: undefined });
    }
    for (const resource of single) {
      const schema = resource.owner && schemaOf.get(resource.owner);
      if (!schema) continue;
      const share = shares.get(resource.owner!) ?? { schema, tables: new Set<string>() };
      share.tables?.add(resource.name.slice(resource.name.indexOf('/') + 1));
      shares.set(resource.owner!, share);
    }
    return new Map([...shares].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** A context's schema if the caller holds one of `actions` on it; else NotFound, as if absent. */
  private async resolve(
    actor: Actor,
    context: string,
    actions: string[],
  ): Promise<{ schema: string; only?: Set<string> }> {
    if (context === MYDB_CONTEXT) return { schema: (await this.ownMydb(actor)).schema };
    if (context === MYSCRATCH_CONTEXT)
      return { schema: scratchOf(await this.ownMydb(actor)).schema };
    const hidden = new NotFound('context', `No database context named "${context}"`);
    if (context.startsWith(SHARED_PREFIX)) {
      const share = (await this.sharedWith(actor)).get(context.slice(SHARED_PREFIX.length));
      if (!share) throw hidden;
      return { schema: share.schema, ...(share.tables ? { only: share.tables } : {}) };
    }
    if (!CONTEXT_NAME.test(context) || context === MYSCRATCH_CONTEXT) throw hidden;
    const resource = await findResourceByName(this.db, CONTEXT_TYPE, context);
    if (!resource) throw hidden;
    for (const action of actions)
      if (await may(this.db, actor.userId, action, resource.id))
        return { schema: catalogSchemaOf(context) };
    throw hidden;
  }
}

function scratchOf(own: DatabaseContextView): DatabaseContextView {
  return {
    name: MYSCRATCH_CONTEXT,
    kind: 'myscratch',
    schema: scratchSchemaFor(own.schema),
    description: 'Your scratch space: no quota, tables dropped when they are old',
    actions: ['read', 'submitQuery', 'write'],
  };
}
