-- Up Migration
-- The files service (docs/files.md). Who may read or write a volume is in RACM (each volume is
-- a racm_resources row); these tables say where a volume's files are and what it is called.
-- A user volume's files are in <root path>/<owner id>/<volume id>/, so renames move nothing.
CREATE TABLE file_volumes (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  root        text NOT NULL,
  owner_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  resource_id bigint NOT NULL UNIQUE REFERENCES racm_resources ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Paths name a volume as root/owner/name.
  UNIQUE (root, owner_id, name)
);

-- Read-only datasets an admin registers from a host folder and shares.
CREATE TABLE file_data_volumes (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  host_path   text NOT NULL,
  description text NOT NULL DEFAULT '',
  resource_id bigint NOT NULL UNIQUE REFERENCES racm_resources ON DELETE CASCADE,
  created_by  bigint REFERENCES users ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Bytes each user's volumes take in each root: a running total the hub's writes keep and a
-- periodic rescan corrects (containers write too). quota_bytes: an admin's raise, else the root's.
CREATE TABLE file_usage (
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  root        text NOT NULL,
  used_bytes  bigint NOT NULL DEFAULT 0,
  quota_bytes bigint CHECK (quota_bytes > 0),
  scanned_at  timestamptz,
  PRIMARY KEY (user_id, root)
);

-- Invite codes giving read access to a volume; only the code's sha256 is kept.
CREATE TABLE file_share_links (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  volume_id  uuid NOT NULL REFERENCES file_volumes ON DELETE CASCADE,
  code_hash  text NOT NULL UNIQUE,
  created_by bigint REFERENCES users ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_share_links_volume ON file_share_links (volume_id);

-- Resumable uploads: the bytes wait in the root's hidden upload area until completed.
CREATE TABLE file_uploads (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  volume_id  uuid NOT NULL REFERENCES file_volumes ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  path       text NOT NULL,
  size       bigint NOT NULL CHECK (size >= 0),
  received   bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_uploads_user ON file_uploads (user_id);

-- Down Migration
DROP TABLE file_uploads;
DROP TABLE file_share_links;
DROP TABLE file_usage;
DROP TABLE file_data_volumes;
DROP TABLE file_volumes;
