-- Up Migration
-- "may U do A on R?" and every per-resource lookup start from the resource: without this
-- index the planner, faced with "user_id = … OR group_id IN (…)", scans all privileges.
CREATE INDEX racm_privileges_resource ON racm_privileges (resource_id, action_id);

-- Down Migration
DROP INDEX racm_privileges_resource;
