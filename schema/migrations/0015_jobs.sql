-- Up Migration
-- Batch jobs (docs/jobs.md): a shell command run in a container of a compute domain, queued
-- here and taken by any hub sharing this database. Status changes only through the
-- compare-and-set in hub/src/jobs/status.ts.
CREATE TABLE jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind text NOT NULL DEFAULT 'command' CHECK (kind IN ('command')),
  command text NOT NULL CHECK (length(command) BETWEEN 1 AND 65536),
  image text NOT NULL,
  domain text NOT NULL,
  -- Relative to the user's workspace; '' is its top.
  working_dir text NOT NULL DEFAULT '',
  cpus real NOT NULL CHECK (cpus > 0),
  memory_bytes bigint NOT NULL CHECK (memory_bytes > 0),
  time_limit_seconds integer NOT NULL CHECK (time_limit_seconds > 0),
  idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  -- The job this one was resubmitted from.
  resubmitted_from bigint REFERENCES jobs(id) ON DELETE SET NULL,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
  -- Why it failed: exit_code, oom, image_missing, start_failed; with a message for people.
  failure text CHECK (failure IN ('exit_code', 'oom', 'image_missing', 'start_failed')),
  message text,
  exit_code integer,
  -- Which dispatcher (one per hub process) watches it, and when it last said so.
  dispatcher text,
  heartbeat_at timestamptz,
  -- Claims of this job: more than one means it was re-queued after a start was lost.
  attempts integer NOT NULL DEFAULT 0,
  container_name text,
  stdout text,
  stderr text,
  submitted_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  CHECK ((status = 'failed') = (failure IS NOT NULL))
);
-- One job per user and key: a retried submission finds the job it made.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_queued ON jobs (domain, user_id, id) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (domain, user_id) WHERE status = 'running';
-- Fair share reads each user's recent runs.
CREATE INDEX jobs_recent ON jobs (domain, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_user ON jobs (user_id, id DESC);

-- Down Migration
DROP TABLE jobs;
