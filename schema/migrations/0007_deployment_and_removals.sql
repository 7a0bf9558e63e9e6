-- Up Migration
-- This deployment's identity, made once and kept: every container, volume, network, bridge and
-- firewall rule the hub creates carries it, and a hub sweeps only what carries its own, so two
-- hubs on one Docker daemon (a benchmark beside a running hub) never touch each other's servers.
CREATE TABLE deployment (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id         text NOT NULL CHECK (id ~ '^[a-z0-9]{8}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO deployment (id) VALUES (substr(md5(gen_random_uuid()::text), 1, 8));

-- Deleted accounts whose servers and workspaces are still being removed. While a row is here
-- the name (and its safe name) cannot be registered again: nothing of the old account may
-- pass to a newcomer. No foreign key: the users row is gone already.
CREATE TABLE account_removals (
  user_id    bigint PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  safe_name  text NOT NULL UNIQUE,
  removed_at timestamptz NOT NULL DEFAULT now(),
  last_error text
);

-- Down Migration
DROP TABLE account_removals;
DROP TABLE deployment;
