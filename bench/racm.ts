/**
 * RACM at SciServer scale: 10,000 users, 1,000 groups nested three deep,
 * 100,000 resources and 1,000,000 privileges in a fresh database, then the
 * hub's own may() and listAllowed() timed against a floor of `SELECT 1`
 * round trips on the same pool. Run: npx tsx bench/racm.ts
 */
import type pg from 'pg';
import { migrate } from '../hub/src/db/migrate.ts';
import { createPool, type Queryable } from '../hub/src/db/pool.ts';
import { listAllowed, may } from '../hub/src/racm/store.ts';
import { createBenchDatabase } from './support/database.ts';
import { DEFAULT_SIZE, seed } from './support/seed.ts';
import {
  machine,
  msSince,
  ratio,
  seededRandom,
  shuffle,
  summarise,
  timeSequential,
  writeResult,
} from './support/stats.ts';

const CHECKS = { direct: 4_000, nested: 2_000, random: 4_000 };
const LIST_USERS = 1_000;
const WARMUP = 500;
/** Each timed series stops after this long (env ORRERY_BENCH_BUDGET_SECONDS); the sample says how far it got. */
const BUDGET_MS = Number(process.env.ORRERY_BENCH_BUDGET_SECONDS ?? 90) * 1000;
/** SQL run after seeding, e.g. a candidate index, to measure a fix (env ORRERY_BENCH_EXTRA_SQL). */
const EXTRA_SQL = process.env.ORRERY_BENCH_EXTRA_SQL ?? '';
const TARGET_MS = { may: 1, listAllowed: 10 };

interface Check {
  kind: keyof typeof CHECKS;
  userId: number;
  action: string;
  resourceId: number;
}

/** Checks that must be allowed (direct grants), allowed only through a nested group, or random. */
async function buildChecks(client: pg.ClientBase): Promise<Check[]> {
  const direct = await client.query(
    `SELECT p.user_id AS "userId", a.name AS action, p.resource_id AS "resourceId"
     FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id
     WHERE p.user_id IS NOT NULL ORDER BY random() LIMIT $1`,
    [CHECKS.direct],
  );
  // A privilege given to a top or middle group, checked for a member of a group nested inside it
  // who holds it no other way (not directly, not through a group they belong to themselves).
  const nested = await client.query(
    `SELECT m.user_id AS "userId", a.name AS action, p.resource_id AS "resourceId"
     FROM (SELECT p.* FROM racm_privileges p
           WHERE p.group_id IN (SELECT ancestor_id FROM group_closure WHERE ancestor_id <> descendant_id)
           ORDER BY random() LIMIT $1 * 2) p
     JOIN racm_actions a ON a.id = p.action_id
     CROSS JOIN LATERAL (
       SELECT gm.user_id FROM group_closure c JOIN group_members gm ON gm.group_id = c.descendant_id
       WHERE c.ancestor_id = p.group_id AND c.descendant_id <> p.group_id
       ORDER BY random() LIMIT 1) m
     WHERE NOT EXISTS (SELECT 1 FROM racm_privileges q WHERE q.resource_id = p.resource_id
                         AND q.action_id = p.action_id AND q.user_id = m.user_id)
       AND NOT EXISTS (SELECT 1 FROM racm_privileges q JOIN group_members gm ON gm.group_id = q.group_id
                       WHERE q.resource_id = p.resource_id AND q.action_id = p.action_id
                         AND gm.user_id = m.user_id)
     LIMIT $1`,
    [CHECKS.nested],
  );
  const random = await client.query(
    `SELECT s.user_id AS "userId", a.name AS action, r.id AS "resourceId"
     FROM (SELECT 1 + floor(random() * (SELECT max(id) FROM users))::bigint AS user_id,
                  1 + floor(random() * (SELECT max(id) FROM racm_resources))::bigint AS resource_id,
                  random() AS pick
           FROM generate_series(1, $1::int)) s
     JOIN racm_resources r ON r.id = s.resource_id
     CROSS JOIN LATERAL (SELECT name FROM racm_actions WHERE type_id = r.type_id
                         ORDER BY name
                         OFFSET floor(s.pick * (SELECT count(*) FROM racm_actions x WHERE x.type_id = r.type_id))
                         LIMIT 1) a`,
    [CHECKS.random],
  );
  const tag = (kind: Check['kind'], rows: Omit<Check, 'kind'>[]) =>
    rows.map((row) => ({ kind, ...row }));
  return [
    ...tag('direct', direct.rows),
    ...tag('nested', nested.rows),
    ...tag('random', random.rows),
  ];
}

