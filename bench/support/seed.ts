/**
 * Set-based seeding of a RACM-sized database: users, nested groups, memberships,
 * resources and privileges, each phase one or a few INSERT ... SELECT statements.
 * Nothing the hub relies on is disabled: foreign keys, checks and every index stay on.
 */
import type pg from 'pg';
import { registerCoreContexts } from '../../hub/src/racm/contexts.ts';
import { msSince } from './stats.ts';

export interface SeedSize {
  users: number;
  /** Groups per level, top first: [10, 90, 900] nests 1,000 groups three deep. */
  levels: [number, number, number];
  /** Groups each user joins at random among the deepest level (the Public group comes on top). */
  leafGroupsPerUser: number;
  resources: number;
  privileges: number;
  /** Share of the privileges given to groups rather than users (owners' privileges excepted). */
  groupShare: number;
}

export const DEFAULT_SIZE: SeedSize = {
  users: 10_000,
  levels: [10, 90, 900],
  leafGroupsPerUser: 3,
  resources: 100_000,
  privileges: 1_000_000,
  groupShare: 0.4,
};

/** Deepest level first so that `level` 0 is the top. */
const LEVEL_PREFIX = ['top', 'mid', 'leaf'] as const;

// How the resources split over the core types, with whether users own them.
const TYPE_MIX = [
  { type: 'UserVolume', share: 0.6, owned: true },
  { type: 'DataVolume', share: 0.2, owned: true },
  { type: 'DatabaseContext', share: 0.1, owned: false },
  { type: 'DockerImage', share: 0.05, owned: false },
  { type: 'ComputeDomain', share: 0.05, owned: false },
] as const;

export interface SeedReport {
  seconds: Record<string, number>;
  totalSeconds: number;
  counts: Record<string, number>;
  closure: { rows: number; missing: number; extra: number };
}

async function count(client: pg.ClientBase, table: string): Promise<number> {
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0].n;
}

