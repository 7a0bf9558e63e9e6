import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { may } from '../src/racm/store.ts';
import {
  activityKeysNotSnakeCase,
  type Client,
  signUp,
  startTestHub,
  type TestHub,
} from './support.ts';

let hub: TestHub;
let alice: Client;
let bob: Client;
let carol: Client;
let dan: Client;
let db: pg.Pool;
const userId = async (name: string) =>
  (await db.query('SELECT id FROM users WHERE name = $1', [name])).rows[0].id;

before(async () => {
  hub = await startTestHub('racm');
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  carol = await signUp(hub.url, 'carol');
  dan = await signUp(hub.url, 'dan');
  db = new pg.Pool({ connectionString: hub.databaseUrl });
});
after(async () => {
  await db.end();
  await hub.stop();
});

test('the hub’s services register their contexts with types and actions (grant on every type)', async () => {
  const { contexts } = (await alice.get('/hub/api/racm/contexts')).json;
  const types = Object.fromEntries(
    contexts.flatMap((c: { resource_types: { name: string; actions: string[] }[] }) =>
      c.resource_types.map((t) => [t.name, t.actions]),
    ),
  );
  assert.deepEqual(types.UserVolume, ['grant', 'read', 'write']);
  assert.deepEqual(types.DatabaseContext, ['grant', 'read', 'submitQuery', 'write']);
  assert.deepEqual(types.DockerImage, ['grant', 'use']);
  assert.deepEqual(types.ComputeDomain, ['grant', 'use']);
});

test('owner holds every action; grant lets you give actions; group privileges reach nested members', async () => {
  const volume = await alice.post('/hub/api/racm/resources', {
    type: 'UserVolume',
    name: 'alice/thesis',
  });
  assert.equal(volume.status, 201);
  const id = volume.json.id;
  assert.deepEqual((await alice.get(`/hub/api/racm/resources/${id}`)).json.my_actions, [
    'grant',
    'read',
    'write',
  ]);
  assert.equal(
    (await bob.get(`/hub/api/racm/resources/${id}`)).status,
    404,
    'bob does not know it exists',
  );

  const toBob = await alice.post(`/hub/api/racm/resources/${id}/privileges`, {
    action: 'read',
    user: 'bob',
  });
  assert.equal(toBob.status, 201);
  assert.deepEqual((await bob.get(`/hub/api/racm/resources/${id}`)).json.my_actions, ['read']);
  assert.equal(
    (await bob.post(`/hub/api/racm/resources/${id}/privileges`, { action: 'read', user: 'carol' }))
      .status,
    403,
    'read is not grant',
  );
  assert.equal(
    (await alice.post(`/hub/api/racm/resources/${id}/privileges`, { action: 'fly', user: 'carol' }))
      .status,
    400,
  );

  // carol is in "Inner", which sits inside "Outer"; alice gives write to Outer.
  const outer = (await alice.post('/hub/api/groups', { name: 'Outer' })).json.id;
  const inner = (await carol.post('/hub/api/groups', { name: 'Inner' })).json.id;
  await carol.post(`/hub/api/groups/${inner}/invitations`, { username: 'alice', role: 'ADMIN' });
  const invitation = (await alice.get('/hub/api/invitations')).json.invitations[0];
  await alice.post(`/hub/api/invitations/${invitation.id}/accept`);
  assert.equal(
    (await alice.post(`/hub/api/groups/${outer}/subgroups`, { group_id: inner })).status,
    201,
  );
  const toGroup = await alice.post(`/hub/api/racm/resources/${id}/privileges`, {
    action: 'write',
    group: outer,
  });
  assert.equal(toGroup.status, 201);
  assert.ok(
    await may(db, await userId('carol'), 'write', id),
    'carol writes through the nested group',
  );
  assert.ok(!(await may(db, await userId('dan'), 'write', id)));
  assert.ok(
    !(await may(db, await userId('carol'), 'read', id)),
    'only the action given flows down',
  );

  const listed = (await carol.get('/hub/api/racm/resources?type=UserVolume&action=write')).json
    .resources;
  assert.deepEqual(
    listed.map((r: { name: string }) => r.name),
    ['alice/thesis'],
  );
  assert.deepEqual(
    (await dan.get('/hub/api/racm/resources?type=UserVolume&action=read')).json.resources,
    [],
  );

  // Taking carol's group out of Outer takes her privilege away.
  assert.equal((await alice.delete(`/hub/api/groups/${outer}/subgroups/${inner}`)).status, 204);
  assert.ok(!(await may(db, await userId('carol'), 'write', id)));

  const privileges = (await alice.get(`/hub/api/racm/resources/${id}`)).json.privileges;
  const bobs = privileges.find((p: { user: string | null }) => p.user === 'bob');
  assert.equal(
    (await alice.delete(`/hub/api/racm/resources/${id}/privileges/${bobs.id}`)).status,
    204,
  );
  assert.equal((await bob.get(`/hub/api/racm/resources/${id}`)).status, 404);
  const own = privileges.find((p: { user: string | null }) => p.user === 'alice');
  assert.equal(
    (await alice.delete(`/hub/api/racm/resources/${id}/privileges/${own.id}`)).status,
    409,
    'the owner keeps their own',
  );
});

