import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, nextCheckSeconds, secondsUntilCull } from '../src/culling/model.js';
import { FakeHub } from './fake-hub.js';

const now = Date.parse('2026-11-22T12:00:00Z');
const at = (secondsFromNow: number) => new Date(now + secondsFromNow * 1000).toISOString();

test('no warning when culling is off or the stop is further away than the warning window', () => {
  assert.equal(secondsUntilCull(null, now, 3600), null);
  assert.equal(secondsUntilCull(at(7200), now, 3600), null);
});

test('inside the window the warning counts down, and never below zero', () => {
  assert.equal(secondsUntilCull(at(3600), now, 3600), 3600);
  assert.equal(secondsUntilCull(at(725), now, 3600), 725);
  assert.equal(secondsUntilCull(at(-10), now, 3600), 0);
});

test('durations read the way people say them', () => {
  assert.equal(formatDuration(3900), '1 h 5 min');
  assert.equal(formatDuration(723), '12 min 3 s');
  assert.equal(formatDuration(42), '42 s');
});

test('the hub is asked rarely far from the stop and often near it', () => {
  assert.equal(nextCheckSeconds(null, now, 3600), 300);
  assert.equal(nextCheckSeconds(at(3 * 24 * 3600), now, 3600), 300);
  assert.equal(nextCheckSeconds(at(3600 + 20), now, 3600), 20);
  assert.equal(nextCheckSeconds(at(100), now, 3600), 30);
});

test('keeping the server alive moves the stop out of the warning window', async () => {
  const hub = new FakeHub().addUser('alice');
  hub.cullAt.set('alice/lab', at(600));
  const client = hub.clientFor('alice');
  const before = await client.serverInfo('alice', 'lab');
  assert.notEqual(secondsUntilCull(before.cullAt, now, 3600), null);
  const after = await client.keepServerAlive('alice', 'lab');
  assert.equal(secondsUntilCull(after.cullAt, Date.now(), 3600), null);
  assert.ok(hub.calls.includes('alice keepServerAlive alice lab'));
});