/** Seed `client`'s database (freshly migrated); the session's random() is seeded so runs repeat. */
export async function seed(
  client: pg.PoolClient,
  size: SeedSize = DEFAULT_SIZE,
): Promise<SeedReport> {
  const seconds: Record<string, number> = {};
  const phase = async (name: string, work: () => Promise<unknown>) => {
    const start = process.hrtime.bigint();
    await work();
    seconds[name] = Math.round(msSince(start)) / 1000;
  };
  const started = process.hrtime.bigint();
  // Session-only: losing the last commits on a crash is fine for a throw-away database.
  await client.query('SET synchronous_commit = off');
  await client.query('SELECT setseed(0.42)');

  await phase('contexts', () => registerCoreContexts(client));

  await phase('users', () =>
    client.query(
      `INSERT INTO users (name, safe_name, email, approved)
       SELECT 'user' || i, 'user' || i, 'user' || i || '@example.org', true
       FROM generate_series(1, $1::int) AS i`,
      [size.users],
    ),
  );

  await phase('groups', async () => {
    await client.query(
      `INSERT INTO groups (name, description, kind)
       SELECT prefix || '-' || i, 'benchmark group', 'group'
       FROM unnest($1::text[], $2::int[]) AS level(prefix, n), generate_series(0, n - 1) AS i`,
      [LEVEL_PREFIX, size.levels],
    );
    // Level k+1 group i sits inside level k group i / (n(k+1) / n(k)): an even tree.
    await client.query(
      `INSERT INTO group_nesting (parent_id, child_id)
       SELECT parent.id, child.id
       FROM unnest($1::text[], $2::text[], $3::int[]) AS edge(parent_prefix, child_prefix, fanout)
       JOIN groups child ON child.name LIKE edge.child_prefix || '-%'
       JOIN groups parent
         ON parent.name = edge.parent_prefix || '-' || (split_part(child.name, '-', 2)::int / edge.fanout)`,
      [
        LEVEL_PREFIX.slice(0, 2),
        LEVEL_PREFIX.slice(1),
        [size.levels[1] / size.levels[0], size.levels[2] / size.levels[1]],
      ],
    );
    // The closure written out level by level (not by the recursive query it is checked against).
    await client.query(
      `INSERT INTO group_closure (ancestor_id, descendant_id)
       SELECT id, id FROM groups WHERE kind = 'group'
       UNION ALL SELECT parent_id, child_id FROM group_nesting
       UNION ALL SELECT up.parent_id, down.child_id
         FROM group_nesting down JOIN group_nesting up ON up.child_id = down.parent_id`,
    );
  });

  await phase('memberships', async () => {
    await client.query(
      `INSERT INTO group_members (group_id, user_id, role)
       SELECT (SELECT id FROM groups WHERE kind = 'public'), id, 'MEMBER' FROM users`,
    );
    // A few random groups of the deepest level for everyone, a middle one for one user in ten,
    // a top one for one in a hundred; the first member of each group owns it.
    await client.query(
      `INSERT INTO group_members (group_id, user_id, role)
       SELECT g.id, pick.user_id, 'MEMBER'
       FROM (
         SELECT u.id AS user_id, level.prefix, floor(random() * level.n)::int AS i
         FROM users u
         CROSS JOIN unnest($1::text[], $2::int[], $3::float8[]) AS level(prefix, n, per_user)
         CROSS JOIN generate_series(1, ceil(level.per_user)::int) AS k
         WHERE random() < level.per_user / ceil(level.per_user)
       ) pick
       JOIN groups g ON g.name = pick.prefix || '-' || pick.i
       ON CONFLICT DO NOTHING`,
      [LEVEL_PREFIX, size.levels, [0.01, 0.1, size.leafGroupsPerUser]],
    );
    await client.query(
      `UPDATE group_members m SET role = 'OWNER'
       FROM (SELECT group_id, min(user_id) AS user_id FROM group_members m
             JOIN groups g ON g.id = m.group_id WHERE g.kind = 'group' GROUP BY group_id) first
       WHERE m.group_id = first.group_id AND m.user_id = first.user_id`,
    );
  });

  await phase('resources', async () => {
    await client.query(
      `INSERT INTO racm_resources (type_id, name, description, owner_id)
       SELECT t.id, mix.type || '-' || i, '', CASE WHEN mix.owned THEN 1 + floor(random() * $5)::bigint END
       FROM unnest($1::text[], $2::float8[], $3::bool[]) WITH ORDINALITY AS mix(type, share, owned, ord)
       JOIN racm_resource_types t ON t.name = mix.type
       CROSS JOIN generate_series(1, round(mix.share * $4)::int) AS i
       ORDER BY mix.ord, i`,
      [
        TYPE_MIX.map((mix) => mix.type),
        TYPE_MIX.map((mix) => mix.share),
        TYPE_MIX.map((mix) => mix.owned),
        size.resources,
        size.users,
      ],
    );
  });

  await phase('privileges', async () => {
    // What registerResource does, for every owned resource at once: the owner gets every action.
    await client.query(
      `INSERT INTO racm_privileges (resource_id, action_id, user_id, granted_by)
       SELECT r.id, a.id, r.owner_id, r.owner_id
       FROM racm_resources r JOIN racm_actions a ON a.type_id = r.type_id
       WHERE r.owner_id IS NOT NULL`,
    );
    await client.query(
      `CREATE TEMP TABLE bench_type_actions AS
       SELECT type_id, array_agg(id ORDER BY id) FILTER (WHERE name <> 'grant') AS acts,
              min(id) FILTER (WHERE name = 'grant') AS grant_id
       FROM racm_actions GROUP BY type_id`,
    );
    await client.query(
      `CREATE TEMP TABLE bench_groups AS
       SELECT row_number() OVER (ORDER BY id) AS n, id FROM groups WHERE kind = 'group'`,
    );
    // The Public group: a few hundred images and data sets everyone may use or read.
    await client.query(
      `INSERT INTO racm_privileges (resource_id, action_id, group_id)
       SELECT r.id, a.id, (SELECT id FROM groups WHERE kind = 'public')
       FROM racm_resources r JOIN racm_resource_types t ON t.id = r.type_id
       JOIN racm_actions a ON a.type_id = t.id AND a.name IN ('use', 'read')
       WHERE t.name IN ('DockerImage', 'DataVolume') AND r.id % 100 = 0`,
    );
    // Shares: a random resource, a random action of its type (grant one time in twenty),
    // to a random user or a random group. Drawn 2% over into a scratch table, rid of
    // duplicates there, then inserted in one plain statement per grantee kind, in
    // resource order: speculative ON CONFLICT inserts and top-up loops cost minutes.
    const held = await count(client, 'racm_privileges');
    const groupTarget = Math.round((size.privileges - held) * size.groupShare);
    const userTarget = size.privileges - held - groupTarget;
    const groups = size.levels[0] + size.levels[1] + size.levels[2];
    await client.query(
      `CREATE TEMP TABLE bench_shares AS
       SELECT DISTINCT ON (1, 2, 3, 4)
              r.id AS resource_id,
              CASE WHEN s.g < 0.05 THEN ta.grant_id
                   ELSE ta.acts[1 + floor(s.a * cardinality(ta.acts))::int] END AS action_id,
              s.user_id, bg.id AS group_id, r.owner_id AS granted_by, s.ord
       FROM (SELECT 1 + floor(random() * $1)::bigint AS rid, random() AS a, random() AS g,
                    CASE WHEN i <= $3::int THEN 1 + floor(random() * $4)::bigint END AS group_n,
                    CASE WHEN i > $3::int THEN 1 + floor(random() * $5)::bigint END AS user_id,
                    random() AS ord
             FROM generate_series(1, $3::int + $2::int) AS i) s
       JOIN racm_resources r ON r.id = s.rid
       JOIN bench_type_actions ta ON ta.type_id = r.type_id
       LEFT JOIN bench_groups bg ON bg.n = s.group_n`,
      [
        size.resources,
        Math.ceil(userTarget * 1.02),
        Math.ceil(groupTarget * 1.02),
        groups,
        size.users,
      ],
    );
    for (const [column, target] of [
      ['group_id', groupTarget],
      ['user_id', userTarget],
    ] as const) {
      await client.query(
        `INSERT INTO racm_privileges (resource_id, action_id, user_id, group_id, granted_by)
         SELECT resource_id, action_id, user_id, group_id, granted_by FROM (
           SELECT s.* FROM bench_shares s
           WHERE s.${column} IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM racm_privileges p WHERE p.resource_id = s.resource_id
                               AND p.action_id = s.action_id AND p.${column} = s.${column})
           ORDER BY s.ord LIMIT $1) pick
         ORDER BY resource_id`,
        [target],
      );
    }
    const total = await count(client, 'racm_privileges');
    if (total !== size.privileges)
      throw new Error(`seeded ${total} privileges, wanted ${size.privileges}`);
  });

  await phase('vacuumAnalyze', () => client.query('VACUUM (ANALYZE)'));

  const { rows: ids } = await client.query(
    `SELECT (SELECT min(id) FROM users) AS u0, (SELECT max(id) FROM users) AS u1,
            (SELECT min(id) FROM racm_resources) AS r0, (SELECT max(id) FROM racm_resources) AS r1`,
  );
  if (
    ids[0].u0 !== 1 ||
    ids[0].u1 !== size.users ||
    ids[0].r0 !== 1 ||
    ids[0].r1 !== size.resources
  )
    throw new Error(`seeding expects dense ids from 1, got ${JSON.stringify(ids[0])}`);

  const closure = await checkClosure(client);
  if (closure.missing || closure.extra)
    throw new Error(`group_closure disagrees with group_nesting: ${JSON.stringify(closure)}`);

  const counts: Record<string, number> = {};
  for (const table of [
    'users',
    'groups',
    'group_nesting',
    'group_closure',
    'group_members',
    'racm_resources',
    'racm_privileges',
  ])
    counts[table] = await count(client, table);
  counts['groupPrivileges'] = await count(client, 'racm_privileges WHERE group_id IS NOT NULL');
  return {
    seconds,
    totalSeconds: Math.round(msSince(started)) / 1000,
    counts,
    closure,
  };
}

/** Compare group_closure with the transitive closure of group_nesting computed recursively. */
export async function checkClosure(client: pg.ClientBase) {
  const { rows } = await client.query(
    `WITH RECURSIVE reach(ancestor_id, descendant_id) AS (
       SELECT id, id FROM groups
       UNION
       SELECT n.parent_id, r.descendant_id FROM group_nesting n JOIN reach r ON r.ancestor_id = n.child_id
     )
     SELECT (SELECT count(*) FROM group_closure)::int AS rows,
       (SELECT count(*) FROM (SELECT * FROM reach EXCEPT SELECT ancestor_id, descendant_id FROM group_closure) x)::int AS missing,
       (SELECT count(*) FROM (SELECT ancestor_id, descendant_id FROM group_closure EXCEPT SELECT * FROM reach) x)::int AS extra`,
  );
  return rows[0] as { rows: number; missing: number; extra: number };
}
