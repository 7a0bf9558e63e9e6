import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/pool.ts';
import { routesOf } from '../../src/http/route.ts';
import { createHub } from '../../src/hub.ts';
import { createLogger } from '../../src/log.ts';
import type { FeatureModule } from '../../src/module.ts';
import { composeModules } from '../../src/modules.ts';

const hub = createHub(loadConfig({}), {} as Db, createLogger('silent'));
const serveApi = () => {};

/** A module that writes down what happens to it. */
function recorder(name: string, events: string[], fail = false): FeatureModule<string> {
  const route = routesOf<string>();
  return {
    name,
    routes: [
      route({
        method: 'get',
        path: `/${name}`,
        tag: name,
        summary: name,
        access: { scope: 'read:users' },
        async handler({ service }) {
          return { service };
        },
      }),
    ],
    async open() {
      if (fail) throw new Error(`${name} cannot open`);
      events.push(`open ${name}`);
      return {
        service: `${name} service`,
        start: () => void events.push(`start ${name}`),
        close: async () => void events.push(`close ${name}`),
      };
    },
  };
}

test('modules open and start in order, close in reverse, and their routes get their service', async () => {
  const events: string[] = [];
  const first = recorder('first', events);
  const second = recorder('second', events);
  const composed = await composeModules(hub, serveApi, [first, second]);
  await composed.start({ url: 'http://127.0.0.1:1' });
  await composed.close();
  assert.deepEqual(events, [
    'open first',
    'open second',
    'start first',
    'start second',
    'close second',
    'close first',
  ]);
  assert.deepEqual(
    composed.routes.map((def) => def.path),
    ['/first', '/second'],
  );
  const ctx = {} as Parameters<(typeof composed.routes)[number]['handler']>[0];
  assert.deepEqual(await composed.routes[1]!.handler(ctx), { service: 'second service' });
  assert.equal(composed.serviceOf(first), 'first service');
});

test('a module that fails to open closes those already open, and the error is passed on', async () => {
  const events: string[] = [];
  await assert.rejects(
    composeModules(hub, serveApi, [
      recorder('first', events),
      recorder('broken', events, true),
      recorder('never', events),
    ]),
    /broken cannot open/,
  );
  assert.deepEqual(events, ['open first', 'close first']);
});

test('a module asks for another module’s service; one not composed, or composed later, fails at start', async () => {
  const events: string[] = [];
  const groups = recorder('groups', events);
  const courses: FeatureModule<string> = {
    name: 'courses',
    routes: [],
    async open({ use }) {
      return { service: `roster over ${use(groups)}` };
    },
  };
  const composed = await composeModules(hub, serveApi, [groups, courses]);
  assert.equal(composed.serviceOf(courses), 'roster over groups service');
  await composed.close();
  await assert.rejects(
    composeModules(hub, serveApi, [courses, groups]),
    /"groups" is not composed \(or comes later\)/,
  );
  const without = await composeModules(hub, serveApi, [recorder('alone', [])]);
  assert.equal(without.has(groups), false);
  assert.throws(() => without.serviceOf(groups), /"groups" is not composed/);
  assert.equal(
    without.routes.some((def) => def.path === '/groups'),
    false,
    'an absent module has no routes',
  );
});
