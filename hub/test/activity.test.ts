import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { activityKeysNotSnakeCase, Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let alice: Client;
let bob: Client;
before(async () => {
  hub = await startTestHub('activity');
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
});
after(async () => {
  await hub.stop();
});

type Event = { type: string; user: string; payload: Record<string, unknown> };
const types = (events: Event[]) => events.map((e) => e.type);

test('meaningful events are recorded with a JSON payload; users see only their own', async () => {
  const group = (await alice.post('/hub/api/groups', { name: 'Pulsars' })).json.id;
  await alice.post(`/hub/api/groups/${group}/invitations`, { username: 'bob', role: 'MEMBER' });
  const token = (await alice.post('/hub/api/users/alice/tokens', { note: 'ci' })).json;
  await alice.delete(`/hub/api/users/alice/tokens/${token.id}`);
  await new Client(hub.url).post('/hub/api/login', {
    username: 'alice',
    password: 'wrong password',
  });

  const mine: Event[] = (await alice.get('/hub/api/activity')).json.events;
  assert.deepEqual(types(mine), [
    'user.login_failed',
    'token.revoke',
    'token.create',
    'group.create',
    'user.login',
    'user.register',
  ]);
  assert.equal(mine.find((e) => e.type === 'group.create')!.payload.name, 'Pulsars');
  assert.equal(mine.find((e) => e.type === 'token.revoke')!.payload.token_id, token.id);
  assert.equal(mine.find((e) => e.type === 'group.create')!.payload.group_id, group);
  assert.ok(mine.every((e) => e.user === 'alice'));
  const bobs: Event[] = (await bob.get('/hub/api/activity')).json.events;
  assert.ok(types(bobs).includes('group.invite'), 'the invitee’s history shows the invitation');
  assert.ok(!types(bobs).includes('group.create'));
});

test('search by type, type prefix, time range and text', async () => {
  assert.deepEqual(types((await alice.get('/hub/api/activity?type=token.*')).json.events), [
    'token.revoke',
    'token.create',
  ]);
  assert.deepEqual(types((await alice.get('/hub/api/activity?type=group.create')).json.events), [
    'group.create',
  ]);
  assert.deepEqual(types((await alice.get('/hub/api/activity?q=pulsars')).json.events), [
    'group.create',
  ]);
  const future = new Date(Date.now() + 3600_000).toISOString();
  assert.deepEqual((await alice.get(`/hub/api/activity?since=${future}`)).json.events, []);
  const past = new Date(Date.now() - 3600_000).toISOString();
  assert.equal((await alice.get(`/hub/api/activity?until=${past}`)).json.events.length, 0);
  assert.equal((await alice.get('/hub/api/activity?limit=2')).json.events.length, 2);
});

test('admins search everyone’s history; others may not', async () => {
  assert.equal((await bob.get('/hub/api/activity?user=alice')).status, 403);
  assert.equal((await bob.get('/hub/api/activity?all=true')).status, 403);
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  await db.query(`UPDATE users SET admin = true WHERE name = 'bob'`);
  await db.end();
  const alices: Event[] = (await bob.get('/hub/api/activity?user=alice&type=group.*')).json.events;
  assert.deepEqual(types(alices), ['group.create']);
  const everyone: Event[] = (await bob.get('/hub/api/activity?all=true&type=user.register')).json
    .events;
  assert.deepEqual(everyone.map((e) => e.user).sort(), ['alice', 'bob']);
});

test('every activity payload key written here is snake_case', async () => {
  assert.deepEqual(await activityKeysNotSnakeCase(hub.databaseUrl), []);
});
