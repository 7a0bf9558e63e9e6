/**
 * Saving a query's result as a new MyDB table, shared by batch queries and the quick query's
 * `into`. The name is a plain identifier, folded to lower case as PostgreSQL folds unquoted names
 * (so `Stars` is queried as `stars` or `Stars`), quoted when used. The SQL must be one query
 * (SELECT, WITH, VALUES, TABLE): it becomes `CREATE TABLE <schema>.<name> AS <sql>`, sent with
 * the extended protocol, which refuses a second statement (so nothing can follow the query out of
 * the wrapper), inside an explicit transaction: a failed, cancelled or killed query leaves no
 * table, not even an empty one.
 */
import pg from 'pg';
import { Conflict, Invalid } from '../errors.ts';

/** A plain identifier: what PostgreSQL accepts unquoted, at most 63 characters. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Names batch queries take automatically; a user's own would collide with a later one. */
const AUTOMATIC_NAME = /^batch_[0-9]+$/;
const DUPLICATE_TABLE = '42P07';
/** The extended protocol's refusal of a second statement (SQLSTATE 42601, syntax error). */
const MULTIPLE_COMMANDS = /cannot insert multiple commands into a prepared statement/;

/** The table name a user gave, validated and folded; throws Invalid (400) for anything else. */
export function tableNameOf(given: string): string {
  if (!PLAIN_NAME.test(given))
    throw new Invalid(
      'table_name',
      `"${given}" is not a plain table name: letters, digits and _, not starting with a digit, at most 63 characters`,
    );
  const name = given.toLowerCase();
  if (AUTOMATIC_NAME.test(name))
    throw new Invalid(
      'table_name',
      `"${given}" is the form of automatic batch table names (batch_<id>); choose another`,
    );
  return name;
}

export function automaticTableName(batchId: number): string {
  return `batch_${batchId}`;
}

/** Does `schema.name` exist already (as a table, view or anything else with a relation name)? */
export async function tableExists(
  admin: pg.Pool | pg.ClientBase,
  schema: string,
  name: string,
): Promise<boolean> {
  const { rowCount } = await admin.query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  return (rowCount ?? 0) > 0;
}

export function tableTakenError(name: string): Conflict {
  return new Conflict('table_exists', `Your MyDB already has a table named "${name}"`);
}

/** The wrapper put before the user's SQL; error positions are moved back past it. */
export function createTablePrefix(schema: string, name: string): string {
  return `CREATE TABLE ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)} AS `;
}

/**
 * Run `CREATE TABLE schema.name AS sql` on `client` in a transaction that is left OPEN: the
 * caller commits (after recording the outcome) or rolls back. Resolves with the rows written.
 * A duplicate name rejects with Conflict; PostgreSQL's other errors come as they are, with
 * `position` moved to point into `sql`.
 */
export async function createTableAs(
  client: pg.ClientBase,
  schema: string,
  name: string,
  sql: string,
): Promise<number> {
  const prefix = createTablePrefix(schema, name);
  await client.query('BEGIN');
  try {
    const result = await client.query({
      text: prefix + sql,
      queryMode: 'extended',
    } as pg.QueryConfig);
    return result.rowCount ?? 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const db = err as { code?: string; position?: string };
    if (db.code === DUPLICATE_TABLE) throw tableTakenError(name);
    if (MULTIPLE_COMMANDS.test((err as Error).message ?? ''))
      throw new Invalid(
        'one_query',
        'A result saved as a table comes from one query (SELECT, WITH, VALUES or TABLE), not a script; run the preparing statements in a session first',
      );
    if (db.position !== undefined) {
      const inSql = Number(db.position) - prefix.length;
      db.position = inSql >= 1 ? String(inSql) : undefined;
    }
    throw err;
  }
}
