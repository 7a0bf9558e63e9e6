-- Up Migration
-- Notebook jobs, parameter sweeps and followable logs (docs/jobs.md). A job is a shell command
-- or a notebook executed with papermill (with parameters); jobs of one sweep share a sweep id.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('command', 'notebook'));
ALTER TABLE jobs ALTER COLUMN command DROP NOT NULL;
-- The notebook's path in the user's workspace (relative, inside it).
ALTER TABLE jobs ADD COLUMN notebook text CHECK (length(notebook) BETWEEN 1 AND 1024);
-- A notebook's parameters, or a sweep command job's parameter set (its ORRERY_PARAM_ variables).
ALTER TABLE jobs ADD COLUMN parameters jsonb CHECK (jsonb_typeof(parameters) = 'object');
ALTER TABLE jobs ADD COLUMN sweep_id uuid;
-- Bytes each stream had in all when the job ended; the tail kept in stdout/stderr ends there.
ALTER TABLE jobs ADD COLUMN stdout_bytes bigint;
ALTER TABLE jobs ADD COLUMN stderr_bytes bigint;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_fields CHECK (
  (kind = 'command' AND command IS NOT NULL AND notebook IS NULL)
  OR (kind = 'notebook' AND notebook IS NOT NULL AND command IS NULL));
ALTER TABLE jobs DROP CONSTRAINT jobs_failure_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_failure_check CHECK (failure IN
  ('exit_code', 'oom', 'image_missing', 'start_failed', 'cell_error', 'notebook_error'));
CREATE INDEX jobs_sweep ON jobs (sweep_id) WHERE sweep_id IS NOT NULL;

-- Down Migration
DROP INDEX jobs_sweep;
DELETE FROM jobs WHERE kind = 'notebook';
UPDATE jobs SET failure = 'exit_code' WHERE failure IN ('cell_error', 'notebook_error');
ALTER TABLE jobs DROP CONSTRAINT jobs_failure_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_failure_check CHECK (failure IN
  ('exit_code', 'oom', 'image_missing', 'start_failed'));
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_fields;
ALTER TABLE jobs DROP COLUMN stderr_bytes;
ALTER TABLE jobs DROP COLUMN stdout_bytes;
ALTER TABLE jobs DROP COLUMN sweep_id;
ALTER TABLE jobs DROP COLUMN parameters;
ALTER TABLE jobs DROP COLUMN notebook;
ALTER TABLE jobs ALTER COLUMN command SET NOT NULL;
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind = 'command');
