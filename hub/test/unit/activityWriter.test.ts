/** The activity log's batched writer: events go together, in order, and none is lost at close. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivityWriter } from '../../src/activity/writer.ts';
import type { Db } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';

/** A database that records each INSERT's event types, refusing the first `failures` of them. */
function fakeDb(failures = 0) {
  const writes: string[][] = [];
  let refused = 0;
  const db = {
    query: async (_sql: string, args: unknown[][]) => {
      if (refused < failures) {
        refused++;
        throw new Error('the hub database is down');
      }
      writes.push(args[3] as string[]);
      return { rows: [], rowCount: args[3]!.length };
    },
  } as unknown as Db;
  return { db, writes };
}

const quiet = () => createLogger('error', { write: () => undefined });

test('events recorded together go in one INSERT, in order, each with its own time', async () => {
  const { db, writes } = fakeDb();
  const writer = new ActivityWriter(db, quiet());
  for (const type of ['a', 'b', 'c']) writer.record({ type, userId: 1 });
  assert.deepEqual(writes, [], 'nothing is written on the caller’s path');
  await writer.flush();
  assert.deepEqual(writes, [['a', 'b', 'c']]);
});

test('closing writes what waits; a refused write is tried again, not dropped', async () => {
  const { db, writes } = fakeDb(1);
  const lines: string[] = [];
  const writer = new ActivityWriter(
    db,
    createLogger('warn', { write: (l: string) => void lines.push(l) }),
  );
  writer.record({ type: 'first' });
  await writer.flush();
  assert.deepEqual(writes, [], 'the database refused it');
  writer.record({ type: 'second' });
  await writer.close();
  assert.deepEqual(writes, [['first', 'second']]);
  assert.match(lines.join('\n'), /writing activity events failed/);
});

test('what still cannot be written at close is logged whole', async () => {
  const { db, writes } = fakeDb(10);
  const lines: string[] = [];
  const writer = new ActivityWriter(
    db,
    createLogger('warn', { write: (l: string) => void lines.push(l) }),
  );
  writer.record({ type: 'kept', payload: { sql: 'SELECT 42' } });
  await writer.close();
  assert.deepEqual(writes, []);
  assert.match(
    lines.join('\n'),
    /could not be written at close[\s\S]*SELECT 42|SELECT 42[\s\S]*could not be written at close/,
  );
});
