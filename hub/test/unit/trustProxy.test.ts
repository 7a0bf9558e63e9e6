import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/pool.ts';
import { createHub } from '../../src/hub.ts';
import { createLogger } from '../../src/log.ts';

/** Express's own compiled decision: is a connection from `address` a proxy whose X-Forwarded-For is believed? */
function trusts(env: Record<string, string>, address: string): boolean {
  const config = loadConfig(env);
  const app = createApp(createHub(config, {} as Db, createLogger('silent')), {
    routes: [],
    pages: [],
  });
  return (app.get('trust proxy fn') as (addr: string, i: number) => boolean)(address, 0);
}

test('ORRERY_TRUST_PROXY=1 trusts a proxy on this machine, never the containers’ private networks', () => {
  const env = { ORRERY_TRUST_PROXY: '1' };
  assert.equal(trusts(env, '127.0.0.1'), true);
  assert.equal(trusts(env, '::1'), true);
  for (const container of ['172.17.0.2', '172.18.0.5', '10.0.0.7', '192.168.1.20', 'fd00::2'])
    assert.equal(trusts(env, container), false, `${container} may not choose its own address`);
});

test('only the configured addresses and subnets are trusted; by default none', () => {
  const env = { ORRERY_TRUST_PROXY: '10.1.2.3, 192.0.2.0/24' };
  assert.equal(trusts(env, '10.1.2.3'), true);
  assert.equal(trusts(env, '192.0.2.77'), true);
  assert.equal(trusts(env, '10.1.2.4'), false);
  assert.equal(trusts(env, '127.0.0.1'), false);
  assert.equal(trusts({}, '127.0.0.1'), false);
  assert.deepEqual(loadConfig({}).trustProxy, []);
  assert.deepEqual(loadConfig({ ORRERY_TRUST_PROXY: '0' }).trustProxy, []);
});

test('a malformed ORRERY_TRUST_PROXY entry stops the hub at start', () => {
  for (const bad of ['everything', '10.0.0.1/33', '10.0.0/8', '10.0.0.1/8/1', '::1/129'])
    assert.throws(() => loadConfig({ ORRERY_TRUST_PROXY: bad }), /ORRERY_TRUST_PROXY/, bad);
});
