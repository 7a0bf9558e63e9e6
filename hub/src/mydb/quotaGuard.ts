/**
 * The quota checked at the end of every statement that can grow a MyDB, inside the statement's
 * own transaction, so a statement that would leave the MyDB over its quota fails and is rolled
 * back whole: nothing over the quota is ever committed. (grants.ts still takes write grants
 * from a MyDB found over its quota, e.g. after an admin lowered it.)
 *
 * - Every table in a MyDB schema carries a statement-level trigger `orrery_mydb_quota` (AFTER
 *   INSERT OR UPDATE; COPY FROM and MERGE fire it too) that measures the schema.
 * - An event trigger at the end of CREATE TABLE [AS] / SELECT INTO and ALTER TABLE (which add
 *   that trigger to a new or moved-in table), CREATE INDEX, CREATE and REFRESH MATERIALIZED
 *   VIEW measures the schema too: an index or a rewrite that grows past the quota is undone.
 * - A user owns their tables, so could drop or disable the trigger: the event triggers refuse
 *   any DDL (DROP TRIGGER, ALTER TABLE … DISABLE TRIGGER, ALTER TRIGGER) that leaves a MyDB
 *   table without it enabled.
 * - Quotas are copied into `orrery_quota.quotas` (schema → bytes) by every grant sync; the
 *   functions are SECURITY DEFINER (the hub's role) with a fixed search path, and users' roles
 *   hold no privilege on the table.
 *
 * While the statement runs its writes are on disk (bounded by the time limit, as for any
 * query); a failed INSERT leaves dead rows in an existing table until VACUUM truncates them.
 * Event triggers need a superuser: a hub role that is not one logs a warning and the quota is
 * then enforced after each query only.
 */
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import type { Logger } from '../log.ts';

/** PostgreSQL's configuration_limit_exceeded, with our message: the hub answers 403. */
export const QUOTA_SQLSTATE = '53400';
export const QUOTA_MESSAGE_PREFIX = 'MyDB quota exceeded';

