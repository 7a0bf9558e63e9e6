-- Up Migration
-- Every MyDB query, quick and batch: the history users search, and the batch queue the hub's
-- runners take work from. A batch query's id names its result table (`batch_<id>`). Rows go
-- with the account (ON DELETE CASCADE): a queued query of a deleted user is never started, and
-- a running one's runner finds its row gone at the next heartbeat and stops it.
CREATE TABLE mydb_queries (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind           text NOT NULL CHECK (kind IN ('quick', 'batch')),
  sql            text NOT NULL,
  context        text NOT NULL,
  session        text,
  -- The MyDB table the result went (or goes) into: every batch query's, a quick query's `into`.
  target_table   text,
  status         text NOT NULL CHECK (status IN
                   ('queued', 'running', 'finished', 'failed', 'cancelled', 'timed_out')),
  timeout_seconds integer CHECK (timeout_seconds > 0),
  submitted_at   timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  finished_at    timestamptz,
  duration_ms    bigint,
  row_count      bigint,
  error          text,
  -- Where in `sql` PostgreSQL placed the error (1-based characters), when it said.
  error_position integer,
  -- The hub process running a batch query, and when it last said it still does: a row running
  -- with an old heartbeat belongs to a hub that stopped (docs/mydb.md, "Batch queries").
  runner         text,
  heartbeat_at   timestamptz,
  CHECK (kind = 'batch' OR status <> 'queued'),
  CHECK (kind = 'quick' OR target_table IS NOT NULL)
);

-- History: a user's queries, newest first.
CREATE INDEX mydb_queries_user ON mydb_queries (user_id, id DESC);
-- The dispatcher's scan: the batch queue and what runs.
CREATE INDEX mydb_queries_batch_open ON mydb_queries (status, id)
  WHERE kind = 'batch' AND status IN ('queued', 'running');

-- Down Migration
DROP TABLE mydb_queries;
