-- Up Migration
-- OAuth for JupyterHub's stock single-user servers (docs/jupyterhub.md): a server's OAuth
-- client is identified by its client id and authenticated by its server token; the access
-- tokens it gets for its users are api_tokens of kind 'oauth', bound to that server.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check
  CHECK (kind IN ('api', 'server', 'oauth'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_check
  CHECK ((kind = 'api') = (server_name IS NULL));

-- Authorization codes: single use (taken by DELETE … RETURNING), short-lived, stored as sha256.
CREATE TABLE oauth_codes (
  code_hash bytea PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  server_name text NOT NULL,
  client_id text NOT NULL,
  redirect_uri text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

-- Down Migration
DROP TABLE oauth_codes;
DELETE FROM api_tokens WHERE kind = 'oauth';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_check
  CHECK ((kind = 'server') = (server_name IS NOT NULL));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('api', 'server'));
