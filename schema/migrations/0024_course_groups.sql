-- Up Migration
-- A course's group is a group of its own kind, 'course': its roster is changed through the
-- course (which copies files, shares the lecture and grading volumes and logs course.* events),
-- never through the groups API, which refuses to change it.
ALTER TABLE groups DROP CONSTRAINT groups_kind_check;
ALTER TABLE groups ADD CONSTRAINT groups_kind_check
  CHECK (kind IN ('group', 'domain', 'public', 'course'));
UPDATE groups SET kind = 'course' WHERE id IN (SELECT group_id FROM courses);

-- Down Migration
UPDATE groups SET kind = 'group' WHERE kind = 'course';
ALTER TABLE groups DROP CONSTRAINT groups_kind_check;
ALTER TABLE groups ADD CONSTRAINT groups_kind_check
  CHECK (kind IN ('group', 'domain', 'public'));
