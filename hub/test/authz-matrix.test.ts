/**
 * The authorisation matrix: every API route × every kind of caller. Each cell
 * runs on fresh fixtures, so a destructive call cannot hide the next one.
 * A caller outside a route's allowed set must get no 2xx; a caller inside must
 * get one. Adding a route without an entry here fails the first test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createAccount } from '../src/accounts/service.ts';
import { createToken } from '../src/auth/tokens.ts';
import { inTransaction } from '../src/db/pool.ts';
import { nestGroup } from '../src/groups/nesting.ts';
import { addMember, createGroup, createInvitation } from '../src/groups/store.ts';
import { routeId } from '../src/http/route.ts';
import { grant, registerResource, resourceType } from '../src/racm/store.ts';
import { apiRoutes } from '../src/routes.ts';
import { Client, signUp, startTestHub, type TestHub, testConfig } from './support.ts';

const PRINCIPALS = [
  'anonymous',
  'owner',
  'other',
  'member',
  'groupAdmin',
  'admin',
  'narrowToken',
] as const;
type Who = (typeof PRINCIPALS)[number];
const USERNAME = {
  owner: 'owner',
  other: 'other',
  member: 'member',
  groupAdmin: 'gadmin',
  admin: 'padmin',
} as const;
const SIGNED_IN: Who[] = ['owner', 'other', 'member', 'groupAdmin', 'admin'];
const EVERYONE: Who[] = [...PRINCIPALS];

/** Fresh things each cell acts on; "owner" owns all of them. */
interface Fixture {
  group: number;
  otherGroup: number;
  nestedChild: number;
  invitationToOwner: number;
  ownerToken: number;
  resource: number;
  groupPrivilege: number;
  victim: string;
  unique: string;
  /** A server row of the owner's, "running" as a process that is long gone. */
  server: string;
}

interface Cell {
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  allowed: Who[];
}

