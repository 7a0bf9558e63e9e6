/** The catalog formats' pure parts: unit comments both ways, stars.dat lines, COPY escaping. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  copyLine,
  formatComment,
  objectTypeName,
  parseComment,
  parseStarLine,
} from '../../src/mydb/catalogFormats.ts';

test('a unit comment reads back as the unit and description it was written from', () => {
  for (const [unit, description] of [
    ['deg', 'Right ascension (J2000)'],
    ['mas/yr', 'Proper motion [in RA]'],
    [null, 'Proper name'],
  ] as const)
    assert.deepEqual(parseComment(formatComment(unit, description)), { unit, description });
  assert.deepEqual(parseComment(null), { unit: null, description: null });
  assert.deepEqual(parseComment('Field [deg] later'), {
    unit: null,
    description: 'Field [deg] later',
  });
  assert.deepEqual(parseComment('[] empty unit'), { unit: null, description: 'empty unit' });
});

test('stars.dat: comments skipped, southern declinations negative, short lines refused', () => {
  assert.equal(parseStarLine('# header', 1), null);
  assert.equal(parseStarLine('', 2), null);
  const canopus = parseStarLine(
    '062357.11 -524144.4 +000020.0+000023.700010.4 -0.6200.16F0 0            , alp Car, Canopus',
    3,
  )!;
  assert.ok(Math.abs((canopus[1] as number) - 95.988) < 0.001);
  assert.ok(Math.abs((canopus[2] as number) - -52.696) < 0.001);
  assert.equal(canopus[6], -0.62);
  assert.equal(canopus[9], false);
  assert.deepEqual(canopus.slice(12), ['alp Car', 'Canopus']);
  assert.throws(() => parseStarLine('062357.11 -524144.4', 4), /line 4: too short/);
  assert.throws(
    () => parseStarLine('06xx57.11 -524144.4 +000020.0+000023.700010.4 -0.6200.16F0 0', 5),
    /line 5: unreadable RA minutes/,
  );
});

test('COPY text escapes what would split a row or a field', () => {
  assert.equal(
    copyLine(['a\tb', 'c\\d', 'e\nf', null, true, 1.5]),
    'a\\tb\tc\\\\d\te\\nf\t\\N\tt\t1.5\n',
  );
});

test('object type codes become words; unknown codes say so', () => {
  assert.equal(objectTypeName(8), 'galaxy');
  assert.equal(objectTypeName(255), 'unknown');
  assert.equal(objectTypeName(null), null);
});