test('holding grant lets a delegate share further', async () => {
  const id = (
    await alice.post('/hub/api/racm/resources', { type: 'UserVolume', name: 'alice/shared' })
  ).json.id;
  await alice.post(`/hub/api/racm/resources/${id}/privileges`, { action: 'grant', user: 'bob' });
  assert.equal(
    (await bob.post(`/hub/api/racm/resources/${id}/privileges`, { action: 'read', user: 'dan' }))
      .status,
    201,
  );
  assert.deepEqual((await dan.get(`/hub/api/racm/resources/${id}`)).json.my_actions, ['read']);
});

test('grant is full delegation (SciServer’s RACM semantics): its holder may give themselves any action, but not unregister the resource or take the owner’s privileges', async () => {
  const id = (
    await alice.post('/hub/api/racm/resources', { type: 'UserVolume', name: 'alice/delegated' })
  ).json.id;
  assert.equal(
    (await alice.post(`/hub/api/racm/resources/${id}/privileges`, { action: 'grant', user: 'bob' }))
      .status,
    201,
  );
  assert.deepEqual((await bob.get(`/hub/api/racm/resources/${id}`)).json.my_actions, ['grant']);
  for (const action of ['read', 'write']) {
    const self = await bob.post(`/hub/api/racm/resources/${id}/privileges`, {
      action,
      user: 'bob',
    });
    assert.equal(self.status, 201, `bob gives himself ${action}`);
  }
  assert.deepEqual(
    (await bob.get(`/hub/api/racm/resources/${id}`)).json.my_actions,
    ['grant', 'read', 'write'],
    'holding grant amounts to holding every action',
  );
  const privileges = (await bob.get(`/hub/api/racm/resources/${id}`)).json.privileges;
  const owners = privileges.filter((p: { user: string | null }) => p.user === 'alice');
  for (const own of owners) {
    assert.equal(
      (await bob.delete(`/hub/api/racm/resources/${id}/privileges/${own.id}`)).status,
      409,
      'the owner’s own privileges stay',
    );
  }
  assert.equal(
    (await bob.delete(`/hub/api/racm/resources/${id}`)).status,
    403,
    'only the owner unregisters',
  );
  // The owner takes delegation back by revoking grant; what bob gave with it stays until revoked.
  const bobsGrant = privileges.find(
    (p: { user: string | null; action: string }) => p.user === 'bob' && p.action === 'grant',
  );
  assert.equal(
    (await alice.delete(`/hub/api/racm/resources/${id}/privileges/${bobsGrant.id}`)).status,
    204,
  );
  assert.equal(
    (await bob.post(`/hub/api/racm/resources/${id}/privileges`, { action: 'read', user: 'dan' }))
      .status,
    403,
    'without grant bob shares no further',
  );
  assert.deepEqual((await bob.get(`/hub/api/racm/resources/${id}`)).json.my_actions, [
    'read',
    'write',
  ]);
});

