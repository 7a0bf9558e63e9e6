import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, LoginBackoff } from '../../src/auth/loginBackoff.ts';

const rules = { freeFailures: 3, baseMs: 30_000, maxMs: 240_000, forgetMs: 300_000 };

test('the wait is 0 within the free failures, then doubles up to the longest', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50, 5000].map((failures) => backoffMs(failures, rules)),
    [0, 0, 30_000, 60_000, 120_000, 240_000, 240_000, 240_000, 240_000],
  );
});

test('failures from one address hold up only that (account, address) pair', () => {
  let now = 0;
  const backoff = new LoginBackoff(rules, () => now);
  for (let i = 0; i < 2; i++) assert.equal(backoff.failed('ann', 'A'), 0);
  assert.equal(backoff.failed('ann', 'A'), 30);
  assert.equal(backoff.waitSeconds('ann', 'A'), 30);
  assert.equal(backoff.waitSeconds('ann', 'B'), 0, 'the owner elsewhere is not held up');
  assert.equal(backoff.waitSeconds('bob', 'A'), 0, 'nor another account from A');
  now = 10_000;
  assert.equal(backoff.waitSeconds('ann', 'A'), 20);
  now = 30_000;
  assert.equal(backoff.waitSeconds('ann', 'A'), 0);
  assert.equal(backoff.failed('ann', 'A'), 60, 'the next failure waits twice as long');
});

test('the right password clears the pair; a pair quiet after its wait is forgotten', () => {
  let now = 0;
  const backoff = new LoginBackoff(rules, () => now);
  for (let i = 0; i < 3; i++) backoff.failed('ann', 'A');
  backoff.succeeded('ann', 'A');
  assert.equal(backoff.waitSeconds('ann', 'A'), 0);
  assert.equal(backoff.failed('ann', 'A'), 0, 'counting starts again');

  for (let i = 0; i < 6; i++) backoff.failed('cy', 'A');
  // Locked until 240 s; remembered for forgetMs after that, so a wait does not reset the count.
  now = 240_000 + 299_000;
  assert.equal(backoff.failed('cy', 'A'), 240, 'still counted: quiet for less than forgetMs');
  now += 240_000 + 300_000;
  assert.equal(backoff.waitSeconds('cy', 'A'), 0);
  assert.equal(backoff.failed('cy', 'A'), 0, 'forgotten after forgetMs of quiet');
});
