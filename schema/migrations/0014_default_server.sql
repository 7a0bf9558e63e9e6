-- Up Migration
-- JupyterHub's default server: the unnamed server "" at /user/<name>/, beside named ones.
ALTER TABLE servers DROP CONSTRAINT servers_name_check;
ALTER TABLE servers ADD CONSTRAINT servers_name_check
  CHECK (name = '' OR name ~ '^[a-z0-9][a-z0-9-]{0,31}$');
-- What the start request asked for (JupyterHub's user_options), shown in the server model.
ALTER TABLE servers ADD COLUMN user_options jsonb NOT NULL DEFAULT '{}';
-- The scope "read:user" took JupyterHub's name "read:users".
UPDATE api_tokens SET scopes = array_replace(scopes, 'read:user', 'read:users');

-- Down Migration
UPDATE api_tokens SET scopes = array_replace(scopes, 'read:users', 'read:user');
DELETE FROM servers WHERE name = '';
ALTER TABLE servers DROP COLUMN user_options;
ALTER TABLE servers DROP CONSTRAINT servers_name_check;
ALTER TABLE servers ADD CONSTRAINT servers_name_check CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$');
