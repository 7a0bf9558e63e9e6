/** The history never decides a query's fate: a record that cannot be written is logged, not thrown. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Db } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { QueryHistory } from '../../src/mydb/history.ts';

test('a history write that fails is logged and swallowed, at the start and at the end', async () => {
  const lines: string[] = [];
  const log = createLogger('warn', { write: (line: string) => void lines.push(line) });
  const down = {
    query: async () => {
      throw new Error('the hub database is down');
    },
  } as unknown as Db;
  const history = new QueryHistory(down, log);
  const id = await history.started({
    userId: 1,
    sql: 'SELECT 1',
    context: 'mydb',
    session: null,
    table: null,
  });
  assert.equal(id, undefined);
  await history.ended(Promise.resolve(7), 'finished', { rowCount: 1 });
  // A start that was not recorded has no end to record.
  await history.ended(Promise.resolve(undefined), 'failed', { error: 'x' });
  assert.equal(lines.length, 2);
  assert.match(lines.join('\n'), /the hub database is down/);
});
