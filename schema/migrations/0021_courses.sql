-- Up Migration
-- Courses (docs/courses.md). A course IS a group (TEACHER = OWNER, TA = ADMIN, STUDENT = MEMBER):
-- deleting the group deletes the course. Files live in volumes and in the hub's private area
-- under the Storage root; these tables say what was released, submitted, collected and graded.
CREATE TABLE courses (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_id          bigint NOT NULL UNIQUE REFERENCES groups ON DELETE CASCADE,
  slug              text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  term              text NOT NULL DEFAULT '',
  ends_at           timestamptz NOT NULL,
  -- Who owns the lecture and grading volumes (the teacher who made the course).
  teacher_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  -- The invitation code: only its sha256 is kept; a new one replaces the old.
  invite_hash       text UNIQUE,
  invite_expires_at timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((invite_hash IS NULL) = (invite_expires_at IS NULL))
);

CREATE TABLE course_assignments (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  course_id      bigint NOT NULL REFERENCES courses ON DELETE CASCADE,
  name           text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  title          text NOT NULL DEFAULT '',
  mode           text NOT NULL CHECK (mode IN ('lecture', 'copy')),
  -- The teacher's folder it is released from, by path names (resolved with the teacher's rights).
  source_root    text NOT NULL,
  source_owner   text NOT NULL,
  source_volume  text NOT NULL,
  source_path    text NOT NULL,
  release_at     timestamptz NOT NULL,
  due_at         timestamptz,
  released_at    timestamptz,
  -- Where the last collect put the submissions (the grading folder Return reads feedback from).
  collected_into jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (course_id, name)
);
CREATE INDEX course_assignments_unreleased ON course_assignments (release_at) WHERE released_at IS NULL;

-- One row per student and assignment once anything happened: their copy, collect, return, grade.
CREATE TABLE course_work (
  assignment_id    bigint NOT NULL REFERENCES course_assignments ON DELETE CASCADE,
  user_id          bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  copied_at        timestamptz,
  collected_number integer,
  returned_at      timestamptz,
  score            double precision,
  comment          text NOT NULL DEFAULT '',
  PRIMARY KEY (assignment_id, user_id)
);

-- Each submission is a snapshot in the hub's private area; the highest number counts.
CREATE TABLE course_submissions (
  assignment_id bigint NOT NULL REFERENCES course_assignments ON DELETE CASCADE,
  user_id       bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  number        integer NOT NULL CHECK (number >= 1),
  submitted_at  timestamptz NOT NULL,
  late          boolean NOT NULL,
  bytes         bigint NOT NULL,
  PRIMARY KEY (assignment_id, user_id, number)
);

-- Down Migration
DROP TABLE course_submissions;
DROP TABLE course_work;
DROP TABLE course_assignments;
DROP TABLE courses;
