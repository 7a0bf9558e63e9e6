/** Result table names: plain identifiers folded as PostgreSQL folds them; everything else refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Invalid } from '../../src/errors.ts';
import { createTablePrefix, tableNameOf } from '../../src/mydb/resultTable.ts';

test('plain names are kept, folded to lower case', () => {
  assert.equal(tableNameOf('stars'), 'stars');
  assert.equal(tableNameOf('Bright_Stars2'), 'bright_stars2');
  assert.equal(tableNameOf('_x'), '_x');
  assert.equal(tableNameOf('a'.repeat(63)), 'a'.repeat(63));
  // Only the automatic form is reserved, not names that merely start alike.
  assert.equal(tableNameOf('batch_results'), 'batch_results');
});

test('anything that is not a plain identifier is refused', () => {
  for (const name of [
    '',
    '1x',
    'a b',
    'a-b',
    'x"y',
    'mydb_bob.t',
    'a'.repeat(64),
    'étoile',
    'x;drop table y',
    'batch_12',
    'BATCH_3',
  ])
    assert.throws(() => tableNameOf(name), Invalid, name);
});

test('the wrapper quotes schema and table', () => {
  assert.equal(createTablePrefix('mydb_a', 'stars'), 'CREATE TABLE "mydb_a"."stars" AS ');
});
