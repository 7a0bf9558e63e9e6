-- Up Migration
-- Users' MyDB spaces: a PostgreSQL role and a schema each, in the science database (never this
-- one). Only the names and the quota are kept here; the role's password is derived from the
-- hub's key, never stored. No foreign key to users: the row outlives a deleted account until
-- the account remover has dropped the schema and the role, so a removal that failed half-way
-- is retried with the names it must drop.
CREATE TABLE mydb_spaces (
  user_id     bigint PRIMARY KEY,
  role_name   text NOT NULL UNIQUE,
  schema_name text NOT NULL UNIQUE,
  quota_bytes bigint NOT NULL CHECK (quota_bytes >= 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE mydb_spaces;