const GUARD_SQL = `
-- A schema of its own: users' roles have no USAGE on it (triggers call it all the same).
CREATE SCHEMA IF NOT EXISTS orrery_quota;
REVOKE ALL ON SCHEMA orrery_quota FROM PUBLIC;
CREATE TABLE IF NOT EXISTS orrery_quota.quotas (
  schema_name name PRIMARY KEY,
  quota_bytes bigint NOT NULL
);
REVOKE ALL ON orrery_quota.quotas FROM PUBLIC;

-- Raise if schema \`target\` (a MyDB) takes more than its quota.
CREATE OR REPLACE FUNCTION orrery_quota.enforce(target name) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  quota bigint;
  used bigint;
BEGIN
  SELECT q.quota_bytes INTO quota FROM orrery_quota.quotas q WHERE q.schema_name = target;
  IF quota IS NULL THEN RETURN; END IF;
  SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) INTO used
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = target AND c.relkind IN ('r', 'p', 'm');
  IF used > quota THEN
    RAISE EXCEPTION '${QUOTA_MESSAGE_PREFIX}: this statement would leave % using % bytes of its quota of % bytes', target, used, quota
      USING ERRCODE = '${QUOTA_SQLSTATE}',
            HINT = 'Nothing it wrote was kept. Drop or truncate tables, write to MyScratch, or ask an admin for more.';
  END IF;
END
$fn$;

-- Raise if a table of MyDB \`target\` lacks the enabled quota trigger.
CREATE OR REPLACE FUNCTION orrery_quota.guarded(target name) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  bare text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM orrery_quota.quotas q WHERE q.schema_name = target) THEN RETURN; END IF;
  SELECT c.oid::regclass::text INTO bare
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = target AND c.relkind IN ('r', 'p')
     AND NOT EXISTS (SELECT 1 FROM pg_trigger t
                      WHERE t.tgrelid = c.oid AND t.tgenabled IN ('O', 'A')
                        AND t.tgfoid = 'orrery_quota.after_statement()'::regprocedure)
   LIMIT 1;
  IF bare IS NOT NULL THEN
    RAISE EXCEPTION 'The MyDB quota trigger of % may not be dropped or disabled', bare
      USING ERRCODE = '42501';
  END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION orrery_quota.after_statement() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM orrery_quota.enforce(TG_TABLE_SCHEMA::name);
  RETURN NULL;
END
$fn$;

-- The quota trigger on a table of a MyDB (none elsewhere: MyScratch has no quota).
CREATE OR REPLACE FUNCTION orrery_quota.attach(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = target
                    AND t.tgfoid = 'orrery_quota.after_statement()'::regprocedure) THEN
    EXECUTE format('CREATE TRIGGER orrery_mydb_quota AFTER INSERT OR UPDATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION orrery_quota.after_statement()', target);
  END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION orrery_quota.after_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  command record;
BEGIN
  FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    CONTINUE WHEN command.schema_name IS NULL
      OR NOT EXISTS (SELECT 1 FROM orrery_quota.quotas q WHERE q.schema_name = command.schema_name);
    -- A new table, or one moved in (ALTER TABLE … SET SCHEMA from MyScratch), gets the trigger;
    -- one whose trigger was disabled keeps it disabled, and the guard below refuses that.
    IF command.object_type = 'table' THEN
      PERFORM orrery_quota.attach(command.objid::regclass);
    END IF;
    PERFORM orrery_quota.guarded(command.schema_name::name);
    PERFORM orrery_quota.enforce(command.schema_name::name);
  END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION orrery_quota.after_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  target name;
BEGIN
  FOR target IN SELECT DISTINCT d.schema_name FROM pg_event_trigger_dropped_objects() d
                 WHERE d.object_type = 'trigger' AND d.schema_name IS NOT NULL LOOP
    PERFORM orrery_quota.guarded(target);
  END LOOP;
END
$fn$;

REVOKE ALL ON FUNCTION orrery_quota.enforce(name), orrery_quota.guarded(name),
  orrery_quota.attach(regclass) FROM PUBLIC;

DROP EVENT TRIGGER IF EXISTS orrery_mydb_quota_ddl;
CREATE EVENT TRIGGER orrery_mydb_quota_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE INDEX', 'ALTER TABLE',
               'CREATE MATERIALIZED VIEW', 'REFRESH MATERIALIZED VIEW', 'ALTER TRIGGER')
  EXECUTE FUNCTION orrery_quota.after_ddl();
DROP EVENT TRIGGER IF EXISTS orrery_mydb_quota_drop;
CREATE EVENT TRIGGER orrery_mydb_quota_drop ON sql_drop
  WHEN TAG IN ('DROP TRIGGER')
  EXECUTE FUNCTION orrery_quota.after_drop();
`;

/** Install the guard; false (logged) when the hub's role may not make event triggers. */
export async function installQuotaGuard(pool: Db, log: Logger): Promise<boolean> {
  const { rows } = await pool.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
  if (!rows[0]?.rolsuper) {
    log.warn(
      'the hub’s role is not a superuser of the science database: no event triggers, so the MyDB quota is enforced after each query only (one statement may overshoot it)',
    );
    return false;
  }
  await inTransaction(pool, async (client) => {
    // Two hubs starting on one science database install one after the other.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('orrery.mydb.quota-guard'))");
    await client.query(GUARD_SQL);
  });
  return true;
}

/**
 * Copy the quotas of `spaces` into the science database, and put the quota trigger on every
 * table of theirs that lacks it (tables made before the guard). In the grant sync's transaction.
 */
export async function syncQuotas(
  client: Queryable,
  spaces: readonly { schema: string; quotaBytes: number }[],
): Promise<void> {
  const installed = await client.query(
    "SELECT to_regclass('orrery_quota.quotas') IS NOT NULL AS ok",
  );
  if (!installed.rows[0].ok || spaces.length === 0) return;
  await client.query(
    `INSERT INTO orrery_quota.quotas (schema_name, quota_bytes)
     SELECT * FROM unnest($1::name[], $2::bigint[])
     ON CONFLICT (schema_name) DO UPDATE SET quota_bytes = EXCLUDED.quota_bytes
       WHERE orrery_quota.quotas.quota_bytes IS DISTINCT FROM EXCLUDED.quota_bytes`,
    [spaces.map((space) => space.schema), spaces.map((space) => space.quotaBytes)],
  );
  await client.query(
    `SELECT orrery_quota.attach(c.oid::regclass)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::name[]) AND c.relkind IN ('r', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid
                          AND t.tgfoid = 'orrery_quota.after_statement()'::regprocedure)`,
    [spaces.map((space) => space.schema)],
  );
}
