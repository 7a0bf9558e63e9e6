import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionCap } from '../../src/http/connectionCap.ts';

test('at most `limit` open per key; a release frees one slot, once', () => {
  const cap = new ConnectionCap(2);
  const first = cap.acquire('u1');
  const second = cap.acquire('u1');
  assert.ok(first && second);
  assert.equal(cap.acquire('u1'), undefined, 'the third is refused');
  assert.ok(cap.acquire('u2'), 'another key has its own slots');
  first();
  first();
  assert.equal(cap.count('u1'), 1, 'releasing twice frees one slot');
  assert.ok(cap.acquire('u1'));
  assert.equal(cap.acquire('u1'), undefined);
});
