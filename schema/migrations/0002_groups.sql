-- Up Migration
-- Groups (with roles, invitations and nesting), the Public group and science domains.
CREATE TABLE groups (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '',
  -- 'group': made by a user; 'domain': a science domain anyone may join; 'public': everyone.
  kind        text NOT NULL DEFAULT 'group' CHECK (kind IN ('group', 'domain', 'public')),
  created_by  bigint REFERENCES users ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_name ON groups (lower(name));
CREATE UNIQUE INDEX groups_one_public ON groups (kind) WHERE kind = 'public';

CREATE TABLE group_members (
  group_id  bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  user_id   bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  role      text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER')),
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE group_invitations (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_id    bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('ADMIN', 'MEMBER')),
  invited_by  bigint REFERENCES users ON DELETE SET NULL,
  status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz
);
CREATE UNIQUE INDEX group_invitations_one_pending ON group_invitations (group_id, user_id) WHERE status = 'pending';
CREATE INDEX group_invitations_user ON group_invitations (user_id) WHERE status = 'pending';

-- child's members count as members of parent: privileges given to parent flow down to them.
CREATE TABLE group_nesting (
  parent_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  child_id  bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  PRIMARY KEY (parent_id, child_id),
  CHECK (parent_id <> child_id)
);
CREATE INDEX group_nesting_child ON group_nesting (child_id);

-- Transitive closure of group_nesting, including (g, g): a member of descendant is a member of ancestor.
-- Kept by groups/nesting.ts so that access checks never recurse.
CREATE TABLE group_closure (
  ancestor_id   bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  descendant_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  PRIMARY KEY (descendant_id, ancestor_id)
);
CREATE INDEX group_closure_ancestor ON group_closure (ancestor_id);

INSERT INTO groups (name, description, kind) VALUES ('Public', 'Every Orrery user', 'public');
INSERT INTO group_closure (ancestor_id, descendant_id) SELECT id, id FROM groups;

-- Down Migration
DROP TABLE group_closure;
DROP TABLE group_nesting;
DROP TABLE group_invitations;
DROP TABLE group_members;
DROP TABLE groups;
