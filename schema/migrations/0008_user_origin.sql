-- Up Migration
-- Users' servers on their own origin (ORRERY_USER_ORIGIN): the hub hands a signed-in user's
-- login to their own host with a one-use code, which that host trades for a cookie of its own.
-- Both belong to the hub session that asked for them and die with it (logout deletes it).
CREATE TABLE user_origin_codes (
  -- sha256 of the code; the code itself is never stored.
  code_hash  bytea PRIMARY KEY,
  session_id bigint NOT NULL REFERENCES sessions ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  -- The only host that may redeem it, and the path there it leads to.
  host       text NOT NULL,
  -- sha256 of the state the user's host gave the browser (in a cookie) when it sent it to the
  -- hub: only that browser can redeem the code, so no one can plant their own login on a host.
  state_hash bytea NOT NULL,
  next       text NOT NULL,
  expires_at timestamptz NOT NULL
);

CREATE TABLE user_host_sessions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- sha256 of the host cookie's value.
  token_hash bytea NOT NULL UNIQUE,
  session_id bigint NOT NULL REFERENCES sessions ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  -- The cookie is honoured on this host only.
  host       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX user_origin_codes_session ON user_origin_codes (session_id);
CREATE INDEX user_host_sessions_session ON user_host_sessions (session_id);

-- Down Migration
DROP TABLE user_host_sessions;
DROP TABLE user_origin_codes;
