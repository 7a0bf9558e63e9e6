-- Up Migration
-- Users' running servers. A row exists from the start request until the server is stopped;
-- history lives in the activity log.
CREATE TABLE servers (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id          bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  name             text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  image            text NOT NULL,
  domain           text NOT NULL,
  status           text NOT NULL CHECK (status IN ('starting', 'running', 'stopping')),
  -- What the backend needs to find the server again (container id and name, or pid and port).
  state            jsonb,
  -- Where the server answers, scheme://host:port; the proxy appends the request path.
  url              text,
  started_at       timestamptz NOT NULL DEFAULT now(),
  ready_at         timestamptz,
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, name)
);
CREATE INDEX servers_activity ON servers (last_activity_at) WHERE status = 'running';

-- Down Migration
DROP TABLE servers;
