import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
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
let dora: Client;
before(async () => {
  hub = await startTestHub('groups');
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  carol = await signUp(hub.url, 'carol');
  dora = await signUp(hub.url, 'dora');
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  await db.query(`UPDATE users SET admin = true WHERE name = 'dora'`);
  await db.end();
});
after(async () => {
  await hub.stop();
});

test('everyone is in the Public group, and nobody can leave it or be invited to it', async () => {
  const groups = (await carol.get('/hub/api/groups')).json.groups;
  const publicGroup = groups.find((g: { kind: string }) => g.kind === 'public');
  assert.equal(publicGroup.name, 'Public');
  const leave = await carol.delete(`/hub/api/groups/${publicGroup.id}/members/carol`);
  assert.equal(leave.status, 409);
  assert.equal(leave.json.rule, 'public_group');
  const invite = { username: 'bob', role: 'MEMBER' };
  // A member is stopped by the role guard before the Public rule is even asked...
  const byMember = await carol.post(`/hub/api/groups/${publicGroup.id}/invitations`, invite);
  assert.equal(byMember.status, 403);
  assert.equal(byMember.json.rule, 'group_role');
  // ...a platform admin passes the guard and meets the Public rule itself.
  const byAdmin = await dora.post(`/hub/api/groups/${publicGroup.id}/invitations`, invite);
  assert.equal(byAdmin.status, 409);
  assert.equal(byAdmin.json.rule, 'public_group');
});

test('alice creates a group and invites bob; bob accepts; carol sees nothing of it', async () => {
  const created = await alice.post('/hub/api/groups', {
    name: 'Galaxy Zoo',
    description: 'Spirals',
  });
  assert.equal(created.status, 201);
  const id = created.json.id;
  const invited = await alice.post(`/hub/api/groups/${id}/invitations`, {
    username: 'bob',
    role: 'MEMBER',
  });
  assert.equal(invited.status, 201);
  assert.equal(
    (await alice.post(`/hub/api/groups/${id}/invitations`, { username: 'bob', role: 'MEMBER' }))
      .status,
    409,
  );

  const pending = (await bob.get('/hub/api/invitations')).json.invitations;
  assert.equal(pending.length, 1);
  assert.equal(pending[0].group.name, 'Galaxy Zoo');
  assert.equal(pending[0].invited_by, 'alice');
  assert.equal(
    (await carol.post(`/hub/api/invitations/${pending[0].id}/accept`)).status,
    404,
    'not carol’s invitation',
  );
  assert.equal((await bob.post(`/hub/api/invitations/${pending[0].id}/accept`)).status, 200);
  assert.equal(
    (await bob.post(`/hub/api/invitations/${pending[0].id}/accept`)).status,
    404,
    'answered once',
  );

  const members = (await bob.get(`/hub/api/groups/${id}`)).json.members;
  assert.deepEqual(
    members.map((m: { name: string; role: string }) => `${m.name}:${m.role}`),
    ['alice:OWNER', 'bob:MEMBER'],
  );
  assert.equal((await carol.get(`/hub/api/groups/${id}`)).status, 404);
  assert.ok(
    !(await carol.get('/hub/api/groups')).json.groups.some((g: { id: number }) => g.id === id),
  );

  assert.equal(
    (await bob.post(`/hub/api/groups/${id}/invitations`, { username: 'carol', role: 'MEMBER' }))
      .status,
    403,
    'members do not invite',
  );
  assert.equal(
    (await alice.patch(`/hub/api/groups/${id}/members/bob`, { role: 'ADMIN' })).status,
    200,
  );
  assert.equal(
    (await bob.post(`/hub/api/groups/${id}/invitations`, { username: 'carol', role: 'MEMBER' }))
      .status,
    201,
  );
  const carolInvite = (await carol.get('/hub/api/invitations')).json.invitations[0];
  assert.equal((await carol.post(`/hub/api/invitations/${carolInvite.id}/decline`)).status, 200);
  assert.equal((await carol.get(`/hub/api/groups/${id}`)).status, 404, 'declining does not join');

  assert.equal(
    (await bob.patch(`/hub/api/groups/${id}/members/alice`, { role: 'MEMBER' })).status,
    403,
    'admins cannot demote owners',
  );
  const lastOwner = await alice.delete(`/hub/api/groups/${id}/members/alice`);
  assert.equal(lastOwner.status, 409, 'the last owner cannot leave');
  assert.equal(lastOwner.json.rule, 'last_owner');
  assert.equal((await bob.delete(`/hub/api/groups/${id}/members/bob`)).status, 204, 'bob leaves');
  assert.equal((await bob.get(`/hub/api/groups/${id}`)).status, 404);
  assert.equal((await bob.delete(`/hub/api/groups/${id}`)).status, 404);
  assert.equal((await alice.delete(`/hub/api/groups/${id}`)).status, 204);
});