const MATRIX: Record<string, Cell> = {
  'GET /': { path: () => '/', allowed: EVERYONE },
  'POST /register': {
    path: () => '/register',
    body: (f) => ({ username: `new${f.unique}`, email: 'n@example.org', password: 'password1' }),
    allowed: EVERYONE,
  },
  'POST /login': {
    path: () => '/login',
    body: () => ({ username: 'owner', password: 'owner password' }),
    allowed: EVERYONE,
  },
  'POST /logout': { path: () => '/logout', allowed: EVERYONE },
  'GET /user': { path: () => '/user', allowed: [...SIGNED_IN, 'narrowToken'] },
  'GET /users': { path: () => '/users?prefix=o', allowed: [...SIGNED_IN, 'narrowToken'] },
  'GET /users/:name': { path: () => '/users/owner', allowed: ['owner', 'admin', 'narrowToken'] },
  'PATCH /users/:name': {
    path: (f) => `/users/${f.victim}`,
    body: () => ({ approved: true }),
    allowed: ['admin'],
  },
  'DELETE /users/:name': { path: (f) => `/users/${f.victim}`, allowed: ['admin'] },
  'GET /users/:name/tokens': { path: () => '/users/owner/tokens', allowed: ['owner', 'admin'] },
  'POST /users/:name/tokens': {
    path: () => '/users/owner/tokens',
    body: () => ({ note: 'm' }),
    allowed: ['owner'],
  },
  'DELETE /users/:name/tokens/:tokenId': {
    path: (f) => `/users/owner/tokens/${f.ownerToken}`,
    allowed: ['owner', 'admin'],
  },
  'GET /groups': { path: () => '/groups', allowed: SIGNED_IN },
  'POST /groups': {
    path: () => '/groups',
    body: (f) => ({ name: `new ${f.unique}` }),
    allowed: SIGNED_IN,
  },
  'GET /groups/:id': {
    path: (f) => `/groups/${f.group}`,
    allowed: ['owner', 'member', 'groupAdmin', 'admin'],
  },
  'PATCH /groups/:id': {
    path: (f) => `/groups/${f.group}`,
    body: () => ({ description: 'd' }),
    allowed: ['owner', 'groupAdmin', 'admin'],
  },
  'DELETE /groups/:id': { path: (f) => `/groups/${f.group}`, allowed: ['owner', 'admin'] },
  'POST /groups/:id/invitations': {
    path: (f) => `/groups/${f.group}/invitations`,
    body: (f) => ({ username: f.victim, role: 'MEMBER' }),
    allowed: ['owner', 'groupAdmin', 'admin'],
  },
  'GET /invitations': { path: () => '/invitations', allowed: SIGNED_IN },
  'POST /invitations/:id/accept': {
    path: (f) => `/invitations/${f.invitationToOwner}/accept`,
    allowed: ['owner'],
  },
  'POST /invitations/:id/decline': {
    path: (f) => `/invitations/${f.invitationToOwner}/decline`,
    allowed: ['owner'],
  },
  'PATCH /groups/:id/members/:username': {
    path: (f) => `/groups/${f.group}/members/member`,
    body: () => ({ role: 'ADMIN' }),
    allowed: ['owner', 'groupAdmin', 'admin'],
  },
  // `member` removing themself is leaving.
  'DELETE /groups/:id/members/:username': {
    path: (f) => `/groups/${f.group}/members/member`,
    allowed: ['owner', 'groupAdmin', 'admin', 'member'],
  },
  'POST /groups/:id/subgroups': {
    path: (f) => `/groups/${f.group}/subgroups`,
    body: (f) => ({ groupId: f.otherGroup }),
    allowed: ['owner', 'admin'],
  },
  'DELETE /groups/:id/subgroups/:childId': {
    path: (f) => `/groups/${f.group}/subgroups/${f.nestedChild}`,
    allowed: ['owner', 'groupAdmin', 'admin'],
  },
  'GET /domains': { path: () => '/domains', allowed: SIGNED_IN },
  'POST /domains': {
    path: () => '/domains',
    body: (f) => ({ name: `d${f.unique}` }),
    allowed: ['admin'],
  },
  'POST /domains/:id/join': { path: () => '/domains/__domain__/join', allowed: SIGNED_IN },
  'POST /domains/:id/leave': { path: () => '/domains/__domain__/leave', allowed: SIGNED_IN },
  'GET /racm/contexts': { path: () => '/racm/contexts', allowed: SIGNED_IN },
  'POST /racm/contexts': {
    path: () => '/racm/contexts',
    body: (f) => ({
      name: `ctx${f.unique}`,
      resourceTypes: [{ name: `T${f.unique}`, actions: ['read'] }],
    }),
    allowed: ['admin'],
  },
  'GET /racm/resources': {
    path: () => '/racm/resources?type=UserVolume&action=read',
    allowed: SIGNED_IN,
  },
  'POST /racm/resources': {
    path: () => '/racm/resources',
    body: (f) => ({ type: 'UserVolume', name: `v${f.unique}` }),
    allowed: SIGNED_IN,
  },
  // RACM has no admin override: a platform admin sees a user's volume only if it was shared with them.
  'GET /racm/resources/:id': {
    path: (f) => `/racm/resources/${f.resource}`,
    allowed: ['owner', 'member', 'groupAdmin'],
  },
  'DELETE /racm/resources/:id': {
    path: (f) => `/racm/resources/${f.resource}`,
    allowed: ['owner'],
  },
  'POST /racm/resources/:id/privileges': {
    path: (f) => `/racm/resources/${f.resource}/privileges`,
    body: () => ({ action: 'read', user: 'other' }),
    allowed: ['owner'],
  },
  'DELETE /racm/resources/:id/privileges/:privilegeId': {
    path: (f) => `/racm/resources/${f.resource}/privileges/${f.groupPrivilege}`,
    allowed: ['owner'],
  },
  'GET /racm/check': {
    path: (f) => `/racm/check?resource=${f.resource}&action=read`,
    allowed: SIGNED_IN,
  },
  'GET /activity': { path: () => '/activity', allowed: SIGNED_IN },
  'GET /compute': { path: () => '/compute', allowed: SIGNED_IN },
  'GET /users/:name/servers': { path: () => '/users/owner/servers', allowed: ['owner', 'admin'] },
  'GET /users/:name/servers/:server': {
    path: (f) => `/users/owner/servers/${f.server}`,
    allowed: ['owner', 'admin'],
  },
  // The spawn itself fails in the background (the matrix hub's jupyter is /bin/false); access is decided first.
  'POST /users/:name/servers/:server': {
    path: (f) => `/users/owner/servers/new-${f.unique}`,
    body: () => ({}),
    allowed: ['owner', 'admin'],
  },
  'DELETE /users/:name/servers/:server': {
    path: (f) => `/users/owner/servers/${f.server}`,
    allowed: ['owner', 'admin'],
  },
  'POST /users/:name/servers/:server/keepalive': {
    path: (f) => `/users/owner/servers/${f.server}/keepalive`,
    allowed: ['owner', 'admin'],
  },
  'GET /users/:name/servers/:server/progress': {
    path: (f) => `/users/owner/servers/${f.server}/progress`,
    allowed: ['owner', 'admin'],
  },
};

let hub: TestHub;
let db: pg.Pool;
let clients: Record<Who, Client>;
const ids: Record<string, number> = {};
let domainId = 0;

