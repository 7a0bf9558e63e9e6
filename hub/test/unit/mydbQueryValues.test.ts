import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTimestamp, quickQueryTypes } from '../../src/mydb/queryValues.ts';

test('timestamps as ISO 8601, microseconds and offsets kept; other forms as sent', () => {
  assert.equal(isoTimestamp('2026-12-01 22:40:00.123456+00'), '2026-12-01T22:40:00.123456Z');
  assert.equal(isoTimestamp('2026-12-01 22:40:00+05:30'), '2026-12-01T22:40:00+05:30');
  assert.equal(isoTimestamp('2026-12-01 22:40:00-08'), '2026-12-01T22:40:00-08:00');
  assert.equal(isoTimestamp('2026-12-01 22:40:00'), '2026-12-01T22:40:00');
  assert.equal(isoTimestamp('infinity'), 'infinity');
  assert.equal(isoTimestamp('0044-03-15 12:00:00+00 BC'), '0044-03-15 12:00:00+00 BC');
});

test('only types JSON holds exactly are parsed; 64-bit integers and numerics stay text', () => {
  const parse = (oid: number, text: string) =>
    (
      quickQueryTypes as unknown as { getTypeParser(oid: number): (t: string) => unknown }
    ).getTypeParser(oid)(text);
  assert.equal(parse(20, '9007199254740993'), '9007199254740993');
  assert.equal(parse(1700, '0.1000000000000000000001'), '0.1000000000000000000001');
  assert.equal(parse(23, '42'), 42);
  assert.equal(parse(16, 'f'), false);
  assert.equal(parse(701, 'NaN'), 'NaN');
  assert.equal(parse(701, '1.5'), 1.5);
  assert.deepEqual(parse(3802, '{"a": [1]}'), { a: [1] });
  assert.equal(parse(1082, '2026-12-01'), '2026-12-01');
});