test('inviting someone who does not exist says so', async () => {
  const { json } = await alice.post('/hub/api/groups', { name: 'Lonely' });
  const res = await alice.post(`/hub/api/groups/${json.id}/invitations`, {
    username: 'zed',
    role: 'MEMBER',
  });
  assert.equal(res.status, 404);
  assert.deepEqual(res.json, { error: 'not_found', message: 'No user named "zed"', rule: 'user' });
});

test('group names are unique regardless of case', async () => {
  await alice.post('/hub/api/groups', { name: 'Quasars' });
  const again = await bob.post('/hub/api/groups', { name: 'QUASARS' });
  assert.equal(again.status, 409);
});

test('nesting: a group inside a group; cycles are refused', async () => {
  const outer = (await alice.post('/hub/api/groups', { name: 'Outer' })).json.id;
  const middle = (await alice.post('/hub/api/groups', { name: 'Middle' })).json.id;
  const inner = (await alice.post('/hub/api/groups', { name: 'Inner' })).json.id;
  assert.equal(
    (await alice.post(`/hub/api/groups/${outer}/subgroups`, { group_id: middle })).status,
    201,
  );
  assert.equal(
    (await alice.post(`/hub/api/groups/${middle}/subgroups`, { group_id: inner })).status,
    201,
  );
  const cycle = await alice.post(`/hub/api/groups/${inner}/subgroups`, { group_id: outer });
  assert.equal(cycle.status, 409);
  assert.match(cycle.json.message, /cycle/);
  assert.equal(
    (await alice.post(`/hub/api/groups/${inner}/subgroups`, { group_id: inner })).status,
    400,
  );
  const bobs = (await bob.post('/hub/api/groups', { name: 'Bobs' })).json.id;
  assert.equal(
    (await alice.post(`/hub/api/groups/${outer}/subgroups`, { group_id: bobs })).status,
    404,
    'cannot nest a group you are not in',
  );

  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const closure = async () =>
    (
      await db.query(
        'SELECT ancestor_id, descendant_id FROM group_closure WHERE ancestor_id <> descendant_id ORDER BY 1, 2',
      )
    ).rows.map((r) => `${r.ancestor_id}>${r.descendant_id}`);
  assert.deepEqual(
    await closure(),
    [`${outer}>${middle}`, `${outer}>${inner}`, `${middle}>${inner}`].sort(),
  );
  assert.equal((await alice.delete(`/hub/api/groups/${middle}`)).status, 204);
  assert.deepEqual(await closure(), [], 'paths through a deleted group go with it');
  await db.end();
});

test('science domains: only admins create them, anyone joins and leaves', async () => {
  const refused = await alice.post('/hub/api/domains', { name: 'Astronomy' });
  assert.equal(refused.status, 403);
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  await db.query(`UPDATE users SET admin = true WHERE name = 'carol'`);
  await db.end();
  const made = await carol.post('/hub/api/domains', {
    name: 'Astronomy',
    description: 'Stars and galaxies',
  });
  assert.equal(made.status, 201);
  const id = made.json.id;
  assert.equal((await bob.post(`/hub/api/domains/${id}/join`)).json.joined, true);
  assert.equal(
    (await bob.get('/hub/api/domains')).json.domains.find((d: { id: number }) => d.id === id)
      .joined,
    true,
  );
  assert.equal(
    (await bob.post(`/hub/api/groups/${id}/invitations`, { username: 'alice', role: 'MEMBER' }))
      .status,
    403,
  );
  assert.equal((await bob.post(`/hub/api/domains/${id}/leave`)).json.joined, false);
  assert.equal(
    (await bob.get('/hub/api/domains')).json.domains.find((d: { id: number }) => d.id === id)
      .joined,
    false,
  );
});

