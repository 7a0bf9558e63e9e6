/** Which failed queries the quota explains: PostgreSQL's permission denied on the user's own MyDB while over quota, nothing else. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Queryable } from '../../src/db/pool.ts';
import { Forbidden, Invalid } from '../../src/errors.ts';
import { asQuotaRefusal } from '../../src/mydb/quota.ts';

const over = {
  userId: 1,
  username: 'alice',
  role: 'orrery_x_u_1',
  schema: 'mydb_alice',
  quotaBytes: 65536,
  usedBytes: 100_000,
};
const under = { ...over, usedBytes: 1000 };

/** A science database whose mydb_alice holds the tables named. */
function scienceWith(tables: string[]): Queryable {
  return {
    query: async (_sql: string, values: unknown[]) => ({
      rowCount: values[0] === 'mydb_alice' && tables.includes(values[1] as string) ? 1 : 0,
    }),
  } as unknown as Queryable;
}

const denied = (what: string) =>
  new Invalid('sql_error', `permission denied for ${what} [SQLSTATE 42501]`);

test('a refusal on the own schema or an own table while over quota is the quota’s, with figures', async () => {
  for (const err of [denied('schema mydb_alice'), denied('table big')]) {
    const refusal = await asQuotaRefusal(err, over, scienceWith(['big']));
    assert.ok(refusal instanceof Forbidden);
    assert.equal(refusal.reason, 'quota_exceeded');
    assert.deepEqual(refusal.details, { used_bytes: 100_000, quota_bytes: 65536 });
    assert.match(refusal.message, /97\.7 KiB of its 64\.0 KiB quota/);
  }
  // PostgreSQL's own error (code set) is read the same way.
  const raw = Object.assign(new Error('permission denied for table big'), { code: '42501' });
  assert.ok((await asQuotaRefusal(raw, over, scienceWith(['big']))) instanceof Forbidden);
});

test('anything else is passed on as it was', async () => {
  const science = scienceWith(['big']);
  assert.equal(await asQuotaRefusal(denied('schema mydb_alice'), under, science), undefined);
  assert.equal(await asQuotaRefusal(denied('schema catalog_stars'), over, science), undefined);
  assert.equal(await asQuotaRefusal(denied('table stars'), over, science), undefined);
  assert.equal(
    await asQuotaRefusal(new Invalid('sql_error', 'syntax error [SQLSTATE 42601]'), over, science),
    undefined,
  );
  assert.equal(await asQuotaRefusal(new Error('socket closed'), over, science), undefined);
});
