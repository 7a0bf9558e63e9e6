-- Up Migration
-- A platform admin's explicit access to another user's running server ("open as admin"):
-- asked for on the admin page, recorded in the activity log, honoured by the proxy until it
-- expires or the server stops (the row goes with the server's). The admin reaches the server
-- as themself; the owner's credentials are never handed over.
CREATE TABLE server_admin_access (
  server_id  bigint NOT NULL REFERENCES servers ON DELETE CASCADE,
  admin_id   bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  granted_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (server_id, admin_id)
);
CREATE INDEX server_admin_access_admin_id ON server_admin_access (admin_id);

-- Down Migration
DROP TABLE server_admin_access;