/**
 * The expected answers, from the recursive definition of membership over group_nesting
 * (not group_closure, which is what may() reads), in one set-based query.
 */
async function expectedAnswers(client: pg.ClientBase, checks: Check[]): Promise<boolean[]> {
  const { rows } = await client.query(
    `WITH RECURSIVE c AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS c(u, action, r, i)
     ), ug(u, g) AS (
       SELECT user_id, group_id FROM group_members WHERE user_id IN (SELECT u FROM c)
       UNION
       SELECT ug.u, n.parent_id FROM ug JOIN group_nesting n ON n.child_id = ug.g
     ), held AS (
       SELECT p.resource_id AS r, a.name AS action, p.user_id AS u
       FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id WHERE p.user_id IS NOT NULL
       UNION
       SELECT p.resource_id, a.name, ug.u
       FROM racm_privileges p JOIN racm_actions a ON a.id = p.action_id JOIN ug ON ug.g = p.group_id
     )
     SELECT c.i, EXISTS (SELECT 1 FROM held h WHERE h.r = c.r AND h.action = c.action AND h.u = c.u) AS allowed
     FROM c ORDER BY c.i`,
    [checks.map((c) => c.userId), checks.map((c) => c.action), checks.map((c) => c.resourceId)],
  );
  return rows.map((row) => row.allowed);
}

