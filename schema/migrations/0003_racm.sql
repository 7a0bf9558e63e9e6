-- Up Migration
-- Resource access control (RACM): contexts register resource types with actions;
-- privileges give a user or a group one action on one resource.
CREATE TABLE racm_contexts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  description   text NOT NULL DEFAULT '',
  url           text,
  registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE racm_resource_types (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  context_id  bigint NOT NULL REFERENCES racm_contexts ON DELETE CASCADE,
  name        text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  -- Whether any user may register resources of this type (a volume) or only admins (an image).
  user_creatable boolean NOT NULL DEFAULT false
);

CREATE TABLE racm_actions (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type_id bigint NOT NULL REFERENCES racm_resource_types ON DELETE CASCADE,
  name    text NOT NULL,
  UNIQUE (type_id, name)
);

CREATE TABLE racm_resources (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type_id     bigint NOT NULL REFERENCES racm_resource_types ON DELETE CASCADE,
  -- The owning service's own identifier for the resource (a volume path, an image name...).
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  owner_id    bigint REFERENCES users ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (type_id, name)
);
CREATE INDEX racm_resources_owner ON racm_resources (owner_id);

CREATE TABLE racm_privileges (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource_id bigint NOT NULL REFERENCES racm_resources ON DELETE CASCADE,
  action_id  bigint NOT NULL REFERENCES racm_actions ON DELETE CASCADE,
  user_id    bigint REFERENCES users ON DELETE CASCADE,
  group_id   bigint REFERENCES groups ON DELETE CASCADE,
  granted_by bigint REFERENCES users ON DELETE SET NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
-- "may U do A on R?" reads the first index; "what may U read?" the last two.
CREATE UNIQUE INDEX racm_privileges_user ON racm_privileges (resource_id, action_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX racm_privileges_group ON racm_privileges (resource_id, action_id, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX racm_privileges_by_user ON racm_privileges (user_id, action_id) WHERE user_id IS NOT NULL;
CREATE INDEX racm_privileges_by_group ON racm_privileges (group_id, action_id) WHERE group_id IS NOT NULL;

-- Down Migration
DROP TABLE racm_privileges;
DROP TABLE racm_resources;
DROP TABLE racm_actions;
DROP TABLE racm_resource_types;
DROP TABLE racm_contexts;
