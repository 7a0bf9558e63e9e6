/** Per-user caps on groups and invitations: 429 above them, and a burst cannot slip past. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { Client, signUp, startTestHub, type TestHub } from './support.ts';

const MAX_GROUPS = 3;
const MAX_INVITATIONS = 2;

let hub: TestHub;
let db: pg.Pool;
let alice: Client;
before(async () => {
  hub = await startTestHub('group_limits', {
    maxGroupsPerUser: MAX_GROUPS,
    maxPendingInvitationsPerUser: MAX_INVITATIONS,
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  alice = await signUp(hub.url, 'alice');
  for (const name of ['bob', 'carol', 'dan', 'erin', 'fay']) await signUp(hub.url, name);
});
after(async () => {
  await db.end();
  await hub.stop();
});

test('a user owns at most the configured number of groups, even when asking all at once', async () => {
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => alice.post('/hub/api/groups', { name: `Burst ${i}` })),
  );
  const created = answers.filter((answer) => answer.status === 201);
  const refused = answers.filter((answer) => answer.status === 429);
  assert.equal(created.length, MAX_GROUPS);
  assert.equal(refused.length, 8 - MAX_GROUPS);
  assert.equal(refused[0]!.json.error, 'too_many_requests');
  assert.equal(refused[0]!.json.rule, 'group_cap');
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM groups WHERE created_by = (SELECT id FROM users WHERE name = 'alice')`,
  );
  assert.equal(rows[0].n, MAX_GROUPS, 'no refused creation left a group behind');

  // The cap counts groups owned now: deleting one makes room.
  assert.equal((await alice.delete(`/hub/api/groups/${created[0]!.json.id}`)).status, 204);
  assert.equal((await alice.post('/hub/api/groups', { name: 'After delete' })).status, 201);
});

test('a user has at most the configured number of unanswered invitations out', async () => {
  const { rows } = await db.query(
    `SELECT g.id FROM groups g JOIN users u ON u.id = g.created_by WHERE u.name = 'alice' LIMIT 1`,
  );
  const groupId = rows[0].id;
  const invitees = ['bob', 'carol', 'dan', 'erin'];
  const answers = await Promise.all(
    invitees.map((username) =>
      alice.post(`/hub/api/groups/${groupId}/invitations`, { username, role: 'MEMBER' }),
    ),
  );
  assert.deepEqual(answers.map((answer) => answer.status).sort(), [201, 201, 429, 429]);
  assert.equal(answers.find((answer) => answer.status === 429)!.json.rule, 'invitation_cap');

  // An answered invitation no longer counts.
  const invited = answers.find((answer) => answer.status === 201)!.json;
  const invitee = await signInAs(invited.username);
  assert.equal((await invitee.post(`/hub/api/invitations/${invited.id}/decline`)).status, 200);
  const next = await alice.post(`/hub/api/groups/${groupId}/invitations`, {
    username: 'fay',
    role: 'MEMBER',
  });
  assert.equal(next.status, 201, next.text);
});

async function signInAs(username: string): Promise<Client> {
  const client = new Client(hub.url);
  const login = await client.post('/hub/api/login', { username, password: 'correct horse' });
  assert.equal(login.status, 200);
  return client;
}
