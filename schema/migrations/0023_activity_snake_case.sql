-- Up Migration
-- Activity payloads' keys in snake_case, like every field of the API that shows them
-- (docs/api.md, "Naming"). Keys only, at the top level where the writers put them; values are
-- left as they are. A key with a capital becomes snake_case (volumeId → volume_id); where a
-- row already has the snake_case key as well, that one is kept. Running it again changes
-- nothing: no key with a capital is left.
UPDATE activity
   SET payload = (
     SELECT jsonb_object_agg(lower(regexp_replace(key, '([a-z0-9])([A-Z])', '\1_\2', 'g')), value
                             ORDER BY key ~ '[A-Z]' DESC, key)
       FROM jsonb_each(payload))
 WHERE jsonb_typeof(payload) = 'object'
   AND EXISTS (SELECT 1 FROM jsonb_object_keys(payload) AS key WHERE key ~ '[A-Z]');

-- Down Migration
-- Back to the keys the writers used before, so that a hub rolled back finds its own names.
-- Jobs' events wrote snake_case from the start (job.end's exit_code) and keep it.
UPDATE activity
   SET payload = (
     SELECT jsonb_object_agg(coalesce(old.name, e.key), e.value)
       FROM jsonb_each(payload) AS e
       LEFT JOIN (VALUES ('exit_code', 'exitCode'), ('token_id', 'tokenId'),
                         ('resource_id', 'resourceId'), ('privilege_id', 'privilegeId'),
                         ('quota_bytes', 'quotaBytes'), ('volume_id', 'volumeId'),
                         ('link_id', 'linkId'), ('expires_at', 'expiresAt'),
                         ('redeemed_by', 'redeemedBy'), ('host_path', 'hostPath'),
                         ('code_id', 'codeId'), ('code_hash', 'codeHash'),
                         ('group_id', 'groupId'), ('invitation_id', 'invitationId'),
                         ('parent_id', 'parentId'), ('child_id', 'childId'))
            AS old (key, name) ON old.key = e.key)
 WHERE jsonb_typeof(payload) = 'object'
   AND type NOT LIKE 'job.%'
   AND payload ?| ARRAY['exit_code', 'token_id', 'resource_id', 'privilege_id', 'quota_bytes',
                        'volume_id', 'link_id', 'expires_at', 'redeemed_by', 'host_path',
                        'code_id', 'code_hash', 'group_id', 'invitation_id', 'parent_id',
                        'child_id'];
