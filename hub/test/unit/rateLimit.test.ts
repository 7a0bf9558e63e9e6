import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import { RateLimiter } from '../../src/http/rateLimit.ts';

test('counts hits in a window and says how long to wait', () => {
  let now = 0;
  const limiter = new RateLimiter(2, 10_000, () => now);
  assert.equal(limiter.hit('k'), 0);
  assert.equal(limiter.hit('k'), 0);
  assert.equal(limiter.hit('k'), 10);
  now = 4_000;
  assert.equal(limiter.hit('k'), 6);
  assert.equal(limiter.hit('other'), 0);
  now = 10_000;
  assert.equal(limiter.hit('k'), 0);
});

test('check throws a 429 with Retry-After', () => {
  const limiter = new RateLimiter(0, 60_000, () => 0);
  assert.throws(
    () => limiter.check('k', 'Slow down'),
    (err: unknown) =>
      err instanceof HttpError && err.status === 429 && err.headers['Retry-After'] === '60',
  );
});
