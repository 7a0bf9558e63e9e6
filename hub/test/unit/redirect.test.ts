import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeNext } from '../../src/http/redirect.ts';

test('next= targets that would leave the hub fall back to the home page', () => {
  for (const evil of [
    '//evil.example',
    '/\\evil.example',
    'https:evil.example',
    'https://evil.example/',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    'javascript:alert(1)',
    ' //evil.example',
    '',
    undefined,
    ['/a'],
  ]) {
    assert.equal(safeNext(evil), '/hub/home', `followed ${JSON.stringify(evil)}`);
  }
});

test('paths on the hub are kept, with their query and fragment', () => {
  assert.equal(safeNext('/user/alice/lab/tree?x=1#y'), '/user/alice/lab/tree?x=1#y');
  assert.equal(safeNext('/hub/home'), '/hub/home');
});
