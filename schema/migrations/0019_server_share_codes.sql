-- Up Migration
-- Sharing a running server (docs/jupyterhub.md, "Sharing a server"): shares themselves are RACM
-- privileges on the server's `Server` resource; a share code is an invitation that makes one
-- for whoever redeems it until it expires. Only the code's sha256 is kept.
CREATE TABLE server_share_codes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource_id bigint NOT NULL REFERENCES racm_resources(id) ON DELETE CASCADE,
  code_hash text NOT NULL UNIQUE,
  -- The RACM actions a redeemer is given (access, manage).
  actions text[] NOT NULL CHECK (cardinality(actions) >= 1),
  created_by bigint REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  exchange_count integer NOT NULL DEFAULT 0,
  last_exchanged_at timestamptz
);
CREATE INDEX server_share_codes_resource ON server_share_codes (resource_id);

-- Down Migration
DROP TABLE server_share_codes;