/** Runs `call` against a recorder to learn the SQL the hub sends, then EXPLAIN ANALYZEs it. */
async function explain(
  db: pg.Pool,
  call: (recorder: Queryable) => Promise<unknown>,
): Promise<string[]> {
  let sent: { text: string; values: unknown[] } | undefined;
  const recorder = {
    // The hub sends hot queries as named statements ({ name, text, values }); record either form.
    query(query: string | { text: string; values?: unknown[] }, values?: unknown[]) {
      sent =
        typeof query === 'string'
          ? { text: query, values: values ?? [] }
          : { text: query.text, values: query.values ?? [] };
      return db.query(sent.text, sent.values);
    },
  } as unknown as Queryable;
  await call(recorder);
  if (!sent) throw new Error('the call sent no query');
  const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${sent.text}`, sent.values);
  return rows.map((row) => row['QUERY PLAN']);
}

async function main() {
  const database = await createBenchDatabase('racm');
  const db = createPool(database.url);
  try {
    const migrateStart = process.hrtime.bigint();
    await migrate(database.url);
    const migrateMs = msSince(migrateStart);

    const client = await db.connect();
    let seeded: Awaited<ReturnType<typeof seed>>;
    let checks: Check[];
    let expected: boolean[];
    let listUsers: number[];
    try {
      seeded = await seed(client, DEFAULT_SIZE);
      if (EXTRA_SQL) {
        await client.query(EXTRA_SQL);
        await client.query('ANALYZE');
        console.log(`racm: applied ORRERY_BENCH_EXTRA_SQL: ${EXTRA_SQL}`);
      }
      console.log(
        `racm: seeded in ${seeded.totalSeconds} s ${JSON.stringify(seeded.seconds)}; closure ${seeded.closure.rows} rows, matches the recursive definition`,
      );
      checks = shuffle(await buildChecks(client), seededRandom(7));
      expected = await expectedAnswers(client, checks);
      const users = await client.query('SELECT id FROM users ORDER BY random() LIMIT $1', [
        LIST_USERS,
      ]);
      listUsers = users.rows.map((row) => row.id);
    } finally {
      client.release();
    }

    // Warm the pool, the plan paths and the buffer cache the same way for all three.
    const warmStart = process.hrtime.bigint();
    for (let i = 0; i < WARMUP && msSince(warmStart) < 10_000; i++) {
      const check = checks[i % checks.length]!;
      await db.query('SELECT 1');
      await may(db, check.userId, check.action, check.resourceId);
      if (i % 10 === 0)
        await listAllowed(db, listUsers[i % listUsers.length]!, 'UserVolume', 'read');
    }

    const floorMay = summarise(await timeSequential(checks.length, () => db.query('SELECT 1')));
    const answers: boolean[] = new Array(checks.length);
    const maySamples = await timeSequential(
      checks.length,
      async (i) => {
        const check = checks[i]!;
        answers[i] = await may(db, check.userId, check.action, check.resourceId);
      },
      BUDGET_MS,
    );
    const mayStats = summarise(maySamples);

    const floorList = summarise(await timeSequential(listUsers.length, () => db.query('SELECT 1')));
    const listed: number[] = new Array(listUsers.length);
    const listStats = summarise(
      await timeSequential(
        listUsers.length,
        async (i) => {
          listed[i] = (await listAllowed(db, listUsers[i]!, 'UserVolume', 'read')).length;
        },
        BUDGET_MS,
      ),
    );

    const byKind: Record<string, { checks: number; allowed: number; p50: number; p99: number }> =
      {};
    let mismatches = 0;
    const done = checks.slice(0, maySamples.length);
    for (const kind of Object.keys(CHECKS) as Check['kind'][]) {
      const indices = done.flatMap((check, i) => (check.kind === kind ? [i] : []));
      const stats = summarise(indices.map((i) => maySamples[i]!));
      byKind[kind] = {
        checks: indices.length,
        allowed: indices.filter((i) => answers[i]).length,
        p50: stats.p50,
        p99: stats.p99,
      };
    }
    for (let i = 0; i < done.length; i++) if (answers[i] !== expected[i]) mismatches++;
    const wrongDirectOrNested = done.filter(
      (check, i) => check.kind !== 'random' && !answers[i],
    ).length;

    const sample = checks.find((check) => check.kind === 'nested') ?? checks[0]!;
    const plans = {
      may: await explain(db, (q) => may(q, sample.userId, sample.action, sample.resourceId)),
      listAllowed: await explain(db, (q) => listAllowed(q, listUsers[0]!, 'UserVolume', 'read')),
    };

    const rowsListed = summarise(listed);
    const result = {
      benchmark: 'racm',
      machine: await machine(),
      size: DEFAULT_SIZE,
      migrateSeconds: Math.round(migrateMs) / 1000,
      seed: seeded,
      extraSql: EXTRA_SQL || null,
      budgetSeconds: BUDGET_MS / 1000,
      may: {
        ...mayStats,
        planned: checks.length,
        floor: floorMay,
        ratioP50: ratio(mayStats.p50, floorMay.p50),
        ratioP99: ratio(mayStats.p99, floorMay.p99),
        targetP99Ms: TARGET_MS.may,
        meetsTarget: mayStats.p99 < TARGET_MS.may,
        byKind,
        mismatchesWithRecursiveDefinition: mismatches,
        directOrNestedDenied: wrongDirectOrNested,
      },
      listAllowed: {
        ...listStats,
        planned: listUsers.length,
        floor: floorList,
        ratioP50: ratio(listStats.p50, floorList.p50),
        ratioP99: ratio(listStats.p99, floorList.p99),
        targetP99Ms: TARGET_MS.listAllowed,
        meetsTarget: listStats.p99 < TARGET_MS.listAllowed,
        rowsReturned: { p50: rowsListed.p50, max: rowsListed.max, mean: rowsListed.mean },
      },
      plans,
    };
    const path = writeResult('racm', result);
    const line = (name: string, s: typeof result.may | typeof result.listAllowed) =>
      `  ${name.padEnd(12)} ${s.n}/${s.planned} calls${s.n < s.planned ? ' (time budget hit)' : ''}  p50 ${s.p50} ms  p99 ${s.p99} ms  (floor SELECT 1 p50 ${s.floor.p50} / p99 ${s.floor.p99} ms; ratio ${s.ratioP50}x / ${s.ratioP99}x)  target p99 < ${s.targetP99Ms} ms: ${s.meetsTarget ? 'met' : 'MISSED'}`;
    console.log(line('may', result.may));
    console.log(
      `  ${''.padEnd(12)} ${JSON.stringify(byKind)}; mismatches with the recursive definition: ${mismatches}`,
    );
    console.log(line('listAllowed', result.listAllowed));
    console.log(`  results: ${path}`);
    if (mismatches > 0 || wrongDirectOrNested > 0) process.exitCode = 1;
  } finally {
    await db.end();
    await database.drop();
  }
}

await main();
