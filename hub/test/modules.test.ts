/** A hub composed without a module has none of its routes, and everything else still works. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { computeModule } from '../src/compute/module.ts';
import { jobsModule } from '../src/jobs/module.ts';
import { MODULES } from '../src/modules.ts';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let alice: Client;
before(async () => {
  hub = await startTestHub(
    'no_compute',
    {},
    // Jobs run on compute domains: a hub without compute has no jobs either.
    MODULES.filter((module) => module !== computeModule && module !== jobsModule),
  );
  alice = await signUp(hub.url, 'alice');
});
after(async () => {
  await hub.stop();
});

test('without the compute module its routes, its proxy and its service are simply absent', async () => {
  const compute = await alice.get('/hub/api/compute');
  assert.equal(compute.status, 404);
  assert.equal(compute.json.error, 'not_found');
  assert.equal((await alice.post('/hub/api/users/alice/servers/one', {})).status, 404);
  assert.equal((await alice.post('/hub/api/users/alice/jobs', { command: 'true' })).status, 404);
  const proxied = await alice.get('/user/alice/one/lab');
  assert.equal(proxied.status, 404, 'no proxy: express answers for /user/ paths');
  const openapi = (await alice.get('/hub/api/openapi.json')).json;
  assert.ok(!Object.keys(openapi.paths).some((path) => path.includes('servers')));
  assert.ok(openapi.paths['/groups'], 'the other modules are all there');
  assert.equal(hub.modules.has(computeModule), false);
  assert.throws(() => hub.compute(), /"compute" is not composed/);
});

test('the other modules serve as usual', async () => {
  const created = await alice.post('/hub/api/groups', { name: 'Without compute' });
  assert.equal(created.status, 201);
  assert.equal((await alice.get('/hub/api/activity?type=group.*')).status, 200);
  const home = await alice.get('/hub/home');
  assert.equal(home.status, 200, 'the pages module is mounted');
});
