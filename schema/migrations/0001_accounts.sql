-- Up Migration
-- Accounts, browser sessions, API tokens, external (SSO) identities.
CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The login name after normalisation (NFKC, lower case); what users type and see.
  name          text NOT NULL UNIQUE,
  -- [a-z0-9-] form of the name, unique, used for containers, volumes, routes and database roles.
  safe_name     text NOT NULL UNIQUE CHECK (safe_name ~ '^[a-z0-9][a-z0-9-]*$'),
  email         text,
  -- argon2id hash; null for accounts that only sign in through an external provider.
  password_hash text,
  admin         boolean NOT NULL DEFAULT false,
  approved      boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);

CREATE TABLE external_identities (
  provider   text NOT NULL,
  subject    text NOT NULL,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  email      text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TABLE sessions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  -- sha256 of the cookie value; the cookie itself is never stored.
  token_hash   bytea NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  address      text
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  -- 'api': made by the user; 'server': handed to code in one of the user's servers.
  kind         text NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'server')),
  server_name  text,
  -- First characters of the token, shown in listings so users can tell tokens apart.
  prefix       text NOT NULL,
  -- sha256 of the token (256 random bits, so a fast hash is enough); the token itself is never stored.
  token_hash   bytea NOT NULL UNIQUE,
  note         text NOT NULL DEFAULT '',
  scopes       text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  last_used_at timestamptz,
  CHECK ((kind = 'server') = (server_name IS NOT NULL))
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Down Migration
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE external_identities;
DROP TABLE users;