before(async () => {
  hub = await startTestHub('matrix', {
    apiRequestsPerMinute: 100_000,
    loginFailuresBeforeBackoff: 100_000,
    loginAttemptsPerAddress: 100_000,
    compute: {
      ...testConfig('').compute,
      jupyterCommand: '/bin/false',
      spawnTimeoutSeconds: 1,
      maxServersPerUser: 10_000,
    },
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  const sessions: Partial<Record<Who, Client>> = { anonymous: new Client(hub.url) };
  for (const who of ['owner', 'other', 'member', 'groupAdmin', 'admin'] as const) {
    sessions[who] = await signUp(hub.url, USERNAME[who], `${USERNAME[who]} password`);
  }
  for (const row of (await db.query('SELECT id, name FROM users')).rows) ids[row.name] = row.id;
  await db.query(`UPDATE users SET admin = true WHERE name = 'padmin'`);
  const narrow = await createToken(db, ids.owner!, { scopes: ['read:user'], seconds: 3600 });
  sessions.narrowToken = Client.withToken(hub.url, narrow.token);
  clients = sessions as Record<Who, Client>;
  domainId = (
    await createGroup(db, {
      name: 'Matrix domain',
      description: '',
      kind: 'domain',
      creatorId: ids.padmin!,
    })
  ).id;
});

after(async () => {
  await db.end();
  await hub.stop();
});

async function makeFixture(): Promise<Fixture> {
  const unique = randomBytes(4).toString('hex');
  return inTransaction(db, async (client) => {
    const group = (
      await createGroup(client, {
        name: `G${unique}`,
        description: '',
        kind: 'group',
        creatorId: ids.owner!,
      })
    ).id;
    await addMember(client, group, ids.member!, 'MEMBER');
    await addMember(client, group, ids.gadmin!, 'ADMIN');
    const otherGroup = (
      await createGroup(client, {
        name: `K${unique}`,
        description: '',
        kind: 'group',
        creatorId: ids.owner!,
      })
    ).id;
    const nestedChild = (
      await createGroup(client, {
        name: `N${unique}`,
        description: '',
        kind: 'group',
        creatorId: ids.owner!,
      })
    ).id;
    await nestGroup(client, group, nestedChild);
    const othersGroup = (
      await createGroup(client, {
        name: `H${unique}`,
        description: '',
        kind: 'group',
        creatorId: ids.other!,
      })
    ).id;
    const invitation = await createInvitation(client, {
      groupId: othersGroup,
      userId: ids.owner!,
      role: 'MEMBER',
      invitedBy: ids.other!,
    });
    const token = await createToken(client, ids.owner!, { scopes: ['read:user'], seconds: 3600 });
    const type = (await resourceType(client, 'UserVolume'))!;
    const resource = await registerResource(client, {
      typeId: type.id,
      name: `owner/${unique}`,
      ownerId: ids.owner!,
    });
    const groupPrivilege = (await grant(client, {
      resourceId: resource,
      typeId: type.id,
      action: 'read',
      groupId: group,
      grantedBy: ids.owner!,
    }))!;
    const server = `s-${unique}`;
    await client.query(
      `INSERT INTO servers (user_id, name, image, domain, status, state, url) VALUES ($1, $2, 'orrery/lab:latest', 'local', 'running', $3, 'http://127.0.0.1:9')`,
      [
        ids.owner,
        server,
        JSON.stringify({
          backend: 'local',
          host: 'localhost',
          name: `orrery-test-gone-${unique}`,
          pid: 2 ** 22 + 1,
          port: 9,
        }),
      ],
    );
    const victim = `victim${unique}`;
    await createAccount(
      client,
      testConfig(hub.databaseUrl),
      { username: victim, approved: false },
      { type: 'test' },
    );
    return {
      group,
      otherGroup,
      nestedChild,
      invitationToOwner: invitation.id,
      ownerToken: token.record.id,
      resource,
      groupPrivilege,
      victim,
      unique,
      server,
    };
  });
}

test('every API route has an entry in the matrix, and every entry is a route', () => {
  const routes = apiRoutes.map(routeId).sort();
  assert.deepEqual(
    Object.keys(MATRIX).sort(),
    routes,
    'add the new route to MATRIX with who may call it',
  );
});

for (const def of apiRoutes) {
  const id = routeId(def);
  test(`access: ${id}`, async () => {
    const cell = MATRIX[id];
    assert.ok(cell, `no matrix entry for ${id}`);
    const outcomes: string[] = [];
    for (const who of PRINCIPALS) {
      const fixture = await makeFixture();
      const path = `/hub/api${cell.path(fixture).replace('__domain__', String(domainId))}`;
      const body =
        cell.body?.(fixture) ?? (def.method === 'get' || def.method === 'delete' ? undefined : {});
      // Logging in or out with a principal's own client would change that principal; use a copy.
      const client = id === 'POST /logout' || id === 'POST /login' ? cloneOf(who) : clients[who];
      const res = await client.request(def.method.toUpperCase(), path, body);
      const ok = res.status >= 200 && res.status < 300;
      const expected = cell.allowed.includes(who);
      if (ok !== expected)
        outcomes.push(
          `${who}: got ${res.status} ${res.text.slice(0, 120)}, expected ${expected ? '2xx' : 'a refusal'}`,
        );
      if (!ok)
        assert.ok(res.status >= 400 && res.status < 500, `${who}: ${res.status} is not a 4xx`);
    }
    assert.deepEqual(outcomes, []);
  });
}

function cloneOf(who: Who): Client {
  if (who === 'narrowToken') return clients.narrowToken;
  return new Client(hub.url);
}
