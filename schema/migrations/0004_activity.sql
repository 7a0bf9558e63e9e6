-- Up Migration
-- The activity log: every meaningful event with a JSON payload.
CREATE TABLE activity (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  -- Whose history the event belongs to; kept (as null) when the account is deleted.
  user_id  bigint REFERENCES users ON DELETE SET NULL,
  actor_id bigint REFERENCES users ON DELETE SET NULL,
  type     text NOT NULL,
  address  text,
  payload  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_user_at ON activity (user_id, at DESC);
CREATE INDEX activity_type_at ON activity (type, at DESC);
CREATE INDEX activity_at ON activity (at DESC);

-- Down Migration
DROP TABLE activity;