/** `count` groups owned by both alice and bob. */
async function groupsWithTwoOwners(label: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const { json: group } = await alice.post('/hub/api/groups', { name: `${label} ${i}` });
    const invited = await alice.post(`/hub/api/groups/${group.id}/invitations`, {
      username: 'bob',
      role: 'ADMIN',
    });
    assert.equal((await bob.post(`/hub/api/invitations/${invited.json.id}/accept`)).status, 200);
    const promoted = await alice.patch(`/hub/api/groups/${group.id}/members/bob`, {
      role: 'OWNER',
    });
    assert.equal(promoted.status, 200);
    ids.push(group.id);
  }
  return ids;
}

/** Exactly one of each pair succeeded, the other was refused by a rule, and no group lost its owners. */
async function assertOneOwnerKept(
  ids: number[],
  answers: { status: number; json: { rule?: string } }[][],
  success: number,
  refusals: string[],
) {
  for (const pair of answers) {
    const [done, refused] = [...pair].sort((a, b) => a.status - b.status);
    assert.equal(done!.status, success);
    assert.ok(
      refusals.includes(`${refused!.status} ${refused!.json.rule}`),
      JSON.stringify(refused),
    );
  }
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const { rows } = await db.query(
    `SELECT g.id FROM groups g WHERE g.id = ANY($1)
       AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.role = 'OWNER')`,
    [ids],
  );
  await db.end();
  assert.deepEqual(rows, [], 'groups left without an owner');
}

test('two owners leaving at once: every group keeps an owner', async () => {
  // Each owner reads "two owners" and leaves; without a lock on the group both can succeed.
  const ids = await groupsWithTwoOwners('Both leave', 16);
  const answers = await Promise.all(
    ids.map((id) =>
      Promise.all([
        alice.delete(`/hub/api/groups/${id}/members/alice`),
        bob.delete(`/hub/api/groups/${id}/members/bob`),
      ]),
    ),
  );
  await assertOneOwnerKept(ids, answers, 204, ['409 last_owner']);
});

test('two owners demoting each other at once: every group keeps an owner', async () => {
  const ids = await groupsWithTwoOwners('Both demote', 16);
  const answers = await Promise.all(
    ids.map((id) =>
      Promise.all([
        alice.patch(`/hub/api/groups/${id}/members/bob`, { role: 'MEMBER' }),
        bob.patch(`/hub/api/groups/${id}/members/alice`, { role: 'MEMBER' }),
      ]),
    ),
  );
  // The second to act is either the last owner now, or no longer an owner (nor an admin) at all.
  await assertOneOwnerKept(ids, answers, 200, ['409 last_owner', '403 group_role']);
});

test('a username is looked up as accounts spell it: case, width and spaces do not matter', async () => {
  const { json: group } = await alice.post('/hub/api/groups', { name: 'Spelling' });
  const invited = await alice.post(`/hub/api/groups/${group.id}/invitations`, {
    username: ' ＢＯＢ ',
    role: 'MEMBER',
  });
  assert.equal(invited.status, 201, invited.text);
  assert.equal(invited.json.username, 'bob');
});

test('a change whose activity record fails is not made: the change and its record are one transaction', async () => {
  const { json: group } = await alice.post('/hub/api/groups', { name: 'Atomic' });
  const domain = await dora.post('/hub/api/domains', { name: 'Atomic domain' });
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  // The fault: the activity log refuses these two events, after the change itself was written.
  await db.query(`CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'activity log unavailable'; END $$`);
  await db.query(`CREATE TRIGGER refuse_event BEFORE INSERT ON activity FOR EACH ROW
    WHEN (NEW.type IN ('group.update', 'domain.join')) EXECUTE FUNCTION refuse_event()`);
  try {
    const renamed = await alice.patch(`/hub/api/groups/${group.id}`, { name: 'Renamed' });
    assert.equal(renamed.status, 500);
    const joined = await bob.post(`/hub/api/domains/${domain.json.id}/join`);
    assert.equal(joined.status, 500);
  } finally {
    await db.query('DROP TRIGGER refuse_event ON activity');
    await db.query('DROP FUNCTION refuse_event()');
    await db.end();
  }
  assert.equal((await alice.get(`/hub/api/groups/${group.id}`)).json.name, 'Atomic');
  const domains = (await bob.get('/hub/api/domains')).json.domains;
  assert.equal(domains.find((d: { id: number }) => d.id === domain.json.id).joined, false);
});

test('every activity payload key written here is snake_case', async () => {
  assert.deepEqual(await activityKeysNotSnakeCase(hub.databaseUrl), []);
});
