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

// Dot segments are removed by normalising, which can turn an on-site path into `//host`.
const DOT_SEGMENT_ESCAPES = [
  '/.//evil.example',
  '/..//evil.example',
  '/a/..//evil.example',
  '/././/evil.example',
  '/%2e//evil.example',
  '/%2E%2E//evil.example',
  '/.%2e//evil.example',
  '/.///evil.example/x?y#z',
];

test('next= that normalises to //host (dot segments) falls back to the home page', () => {
  for (const evil of DOT_SEGMENT_ESCAPES)
    assert.equal(safeNext(evil), '/hub/home', `followed ${JSON.stringify(evil)}`);
});

test('safeNext is idempotent: what it returns passes it unchanged', () => {
  for (const input of [
    ...DOT_SEGMENT_ESCAPES,
    '/user/alice/lab/tree?x=1#y',
    '/a/./b/../c',
    '/a//b',
    '/%2e%2e/hub/home',
    '/hub/home',
  ]) {
    const once = safeNext(input);
    assert.equal(safeNext(once), once, `not stable for ${JSON.stringify(input)}`);
    assert.ok(once.startsWith('/') && !once.startsWith('//'), `${input} gave ${once}`);
  }
});

test('paths on the hub are kept, with their query and fragment', () => {
  assert.equal(safeNext('/user/alice/lab/tree?x=1#y'), '/user/alice/lab/tree?x=1#y');
  assert.equal(safeNext('/hub/home'), '/hub/home');
  assert.equal(safeNext('/a/./b/../c'), '/a/c');
  assert.equal(safeNext('/a//b'), '/a//b');
});
