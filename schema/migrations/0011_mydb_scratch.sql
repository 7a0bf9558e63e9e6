-- Up Migration
-- MyScratch tables as the hub first saw them: PostgreSQL keeps no creation time, so the sweeper
-- (hub/src/mydb/scratch.ts) notes each table's oid when it first sees it and drops the table
-- once it is older than ORRERY_MYDB_SCRATCH_MAX_AGE_HOURS. Rows of tables gone are forgotten.
CREATE TABLE mydb_scratch_tables (
  user_id       bigint NOT NULL,
  table_oid     bigint NOT NULL,
  table_name    text NOT NULL,
  first_seen_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, table_oid)
);

-- Down Migration
DROP TABLE mydb_scratch_tables;
