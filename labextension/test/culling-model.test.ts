import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubError } from '../src/api.js';
import type { IClock } from '../src/clock.js';
import { formatDuration, nextCheckSeconds, secondsUntilCull } from '../src/culling/model.js';
import { CullWatcher } from '../src/culling/watcher.js';
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

/** Timers that fire only when the test advances time; pending async work settles in between. */
class ManualClock implements IClock {
  private timers = new Map<number, { at: number; every?: number; callback: () => void }>();
  private nextId = 1;
  constructor(private time: number) {}
  now = () => this.time;
  setTimeout = (callback: () => void, ms: number) => this.add(callback, ms);
  setInterval = (callback: () => void, ms: number) => this.add(callback, ms, ms);
  clearTimeout = (handle: unknown) => void this.timers.delete(handle as number);
  clearInterval = (handle: unknown) => void this.timers.delete(handle as number);
  get pending(): number {
    return this.timers.size;
  }
  private add(callback: () => void, ms: number, every?: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, every, callback });
    return id;
  }
  /** Moves time forward by `seconds`, firing every timer due on the way, in order. */
  async advance(seconds: number): Promise<void> {
    const end = this.time + seconds * 1000;
    for (;;) {
      const due = [...this.timers]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.time = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.callback();
      await settle();
    }
    this.time = end;
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function watch(cullInSeconds: number | null) {
  const hub = new FakeHub().addUser('alice');
  const clock = new ManualClock(Date.now());
  const cullAt = (s: number | null) =>
    s === null ? null : new Date(clock.now() + s * 1000).toISOString();
  hub.cullAt.set('alice/lab', cullAt(cullInSeconds));
  const client = hub.clientFor('alice');
  const shown: (number | 'hidden')[] = [];
  const watcher = new CullWatcher({
    client,
    user: 'alice',
    server: 'lab',
    warningSeconds: 3600,
    clock,
    warning: { show: (left) => shown.push(left), hide: () => shown.push('hidden') },
  });
  const asked = () => hub.calls.filter((c) => c === 'alice serverInfo alice lab').length;
  return {
    hub,
    clock,
    client,
    watcher,
    shown,
    asked,
  };
}

test('far from the stop: no warning, and the hub is asked again only every five minutes', async () => {
  const { clock, watcher, shown, asked } = watch(3 * 24 * 3600);
  await watcher.check();
  assert.equal(asked(), 1);
  await clock.advance(299);
  assert.equal(asked(), 1);
  await clock.advance(1);
  assert.equal(asked(), 2);
  assert.deepEqual(shown, []);
  watcher.dispose();
});

test('when the stop comes into the window the countdown starts and ticks each second without asking the hub', async () => {
  const { clock, watcher, shown, asked } = watch(3600 + 20);
  await watcher.check();
  assert.deepEqual(shown, [], 'not yet inside the window');
  await clock.advance(20);
  assert.equal(asked(), 2, 'asked again just as the window opens');
  assert.deepEqual(shown, [3600]);
  await clock.advance(3);
  assert.deepEqual(shown, [3600, 3599, 3598, 3597]);
  assert.equal(asked(), 2, 'the ticking is local');
  await clock.advance(27);
  assert.equal(asked(), 3, 'inside the window the hub is asked every 30 s');
  watcher.dispose();
  assert.equal(clock.pending, 0, 'dispose leaves no timer behind');
  assert.equal(shown.at(-1), 'hidden');
});

test('keeping the server alive hides the warning and stops the ticking', async () => {
  const { clock, watcher, shown, hub } = watch(600);
  await watcher.check();
  assert.deepEqual(shown, [600]);
  await watcher.keepAlive();
  assert.ok(hub.calls.includes('alice keepServerAlive alice lab'));
  assert.deepEqual(shown, [600, 'hidden']);
  await clock.advance(10);
  assert.deepEqual(shown, [600, 'hidden'], 'no tick after the stop moved away');
  watcher.dispose();
});

test('a hub that does not answer hides the warning, and the next answer brings it back', async () => {
  const { clock, watcher, shown, client } = watch(600);
  await watcher.check();
  client.failNext = new HubError(502, 'bad_gateway', 'the hub is restarting');
  await clock.advance(30);
  assert.equal(shown.at(-1), 'hidden');
  await clock.advance(300);
  assert.equal(typeof shown.at(-1), 'number', 'shown again once the hub answers');
  watcher.dispose();
});

test("a refused keep-alive rejects with the hub's reason and leaves the warning up", async () => {
  const { watcher, shown, client } = watch(600);
  await watcher.check();
  client.failNext = new HubError(403, 'forbidden', 'not your server');
  await assert.rejects(watcher.keepAlive(), /not your server/);
  assert.deepEqual(shown, [600]);
  watcher.dispose();
});