test('only platform admins share with the Public group or register admin-only types', async () => {
  const id = (
    await alice.post('/hub/api/racm/resources', { type: 'UserVolume', name: 'alice/public' })
  ).json.id;
  const publicId = (await db.query(`SELECT id FROM groups WHERE kind = 'public'`)).rows[0].id;
  const refused = await alice.post(`/hub/api/racm/resources/${id}/privileges`, {
    action: 'read',
    group: publicId,
  });
  assert.equal(refused.status, 403);
  assert.match(refused.json.message, /Public group/);
  assert.equal(
    (
      await alice.post('/hub/api/racm/resources', {
        type: 'DockerImage',
        name: 'orrery/custom:1',
      })
    ).status,
    403,
  );

  await db.query(`UPDATE users SET admin = true WHERE name = 'dan'`);
  const image = await dan.post('/hub/api/racm/resources', {
    type: 'DockerImage',
    name: 'orrery/custom:1',
  });
  assert.equal(image.status, 201);
  assert.equal(
    (
      await dan.post(`/hub/api/racm/resources/${image.json.id}/privileges`, {
        action: 'use',
        group: publicId,
      })
    ).status,
    201,
  );
  assert.ok(
    await may(db, await userId('carol'), 'use', image.json.id),
    'everyone may use a publicly shared image',
  );
  const check = await carol.get(`/hub/api/racm/check?resource=${image.json.id}&action=use`);
  assert.deepEqual(check.json, { allowed: true });
});

test('sharing with a user spells the name as accounts do: spaces, case and width do not matter', async () => {
  const volume = await alice.post('/hub/api/racm/resources', {
    type: 'UserVolume',
    name: 'alice/spelling',
  });
  const shared = await alice.post(`/hub/api/racm/resources/${volume.json.id}/privileges`, {
    action: 'read',
    user: ' ＤＡＮ ',
  });
  assert.equal(shared.status, 201, shared.text);
  assert.equal(shared.json.user, 'dan');
  assert.deepEqual((await dan.get(`/hub/api/racm/resources/${volume.json.id}`)).json.my_actions, [
    'read',
  ]);
});

test('a context registered over HTTP keeps which of its types users may create (snake_case on the wire)', async () => {
  await db.query(`UPDATE users SET admin = true WHERE name = 'dan'`);
  const types = [
    { name: 'SnakeNotebook', actions: ['read'], user_creatable: true },
    { name: 'SnakeDataset', description: 'Operators only', actions: ['read'] },
  ];
  const registered = await dan.post('/hub/api/racm/contexts', {
    name: 'test.snake',
    resource_types: types,
  });
  assert.equal(registered.status, 201);
  assert.deepEqual(registered.json.contexts[0].resource_types, [
    {
      name: 'SnakeDataset',
      description: 'Operators only',
      user_creatable: false,
      actions: ['grant', 'read'],
    },
    { name: 'SnakeNotebook', description: '', user_creatable: true, actions: ['grant', 'read'] },
  ]);
  const mine = { type: 'SnakeNotebook', name: 'alice/nb' };
  assert.equal((await alice.post('/hub/api/racm/resources', mine)).status, 201);
  const theirs = { type: 'SnakeDataset', name: 'catalog' };
  assert.equal((await alice.post('/hub/api/racm/resources', theirs)).status, 403);

  const camel = await dan.post('/hub/api/racm/contexts', {
    name: 'test.camel',
    resourceTypes: [{ name: 'CamelThing', actions: ['read'], userCreatable: true }],
  });
  assert.equal(camel.status, 400, 'the old camelCase body is refused, not half-read');
  assert.equal(camel.json.error, 'bad_request');
});

test('every activity payload key written here is snake_case', async () => {
  assert.deepEqual(await activityKeysNotSnakeCase(hub.databaseUrl), []);
});
