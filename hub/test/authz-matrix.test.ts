/**
 * The authorisation matrix: every API route × every kind of caller. Each cell
 * runs on fresh fixtures, so a destructive call cannot hide the next one.
 * A caller outside a route's allowed set must get no 2xx, refused for the right
 * reason (not signed in, a scope the credential lacks, or the route's own rule);
 * a caller inside must get one. Adding a route without an entry here fails the
 * first test. The pages, single sign-on and the /user/ proxy have their own rows,
 * and so do the checks that depend on the query (`/activity?user=`, `?all=true`).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import Provider from 'oidc-provider';
import pg from 'pg';
import { createAccount } from '../src/accounts/service.ts';
import { effectiveScopes } from '../src/auth/scopes.ts';
import { createToken, issueServerToken } from '../src/auth/tokens.ts';
import { coursesModule } from '../src/courses/module.ts';
import { inTransaction } from '../src/db/pool.ts';
import { filesModule } from '../src/files/module.ts';
import { nestGroup } from '../src/groups/nesting.ts';
import { addMember, createGroup, createInvitation } from '../src/groups/store.ts';
import { type RouteDef, routeId } from '../src/http/route.ts';
import { loadJobsConfig } from '../src/jobs/config.ts';
import { grant, registerResource, resourceType } from '../src/racm/store.ts';
import { apiRoutes, SERVER_TOKEN_SCOPES } from '../src/routes.ts';
import { ensureServerResource, grantActions, insertShareCode } from '../src/shares/store.ts';
import { Client, signUp, startTestHub, type TestHub, testConfig } from './support.ts';

const PRINCIPALS = [
  'anonymous',
  'owner',
  'other',
  'member',
  'groupAdmin',
  'admin',
  'narrowToken',
  /** The token code in the owner's server holds (the lab extension's credential). */
  'serverToken',
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
/** What each token principal was given; sessions hold `all`. */
const TOKEN_SCOPES: Partial<Record<Who, string[]>> = {
  narrowToken: ['read:users'],
  serverToken: SERVER_TOKEN_SCOPES,
};

/** Fresh things each cell acts on; "owner" owns all of them. */
interface Fixture {
  group: number;
  otherGroup: number;
  nestedChild: number;
  invitationToOwner: number;
  ownerToken: number;
  resource: number;
  groupPrivilege: number;
  /** A share of one of the owner's MyDB tables with `group` (a RACM privilege). */
  share: number;
  victim: string;
  unique: string;
  /** A server row of the owner's, "running" as a process that is long gone. */
  server: string;
  /** A queued batch query of the owner's (this hub runs none: batchTotal 0). */
  batchQuery: number;
  /** A queued job of the owner's and a cancelled one (this hub dispatches none). */
  job: number;
  endedJob: number;
  /** A fresh volume of the owner's (`Storage/owner/<volume>`) holding `f.txt`, shared read-only with `member`. */
  volume: string;
  /** A resumable upload of the owner's into it, and an invite code's id for it. */
  upload: string;
  link: number;
  linkCode: string;
  /** A data volume registered by the admin, shared with nobody. */
  dataVolume: string;
  /** A share code of the owner's server `server` (the owner's default server and `server` are shared with `member`). */
  shareCode: string;
}

interface Cell {
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** Request headers, e.g. a raw body's content type. */
  headers?: Record<string, string>;
  /** Made before the request, e.g. the MyDB table it acts on. */
  prepare?: (f: Fixture) => Promise<void>;
  /** Run after the fixture is made, before the request (e.g. to free the default server). */
  setup?: () => Promise<unknown>;
  allowed: Who[];
  /**
   * For a route answering with a redirect: where an allowed caller is sent (prefix), and where
   * a refused one may be sent instead of a JSON refusal (the sign-in page).
   */
  redirects?: { allowed: string; refused: string };
}

/** The owner's default server is not there (so that starting it can succeed). */
const withoutDefaultServer = () =>
  db.query(
    `DELETE FROM servers WHERE name = '' AND user_id = (SELECT id FROM users WHERE name = 'owner')`,
  );

/** The cells of a route declared for the default server (`base`) and for a named one. */
function serverCells(
  base: string,
  named: (f: Fixture) => string,
  methods: Partial<Record<'get' | 'post' | 'patch' | 'delete', Omit<Cell, 'path'>>>,
): Record<string, Cell> {
  const route = base.replace(/\/owner$/, '/:name');
  const cells: Record<string, Cell> = {};
  for (const [method, cell] of Object.entries(methods)) {
    cells[`${method.toUpperCase()} ${route}`] = { ...cell, path: () => base };
    cells[`${method.toUpperCase()} ${route}/:server`] = { ...cell, path: named };
  }
  return cells;
}

/**
 * Courses. The owner teaches the fixture course `c<unique>` (made in `prepare`, so only these
 * cells pay for it), groupAdmin is its TA and member its student; `other` and the platform admin
 * are not in it (a course has no admin override: they get 404). The server token is the
 * owner's, so it acts as the teacher. `a1` is released (a copy), submitted by member and
 * collected; `later` is not released yet; the invitation code is `orrc_matrix<unique>`.
 */
const course = (f: Fixture) => `/courses/c${f.unique}`;
const STAFF: Who[] = ['owner', 'groupAdmin', 'serverToken'];
const TEACHER: Who[] = ['owner', 'serverToken'];
const IN_COURSE: Who[] = [...STAFF, 'member'];
const courseCell = (
  cell: Omit<Cell, 'prepare' | 'path'> & { path: (f: Fixture) => string },
): Cell => ({ ...cell, prepare: courseFixture });
const COURSE_CELLS: Record<string, Cell> = {
  'GET /courses': { path: () => '/courses', allowed: [...SIGNED_IN, 'serverToken'] },
  'POST /courses': {
    path: () => '/courses',
    body: (f) => ({ slug: `n${f.unique}`, title: 'New', ends_at: '2099-01-01T00:00:00Z' }),
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'GET /courses/:slug': courseCell({ path: course, allowed: IN_COURSE }),
  'PATCH /courses/:slug': courseCell({
    path: course,
    body: () => ({ title: 'Renamed' }),
    allowed: TEACHER,
  }),
  'DELETE /courses/:slug': courseCell({ path: course, allowed: TEACHER }),
  'GET /courses/:slug/roster': courseCell({ path: (f) => `${course(f)}/roster`, allowed: STAFF }),
  'POST /courses/:slug/roster': courseCell({
    path: (f) => `${course(f)}/roster`,
    body: () => ({ names: ['other'] }),
    allowed: STAFF,
  }),
  // Naming oneself is leaving: the student may.
  'DELETE /courses/:slug/roster/:name': courseCell({
    path: (f) => `${course(f)}/roster/member`,
    allowed: IN_COURSE,
  }),
  // The teacher stays (409); the TA and the student leave.
  'POST /courses/:slug/leave': courseCell({
    path: (f) => `${course(f)}/leave`,
    allowed: ['groupAdmin', 'member'],
  }),
  'POST /courses/:slug/invitation': courseCell({
    path: (f) => `${course(f)}/invitation`,
    allowed: STAFF,
  }),
  'DELETE /courses/:slug/invitation': courseCell({
    path: (f) => `${course(f)}/invitation`,
    allowed: STAFF,
  }),
  // Anyone signed in joins with the code; a member already in just gets the course.
  'POST /course-invitations/redeem': courseCell({
    path: () => '/course-invitations/redeem',
    body: (f) => ({ code: `orrc_matrix${f.unique}` }),
    allowed: [...SIGNED_IN, 'serverToken'],
  }),
  'GET /courses/:slug/assignments': courseCell({
    path: (f) => `${course(f)}/assignments`,
    allowed: IN_COURSE,
  }),
  'POST /courses/:slug/assignments': courseCell({
    path: (f) => `${course(f)}/assignments`,
    body: (f) => ({
      name: 'n1',
      source: { root: 'Storage', owner: 'owner', volume: f.volume, path: '' },
      mode: 'copy',
    }),
    allowed: TEACHER,
  }),
  'PATCH /courses/:slug/assignments/:name': courseCell({
    path: (f) => `${course(f)}/assignments/a1`,
    body: () => ({ title: 'Renamed' }),
    allowed: TEACHER,
  }),
  'DELETE /courses/:slug/assignments/:name': courseCell({
    path: (f) => `${course(f)}/assignments/later`,
    allowed: TEACHER,
  }),
  'POST /courses/:slug/assignments/:name/fetch': courseCell({
    path: (f) => `${course(f)}/assignments/a1/fetch`,
    allowed: ['member'],
  }),
  'POST /courses/:slug/assignments/:name/submissions': courseCell({
    path: (f) => `${course(f)}/assignments/a1/submissions`,
    allowed: ['member'],
  }),
  'GET /courses/:slug/assignments/:name/submissions': courseCell({
    path: (f) => `${course(f)}/assignments/a1/submissions`,
    allowed: IN_COURSE,
  }),
  'POST /courses/:slug/assignments/:name/collect': courseCell({
    path: (f) => `${course(f)}/assignments/a1/collect`,
    allowed: STAFF,
  }),
  'POST /courses/:slug/assignments/:name/return': courseCell({
    path: (f) => `${course(f)}/assignments/a1/return`,
    allowed: STAFF,
  }),
  'PUT /courses/:slug/assignments/:name/grades/:student': courseCell({
    path: (f) => `${course(f)}/assignments/a1/grades/member`,
    body: () => ({ score: 1 }),
    allowed: STAFF,
  }),
  'GET /courses/:slug/grades': courseCell({
    path: (f) => `${course(f)}/grades`,
    allowed: IN_COURSE,
  }),
  'GET /courses/:slug/grades.csv': courseCell({
    path: (f) => `${course(f)}/grades.csv`,
    allowed: STAFF,
  }),
};

/** The fixture course (see COURSE_CELLS), made through the courses service. */
async function courseFixture(f: Fixture): Promise<void> {
  const service = hub.modules.serviceOf(coursesModule);
  const as = (name: string) => ({ userId: ids[name]!, admin: false, address: null });
  const slug = `c${f.unique}`;
  await service.create(as('owner'), { slug, title: 'Matrix', ends_at: '2099-01-01T00:00:00Z' });
  await service.addToRoster(as('owner'), slug, { names: ['gadmin'], role: 'ta' });
  await service.addToRoster(as('owner'), slug, { names: ['member'] });
  const source = { root: 'Storage', owner: 'owner', volume: f.volume, path: '' };
  await service.assignments.create(as('owner'), slug, { name: 'a1', source, mode: 'copy' });
  await service.assignments.create(as('owner'), slug, {
    name: 'later',
    source,
    mode: 'copy',
    release_at: '2098-01-01T00:00:00Z',
  });
  await service.work.submit(as('member'), slug, 'a1', undefined);
  await service.work.collect(as('owner'), slug, 'a1', undefined);
  await db.query(
    `UPDATE courses SET invite_hash = $2, invite_expires_at = now() + interval '1 hour' WHERE slug = $1`,
    [slug, createHash('sha256').update(`orrc_matrix${f.unique}`).digest('hex')],
  );
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
  'GET /user': { path: () => '/user', allowed: [...SIGNED_IN, 'narrowToken', 'serverToken'] },
  // Everyone lists names (for inviting); admins see user models.
  'GET /users': {
    path: () => '/users?prefix=o',
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'POST /users': {
    path: () => '/users',
    body: (f) => ({ usernames: [`made${f.unique}`] }),
    allowed: ['admin'],
  },
  'POST /users/:name': { path: (f) => `/users/one${f.unique}`, allowed: ['admin'] },
  'GET /users/:name': {
    path: () => '/users/owner',
    allowed: ['owner', 'admin', 'narrowToken', 'serverToken'],
  },
  'GET /info': { path: () => '/info', allowed: ['admin'] },
  // The owner's browser is sent back to the owner's server with a code; other people are
  // refused, and a credential that is not a browser's session is sent to sign in.
  'GET /oauth2/authorize': {
    path: () =>
      `/oauth2/authorize?client_id=jupyterhub-user-owner&response_type=code&state=s&redirect_uri=${encodeURIComponent('/user/owner/oauth_callback')}`,
    allowed: ['owner'],
    redirects: { allowed: '/user/owner/oauth_callback?code=', refused: '/hub/login?next=' },
  },
  // Only a server with a valid code and its own token as the secret (hub/test/oauth.test.ts).
  'POST /oauth2/token': {
    path: () => '/oauth2/token',
    body: () => ({
      grant_type: 'authorization_code',
      code: 'not-a-code',
      client_id: 'jupyterhub-user-owner',
      client_secret: 'orr_not-a-token',
      redirect_uri: '/user/owner/oauth_callback',
    }),
    allowed: [],
  },
  // JupyterHub's read:metrics, an admin-only scope here (also served at /hub/metrics, below).
  'GET /metrics': { path: () => '/metrics', allowed: ['admin'] },
  'PATCH /users/:name': {
    path: (f) => `/users/${f.victim}`,
    body: () => ({ approved: true }),
    allowed: ['admin'],
  },
  'DELETE /users/:name': { path: (f) => `/users/${f.victim}`, allowed: ['admin'] },
  'GET /users/:name/tokens': { path: () => '/users/owner/tokens', allowed: ['owner', 'admin'] },
  // An admin mints a token for another user, within the admin's own scopes.
  'POST /users/:name/tokens': {
    path: () => '/users/owner/tokens',
    body: () => ({ note: 'm', scopes: ['read:users'] }),
    // Every fixture gave the owner a token: keep under the per-user cap.
    setup: () => db.query(`DELETE FROM api_tokens WHERE note IN ('fixture', 'm')`),
    allowed: ['owner', 'admin'],
  },
  'DELETE /users/:name/tokens/:token_id': {
    path: (f) => `/users/owner/tokens/${f.ownerToken}`,
    allowed: ['owner', 'admin'],
  },
  'GET /groups': { path: () => '/groups', allowed: [...SIGNED_IN, 'serverToken'] },
  'POST /groups': {
    path: () => '/groups',
    body: (f) => ({ name: `new ${f.unique}` }),
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'GET /groups/:id': {
    path: (f) => `/groups/${f.group}`,
    allowed: ['owner', 'member', 'groupAdmin', 'admin', 'serverToken'],
  },
  'PATCH /groups/:id': {
    path: (f) => `/groups/${f.group}`,
    body: () => ({ description: 'd' }),
    allowed: ['owner', 'groupAdmin', 'admin', 'serverToken'],
  },
  'DELETE /groups/:id': {
    path: (f) => `/groups/${f.group}`,
    allowed: ['owner', 'admin', 'serverToken'],
  },
  'POST /groups/:id/invitations': {
    path: (f) => `/groups/${f.group}/invitations`,
    body: (f) => ({ username: f.victim, role: 'MEMBER' }),
    allowed: ['owner', 'groupAdmin', 'admin', 'serverToken'],
  },
  'GET /invitations': { path: () => '/invitations', allowed: [...SIGNED_IN, 'serverToken'] },
  'POST /invitations/:id/accept': {
    path: (f) => `/invitations/${f.invitationToOwner}/accept`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /invitations/:id/decline': {
    path: (f) => `/invitations/${f.invitationToOwner}/decline`,
    allowed: ['owner', 'serverToken'],
  },
  'PATCH /groups/:id/members/:username': {
    path: (f) => `/groups/${f.group}/members/member`,
    body: () => ({ role: 'ADMIN' }),
    allowed: ['owner', 'groupAdmin', 'admin', 'serverToken'],
  },
  // `member` removing themself is leaving.
  'DELETE /groups/:id/members/:username': {
    path: (f) => `/groups/${f.group}/members/member`,
    allowed: ['owner', 'groupAdmin', 'admin', 'member', 'serverToken'],
  },
  'POST /groups/:id/subgroups': {
    path: (f) => `/groups/${f.group}/subgroups`,
    body: (f) => ({ group_id: f.otherGroup }),
    allowed: ['owner', 'admin', 'serverToken'],
  },
  'DELETE /groups/:id/subgroups/:child_id': {
    path: (f) => `/groups/${f.group}/subgroups/${f.nestedChild}`,
    allowed: ['owner', 'groupAdmin', 'admin', 'serverToken'],
  },
  'GET /domains': { path: () => '/domains', allowed: [...SIGNED_IN, 'serverToken'] },
  'POST /domains': {
    path: () => '/domains',
    body: (f) => ({ name: `d${f.unique}` }),
    allowed: ['admin'],
  },
  'POST /domains/:id/join': {
    path: () => '/domains/__domain__/join',
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'POST /domains/:id/leave': {
    path: () => '/domains/__domain__/leave',
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'GET /racm/contexts': { path: () => '/racm/contexts', allowed: SIGNED_IN },
  'POST /racm/contexts': {
    path: () => '/racm/contexts',
    body: (f) => ({
      name: `ctx${f.unique}`,
      resource_types: [{ name: `T${f.unique}`, actions: ['read'] }],
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
  'DELETE /racm/resources/:id/privileges/:privilege_id': {
    path: (f) => `/racm/resources/${f.resource}/privileges/${f.groupPrivilege}`,
    allowed: ['owner'],
  },
  'GET /racm/check': {
    path: (f) => `/racm/check?resource=${f.resource}&action=read`,
    allowed: SIGNED_IN,
  },
  'GET /activity': { path: () => '/activity', allowed: SIGNED_IN },
  'GET /compute': { path: () => '/compute', allowed: [...SIGNED_IN, 'serverToken'] },
  // The spawn itself fails in the background (the matrix hub's jupyter is /bin/false); access is decided first.
  'POST /users/:name/server': {
    path: () => '/users/owner/server',
    body: () => ({ profile: 'small' }),
    setup: withoutDefaultServer,
    allowed: ['owner', 'admin'],
  },
  'POST /users/:name/servers/:server': {
    path: (f) => `/users/owner/servers/new-${f.unique}`,
    body: () => ({}),
    allowed: ['owner', 'admin'],
  },
  'DELETE /users/:name/server': { path: () => '/users/owner/server', allowed: ['owner', 'admin'] },
  'DELETE /users/:name/servers/:server': {
    path: (f) => `/users/owner/servers/${f.server}`,
    allowed: ['owner', 'admin'],
  },
  'GET /users/:name/server/progress': {
    path: () => '/users/owner/server/progress',
    allowed: ['owner', 'admin', 'serverToken'],
  },
  'GET /users/:name/servers/:server/progress': {
    path: (f) => `/users/owner/servers/${f.server}/progress`,
    allowed: ['owner', 'admin', 'serverToken'],
  },
  // What jupyterhub-singleuser reports, and the lab's "keep it running".
  'POST /users/:name/activity': {
    path: () => '/users/owner/activity',
    body: (f) => ({ servers: { [f.server]: { last_activity: new Date().toISOString() } } }),
    allowed: ['owner', 'admin', 'serverToken'],
  },
  // Sharing servers: the owner (or a grant holder) shares; admins see and take back; the
  // member the fixture's servers are shared with (access only) may not share them onwards.
  ...serverCells('/shares/owner', (f) => `/shares/owner/${f.server}`, {
    get: { allowed: ['owner', 'admin', 'serverToken'] },
    post: { body: () => ({ user: 'other' }), allowed: ['owner', 'serverToken'] },
    patch: { body: () => ({ user: 'member' }), allowed: ['owner', 'admin', 'serverToken'] },
    delete: { allowed: ['owner', 'admin', 'serverToken'] },
  }),
  ...serverCells('/share-codes/owner', (f) => `/share-codes/owner/${f.server}`, {
    get: { allowed: ['owner', 'admin', 'serverToken'] },
    post: { body: () => ({ expires_in: 600 }), allowed: ['owner', 'serverToken'] },
    delete: { allowed: ['owner', 'admin', 'serverToken'] },
  }),
  'GET /users/:name/shared': {
    path: () => '/users/member/shared',
    allowed: ['member', 'admin'],
  },
  // Redeeming is for yourself only; the owner's own code would not share with the owner.
  'POST /users/:name/shared': {
    path: () => '/users/member/shared',
    body: (f) => ({ code: f.shareCode }),
    allowed: ['member'],
  },
  'GET /users/:name/shared/:owner': {
    path: () => '/users/member/shared/owner',
    allowed: ['member', 'admin'],
  },
  'GET /users/:name/shared/:owner/:server': {
    path: (f) => `/users/member/shared/owner/${f.server}`,
    allowed: ['member', 'admin'],
  },
  'DELETE /users/:name/shared/:owner': {
    path: () => '/users/member/shared/owner',
    allowed: ['member'],
  },
  'DELETE /users/:name/shared/:owner/:server': {
    path: (f) => `/users/member/shared/owner/${f.server}`,
    allowed: ['member'],
  },
  // Made on first use: the owner's (or an admin's) first call creates the space.
  'GET /users/:name/mydb': {
    path: () => '/users/owner/mydb',
    allowed: ['owner', 'admin', 'serverToken'],
  },
  // Everyone signed in has contexts (their own MyDB at least); RACM filters which catalogs.
  'GET /mydb/contexts': { path: () => '/mydb/contexts', allowed: [...SIGNED_IN, 'serverToken'] },
  'GET /mydb/contexts/:context/tables': {
    path: () => '/mydb/contexts/mydb/tables',
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'GET /mydb/contexts/:context/functions': {
    path: () => '/mydb/contexts/mydb/functions',
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  // SQL runs as the account's own role: never an admin's for someone else.
  'POST /users/:name/mydb/query': {
    path: () => '/users/owner/mydb/query',
    body: () => ({ sql: 'SELECT 1' }),
    allowed: ['owner', 'serverToken'],
  },
  'PATCH /users/:name/mydb': {
    path: () => '/users/owner/mydb',
    body: () => ({ quota_bytes: 1024 * 1024 * 1024 }),
    allowed: ['admin'],
  },
  'GET /users/:name/mydb/shares': {
    path: () => '/users/owner/mydb/shares',
    allowed: ['owner', 'admin', 'serverToken'],
  },
  // Sharing is the owner's act alone; taking a share back an admin may do too.
  'POST /users/:name/mydb/shares': {
    path: () => '/users/owner/mydb/shares',
    body: () => ({ user: 'other' }),
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /users/:name/mydb/shares/:share': {
    path: (f) => `/users/owner/mydb/shares/${f.share}`,
    allowed: ['owner', 'admin', 'serverToken'],
  },
  // Batch queries, sessions and the history: the account's own only, as quick queries.
  'POST /users/:name/mydb/batch': {
    path: () => '/users/owner/mydb/batch',
    body: () => ({ sql: 'SELECT 1' }),
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/mydb/batch': {
    path: () => '/users/owner/mydb/batch',
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/mydb/batch/:id': {
    path: (f) => `/users/owner/mydb/batch/${f.batchQuery}`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /users/:name/mydb/batch/:id/cancel': {
    path: (f) => `/users/owner/mydb/batch/${f.batchQuery}/cancel`,
    allowed: ['owner', 'serverToken'],
  },
  // Batch jobs: the account's own only, as MyDB batch queries.
  'POST /users/:name/jobs': {
    path: () => '/users/owner/jobs',
    body: () => ({ command: 'true' }),
    allowed: ['owner', 'serverToken'],
  },
  'POST /users/:name/jobs/sweeps': {
    path: () => '/users/owner/jobs/sweeps',
    body: () => ({ command: 'echo "$ORRERY_PARAM_n"', parameter_sets: [{ n: 1 }] }),
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/jobs': {
    path: () => '/users/owner/jobs',
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/jobs/:id': {
    path: (f) => `/users/owner/jobs/${f.job}`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /users/:name/jobs/:id/cancel': {
    path: (f) => `/users/owner/jobs/${f.job}/cancel`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /users/:name/jobs/:id/resubmit': {
    path: (f) => `/users/owner/jobs/${f.endedJob}/resubmit`,
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/jobs/:id/logs': {
    path: (f) => `/users/owner/jobs/${f.job}/logs`,
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /users/:name/mydb/sessions/:session': {
    path: (f) => `/users/owner/mydb/sessions/s${f.unique}`,
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/mydb/history': {
    path: () => '/users/owner/mydb/history',
    allowed: ['owner', 'serverToken'],
  },

  // Files. Volumes are RACM resources with no admin override: the fixture volume is the
  // owner's (and their server's), shared read-only with member (who may read, not write:
  // 403); everyone else is told it does not exist (404).
  'GET /volumes': { path: () => '/volumes', allowed: [...SIGNED_IN, 'serverToken'] },
  'POST /volumes/:root': {
    path: () => '/volumes/Storage',
    body: (f) => ({ name: `n${f.unique}` }),
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'PATCH /volumes/:root/:owner/:volume': {
    path: (f) => `/volumes/Storage/owner/${f.volume}`,
    body: () => ({ description: 'd' }),
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /volumes/:root/:owner/:volume': {
    path: (f) => `/volumes/Storage/owner/${f.volume}`,
    allowed: ['owner', 'serverToken'],
  },
  'GET /volumes/:root/:owner/:volume/shares': {
    path: (f) => `/volumes/Storage/owner/${f.volume}/shares`,
    allowed: ['owner', 'serverToken'],
  },
  'PUT /volumes/:root/:owner/:volume/shares': {
    path: (f) => `/volumes/Storage/owner/${f.volume}/shares`,
    body: () => ({ user: 'other', access: 'read' }),
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /volumes/:root/:owner/:volume/shares': {
    path: (f) => `/volumes/Storage/owner/${f.volume}/shares?user=member`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /volumes/:root/:owner/:volume/links': {
    path: (f) => `/volumes/Storage/owner/${f.volume}/links`,
    body: () => ({ expires_in_hours: 1 }),
    allowed: ['owner', 'serverToken'],
  },
  'GET /volumes/:root/:owner/:volume/links': {
    path: (f) => `/volumes/Storage/owner/${f.volume}/links`,
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /volumes/:root/:owner/:volume/links/:link_id': {
    path: (f) => `/volumes/Storage/owner/${f.volume}/links/${f.link}`,
    allowed: ['owner', 'serverToken'],
  },
  // Whoever holds the code may redeem it (the owner's own redemption changes nothing).
  'POST /volume-links/redeem': {
    path: () => '/volume-links/redeem',
    body: (f) => ({ code: f.linkCode }),
    allowed: [...SIGNED_IN, 'serverToken'],
  },
  'GET /files/:root/:owner/:volume/list': {
    path: (f) => `/files/Storage/owner/${f.volume}/list`,
    allowed: ['owner', 'member', 'serverToken'],
  },
  'GET /files/:root/:owner/:volume/content': {
    path: (f) => `/files/Storage/owner/${f.volume}/content?path=f.txt`,
    allowed: ['owner', 'member', 'serverToken'],
  },
  'PUT /files/:root/:owner/:volume/content': {
    path: (f) => `/files/Storage/owner/${f.volume}/content?path=new.txt`,
    body: () => 'bytes',
    headers: { 'content-type': 'application/octet-stream' },
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /files/:root/:owner/:volume/content': {
    path: (f) => `/files/Storage/owner/${f.volume}/content?path=f.txt`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /files/:root/:owner/:volume/folders': {
    path: (f) => `/files/Storage/owner/${f.volume}/folders`,
    body: () => ({ path: 'made' }),
    allowed: ['owner', 'serverToken'],
  },
  'POST /files/:root/:owner/:volume/move': {
    path: (f) => `/files/Storage/owner/${f.volume}/move`,
    body: () => ({ from: 'f.txt', to: 'g.txt' }),
    allowed: ['owner', 'serverToken'],
  },
  'POST /files/:root/:owner/:volume/uploads': {
    path: (f) => `/files/Storage/owner/${f.volume}/uploads`,
    body: () => ({ path: 'big.bin', size: 3 }),
    allowed: ['owner', 'serverToken'],
  },
  'GET /files/:root/:owner/:volume/uploads/:upload_id': {
    path: (f) => `/files/Storage/owner/${f.volume}/uploads/${f.upload}`,
    allowed: ['owner', 'serverToken'],
  },
  // The fixture upload holds its one byte: a chunk at offset 1 is past its size (the owner's
  // 400); at 0 it would be a 409. Sending none at offset 1 is the 2xx.
  'PUT /files/:root/:owner/:volume/uploads/:upload_id': {
    path: (f) => `/files/Storage/owner/${f.volume}/uploads/${f.upload}?offset=1`,
    body: () => '',
    headers: { 'content-type': 'application/octet-stream' },
    allowed: ['owner', 'serverToken'],
  },
  'POST /files/:root/:owner/:volume/uploads/:upload_id/complete': {
    path: (f) => `/files/Storage/owner/${f.volume}/uploads/${f.upload}/complete`,
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /files/:root/:owner/:volume/uploads/:upload_id': {
    path: (f) => `/files/Storage/owner/${f.volume}/uploads/${f.upload}`,
    allowed: ['owner', 'serverToken'],
  },
  'GET /users/:name/files/usage': {
    path: () => '/users/owner/files/usage',
    allowed: ['owner', 'admin', 'serverToken'],
  },
  'PUT /users/:name/files/quota': {
    path: () => '/users/owner/files/quota',
    body: () => ({ root: 'Storage', quota_bytes: 2 * 1024 ** 3 }),
    allowed: ['admin'],
  },
  'GET /data-volumes': { path: () => '/data-volumes', allowed: ['admin'] },
  'POST /data-volumes': {
    path: () => '/data-volumes',
    body: (f) => ({ name: `e${f.unique}`, host_path: '/tmp' }),
    allowed: ['admin'],
  },
  'DELETE /data-volumes/:name': {
    path: (f) => `/data-volumes/${f.dataVolume}`,
    allowed: ['admin'],
  },
  // Tables as files: the owner's own, read and written as the account's own role.
  'GET /users/:name/mydb/tables/:table/export': {
    prepare: (f) => ownerTable(`t_${f.unique}`),
    path: (f) => `/users/owner/mydb/tables/t_${f.unique}/export?format=csv`,
    allowed: ['owner', 'serverToken'],
  },
  'POST /users/:name/mydb/tables/:table/import': {
    path: (f) => `/users/owner/mydb/tables/t_${f.unique}/import?format=csv`,
    headers: { 'content-type': 'text/csv' },
    body: () => 'a,b\n1,2\n',
    allowed: ['owner', 'serverToken'],
  },
  'DELETE /users/:name/mydb/tables/:table': {
    prepare: (f) => ownerTable(`t_${f.unique}`),
    path: (f) => `/users/owner/mydb/tables/t_${f.unique}`,
    allowed: ['owner', 'serverToken'],
  },
  ...COURSE_CELLS,
};

/** A table in the owner's MyDB, made by the owner's own query. */
async function ownerTable(name: string): Promise<void> {
  const made = await clients.owner.post('/hub/api/users/owner/mydb/query', {
    sql: `CREATE TABLE ${name} (a int)`,
  });
  assert.equal(made.status, 200, made.text);
}

let hub: TestHub;
let db: pg.Pool;
let provider: Server;
let issuer: string;
let clients: Record<Who, Client>;
const ids: Record<string, number> = {};
let domainId = 0;

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A real OpenID provider, so /hub/oauth/* is configured as in production. */
async function startProvider(callback: string): Promise<void> {
  provider = createServer();
  const port = await listen(provider);
  issuer = `http://127.0.0.1:${port}`;
  const oidc = new Provider(issuer, {
    clients: [
      {
        client_id: 'matrix',
        client_secret: 'matrix-secret',
        redirect_uris: [callback],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    cookies: { keys: ['matrix-cookie-key'] },
  });
  provider.on('request', oidc.callback());
}

before(async () => {
  const probe = createServer();
  const hubPort = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  await startProvider(`http://127.0.0.1:${hubPort}/hub/oauth/callback`);
  hub = await startTestHub('matrix', {
    port: hubPort,
    publicUrl: `http://127.0.0.1:${hubPort}`,
    oidc: {
      issuer,
      clientId: 'matrix',
      clientSecret: 'matrix-secret',
      name: 'matrixsso',
      allowHttp: true,
    },
    // Jobs are queued on the local domain and never dispatched here.
    jobs: { ...loadJobsConfig({}), dispatch: false },
    apiRequestsPerMinute: 100_000,
    loginFailuresBeforeBackoff: 100_000,
    loginAttemptsPerAddress: 100_000,
    // Every route is tried by every caller, each time on fresh fixtures: far past the caps.
    maxGroupsPerUser: 100_000,
    maxPendingInvitationsPerUser: 100_000,
    // Fixtures' batch queries stay queued: cancelling one is always possible.
    mydb: { ...testConfig('').mydb, batchTotal: 0 },
    compute: {
      ...testConfig('').compute,
      jupyterCommand: '/bin/true',
      spawnTimeoutSeconds: 1,
      maxServersPerUser: 10_000,
    },
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  // Every files cell makes the owner a fresh volume: far past the per-user cap.
  hub.modules.serviceOf(filesModule).volumes.maxVolumesPerUser = 100_000;
  const sessions: Partial<Record<Who, Client>> = { anonymous: new Client(hub.url) };
  for (const who of ['owner', 'other', 'member', 'groupAdmin', 'admin'] as const) {
    sessions[who] = await signUp(hub.url, USERNAME[who], `${USERNAME[who]} password`);
  }
  for (const row of (await db.query('SELECT id, name FROM users')).rows) ids[row.name] = row.id;
  await db.query(`UPDATE users SET admin = true WHERE name = 'padmin'`);
  const narrow = await createToken(db, ids.owner!, { scopes: ['read:users'], seconds: 3600 });
  sessions.narrowToken = Client.withToken(hub.url, narrow.token);
  sessions.serverToken = Client.withToken(
    hub.url,
    await issueServerToken(db, ids.owner!, 'lab', SERVER_TOKEN_SCOPES, 3600),
  );
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
  await new Promise((resolve) => provider.close(resolve));
});

async function makeFixture(): Promise<Fixture> {
  const unique = randomBytes(4).toString('hex');
  const base = await inTransaction(db, async (client) => {
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
    const token = await createToken(client, ids.owner!, {
      scopes: ['read:users'],
      seconds: 3600,
      note: 'fixture',
    });
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
    const tableType = (await resourceType(client, 'MyDBTable'))!;
    const share = (await grant(client, {
      resourceId: await registerResource(client, {
        typeId: tableType.id,
        name: `owner/t${unique}`,
        ownerId: ids.owner!,
      }),
      typeId: tableType.id,
      action: 'read',
      groupId: group,
      grantedBy: ids.owner!,
    }))!;
    const server = `s-${unique}`;
    // The owner's default server too (a row of a process long gone), unless a cell took it.
    await client.query(
      `INSERT INTO servers (user_id, name, image, domain, status, state, url)
       VALUES ($1, '', 'orrery/lab:latest', 'local', 'running', $2, 'http://127.0.0.1:9')
       ON CONFLICT (user_id, name) DO NOTHING`,
      [
        ids.owner,
        JSON.stringify({
          backend: 'local',
          host: 'localhost',
          name: `orrery-test-gone-default-${unique}`,
          pid: 2 ** 22 + 2,
          port: 9,
        }),
      ],
    );
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
    // The owner's default server and `server` shared with member (access only), and a code.
    const owner = { id: ids.owner!, name: 'owner' };
    for (const name of ['', server]) {
      const shared = await ensureServerResource(client, owner, name);
      await grantActions(client, {
        resourceId: shared.id,
        typeId: shared.typeId,
        actions: ['access'],
        grantee: { userId: ids.member! },
        grantedBy: ids.owner!,
      });
    }
    const shareCode = `orrs_matrix${unique}`;
    await insertShareCode(client, {
      resourceId: (await ensureServerResource(client, owner, server)).id,
      codeHash: createHash('sha256').update(shareCode).digest('hex'),
      actions: ['access'],
      createdBy: ids.owner!,
      expiresAt: new Date(Date.now() + 3600_000),
    });
    const batchQuery = (
      await client.query(
        `INSERT INTO mydb_queries (user_id, kind, sql, context, target_table, status)
         VALUES ($1, 'batch', 'SELECT 1', 'mydb', $2, 'queued') RETURNING id`,
        [ids.owner, `matrix_${unique}`],
      )
    ).rows[0].id;
    const jobIds = (
      await client.query(
        `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes,
                           time_limit_seconds, status, finished_at)
         VALUES ($1, 'true', 'orrery/lab:latest', 'local', 1, 268435456, 60, 'queued', NULL),
                ($1, 'true', 'orrery/lab:latest', 'local', 1, 268435456, 60, 'cancelled', now())
         RETURNING id::int`,
        [ids.owner],
      )
    ).rows.map((row) => row.id as number);
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
      share,
      victim,
      unique,
      server,
      batchQuery,
      job: jobIds[0]!,
      endedJob: jobIds[1]!,
      shareCode,
    };
  });
  return { ...base, ...(await filesFixture(base.unique)) };
}

/** The owner's fresh volume with a file, an upload and a link; a data volume nobody was given. */
async function filesFixture(unique: string) {
  const files = hub.modules.serviceOf(filesModule);
  const owner = { userId: ids.owner!, admin: false, address: null };
  const volume = `v${unique}`;
  await files.volumes.create(owner, 'Storage', volume);
  const ref = { root: 'Storage', owner: 'owner', volume };
  const resolved = await files.write(owner, ref);
  await files.ops.upload(resolved, 'f.txt', Readable.from([Buffer.from('x')]), 1, false);
  const upload = await files.uploads.start(ids.owner!, resolved, 'up.bin', 1, false);
  await files.uploads.append(
    ids.owner!,
    resolved,
    upload.upload_id,
    0,
    Readable.from([Buffer.from('u')]),
  );
  const link = await files.volumes.createLink(owner, 'Storage', 'owner', volume, 1);
  await files.volumes.share(owner, 'Storage', 'owner', volume, { user: 'member', access: 'read' });
  const dataVolume = `d${unique}`;
  const host = path.join(path.dirname(files.volumes.root('Storage').path), 'data', dataVolume);
  await mkdir(host, { recursive: true });
  await files.volumes.registerData(
    { userId: ids.padmin!, admin: true, address: null },
    {
      name: dataVolume,
      host_path: host,
    },
  );
  return { volume, upload: upload.upload_id, link: link.id, linkCode: link.code, dataVolume };
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
      await cell.setup?.();
      const path = `/hub/api${cell.path(fixture).replace('__domain__', String(domainId))}`;
      const body =
        cell.body?.(fixture) ?? (def.method === 'get' || def.method === 'delete' ? undefined : {});
      // Logging in or out with a principal's own client would change that principal; use a copy.
      const client = id === 'POST /logout' || id === 'POST /login' ? cloneOf(who) : clients[who];
      await cell.prepare?.(fixture);
      const res = await client.request(def.method.toUpperCase(), path, body, cell.headers);
      const location = res.headers.get('location') ?? '';
      const ok = cell.redirects
        ? res.status === 302 && location.startsWith(cell.redirects.allowed)
        : res.status >= 200 && res.status < 300;
      const expected = cell.allowed.includes(who);
      if (ok !== expected)
        outcomes.push(
          `${who}: got ${res.status} ${res.text.slice(0, 120)}, expected ${expected ? '2xx' : 'a refusal'}`,
        );
      if (!ok) {
        const toSignIn =
          cell.redirects && res.status === 302 && location.startsWith(cell.redirects.refused);
        const wrong = toSignIn ? null : wrongRefusal(def, who, res);
        if (wrong) outcomes.push(`${who}: ${wrong}`);
      }
    }
    assert.deepEqual(outcomes, []);
  });
}

function cloneOf(who: Who): Client {
  if (TOKEN_SCOPES[who]) return clients[who];
  return new Client(hub.url);
}

const REASON_OF: Record<number, string> = {
  400: 'bad_request',
  // An anonymous route's own refusal of a credential in the request (OAuth's invalid_client).
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
};

/**
 * Why a refusal is wrong, or null: the anonymous caller must be told to sign in (401, or the
 * route's `anonymousStatus`: 403 for `GET /user`, as JupyterHub); a token without the route's
 * scope must be told which scope (403); a caller holding the scope must be refused by the
 * route's own rule (403, 404 or 409), never for a scope.
 */
function wrongRefusal(
  def: RouteDef,
  who: Who,
  res: { status: number; json?: { error?: string; message?: string } },
): string | null {
  const { status, json } = res;
  const got = `${status} ${json?.error}: ${json?.message}`;
  if (typeof json?.error !== 'string' || typeof json.message !== 'string')
    return `${status} without {error, message}`;
  if (!('scope' in def.access)) return REASON_OF[status] === json.error ? null : got;
  const scope = def.access.scope;
  if (who === 'anonymous') {
    const expected = def.access.anonymousStatus ?? 401;
    return status === expected && json.error === REASON_OF[expected]
      ? null
      : `${got}, expected ${expected}`;
  }
  const granted = TOKEN_SCOPES[who];
  // Sessions hold "all": every scope, the admin-only ones for the admin alone.
  const holds = granted
    ? effectiveScopes(granted, false).has(scope)
    : effectiveScopes(['all'], who === 'admin').has(scope);
  const forScope = json.message.includes(`"${scope}" scope`);
  if (!holds)
    return status === 403 && json.error === 'forbidden' && forScope
      ? null
      : `${got}, expected 403 for the "${scope}" scope`;
  if (forScope) return `${got}: refused for a scope it holds`;
  return [403, 404, 409].includes(status) && REASON_OF[status] === json.error
    ? null
    : `${got}, expected the route's own 403, 404 or 409`;
}

/** What a page, sign-on or proxy request must answer: a status, and the reason or the redirect. */
interface Expect {
  status: number;
  /** `error` of a JSON refusal. */
  error?: string;
  /** A fragment of the refusal's message that names the reason. */
  because?: string;
  /** Where a redirect points (prefix). */
  location?: string;
}

interface PageRow {
  path: (f: Fixture) => string;
  expect: (who: Who) => Expect;
  /**
   * The row is the sign-out form's POST (the token in the `_xsrf` field, as a browser submits
   * it): made with a second session, which must be over afterwards.
   */
  endsSession?: boolean;
}

const ok = (): Expect => ({ status: 200 });
const PAGE_ROWS: Record<string, PageRow> = {
  'GET /hub/login': { path: () => '/hub/login', expect: ok },
  'GET /hub/signup': { path: () => '/hub/signup', expect: ok },
  'GET /hub/home': {
    path: () => '/hub/home',
    expect: (who) =>
      who === 'anonymous' ? { status: 303, location: '/hub/login?next=%2Fhub%2Fhome' } : ok(),
  },
  // Shows a sign-out button to everyone; only its POST (with the XSRF field) ends a session.
  'GET /hub/logout': { path: () => '/hub/logout', expect: ok },
  // Anyone may sign out (a token or no session has nothing to end); it always lands on sign-in.
  'POST /hub/logout': {
    path: () => '/hub/logout',
    expect: () => ({ status: 303, location: '/hub/login' }),
    endsSession: true,
  },
  // JupyterHub's second path for its metrics: the same route, so the same refusals.
  'GET /hub/metrics': {
    path: () => '/hub/metrics',
    expect: (who) => {
      if (who === 'anonymous') return { status: 401, error: 'unauthorized' };
      if (who === 'admin') return ok();
      return { status: 403, error: 'forbidden', because: '"read:metrics" scope' };
    },
  },
  // Everyone may start a sign-in; it goes to the provider.
  'GET /hub/oauth/login': {
    path: () => '/hub/oauth/login?next=/hub/home',
    expect: () => ({ status: 303, location: `${issuer}/auth?` }),
  },
  // A callback that belongs to no sign-in started by this browser is refused, whoever sends it.
  'GET /hub/oauth/callback': {
    path: () => '/hub/oauth/callback?code=forged&state=forged',
    expect: () => ({
      status: 400,
      error: 'bad_request',
      because: 'start again from the sign-in page',
    }),
  },
  // The proxy decides before any upstream: only the owner's credentials with access:servers
  // pass, and then the fixture server (not in the route table) is reported not running.
  'GET /user/owner/:server/': {
    path: (f) => `/user/owner/${f.server}/api/status`,
    expect: (who) => {
      if (who === 'anonymous')
        return { status: 401, error: 'unauthorized', because: 'Sign in to reach this server' };
      // The server's own token reaches the hub's API, never servers through the proxy.
      if (who === 'narrowToken' || who === 'serverToken')
        return { status: 403, error: 'forbidden', because: '"access:servers" scope' };
      if (who === 'owner')
        return { status: 503, error: 'server_not_running', because: 'is not running' };
      return { status: 403, error: 'forbidden', because: 'belongs to another user' };
    },
  },
};

for (const [id, row] of Object.entries(PAGE_ROWS)) {
  test(`access: ${id}`, async () => {
    const outcomes: string[] = [];
    for (const who of PRINCIPALS) {
      const client = row.endsSession ? await cloneWithSession(who) : clients[who];
      const path = row.path(await makeFixture());
      const res = row.endsSession
        ? await submitSignOutForm(client, path)
        : await client.request('GET', path);
      const want = row.expect(who);
      const location = res.headers.get('location') ?? '';
      const problems = [
        res.status !== want.status && `status ${res.status}, expected ${want.status}`,
        want.error && res.json?.error !== want.error && `error ${res.json?.error}`,
        want.because &&
          !String(res.json?.message).includes(want.because) &&
          `message "${res.json?.message}"`,
        want.location && !location.startsWith(want.location) && `location "${location}"`,
      ].filter(Boolean);
      if (row.endsSession && SIGNED_IN.includes(who)) {
        const after = await client.get('/hub/api/user');
        if (after.status !== 403) problems.push(`the session still answers ${after.status}`);
      }
      if (problems.length) outcomes.push(`${who}: ${problems.join(', ')}`);
    }
    assert.deepEqual(outcomes, []);
  });
}

/** POST the sign-out page's form as a browser does: urlencoded, the token only in `_xsrf`. */
async function submitSignOutForm(client: Client, path: string) {
  const credentials = client.authHeaders();
  // A browser has the cookie from the page that shows the form.
  if (!credentials.authorization && !client.xsrf) await client.get(path);
  const res = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...client.authHeaders(), 'content-type': 'application/x-www-form-urlencoded' },
    body: `_xsrf=${encodeURIComponent(client.xsrf ?? '')}`,
  });
  const refusal = res.headers.get('content-type')?.startsWith('application/json');
  return { status: res.status, headers: res.headers, json: refusal ? await res.json() : undefined };
}

/** A second session of the same user, which may be spent (logged out) without harm. */
async function cloneWithSession(who: Who): Promise<Client> {
  if (TOKEN_SCOPES[who] || who === 'anonymous') return clients[who];
  const name = USERNAME[who as keyof typeof USERNAME];
  const copy = new Client(hub.url);
  const login = await copy.post('/hub/api/login', { username: name, password: `${name} password` });
  assert.equal(login.status, 200, `a second session for ${name}`);
  return copy;
}

// Checks that depend on the query, not on the route: who may name another user, or everyone.
const QUERY_ROWS: { path: string; allowed: Who[]; because: string }[] = [
  {
    path: '/activity?user=other',
    allowed: ['other', 'admin'],
    because: 'Only platform admins can search other users’ activity',
  },
  {
    path: '/activity?all=true',
    allowed: ['admin'],
    because: 'Only platform admins can search everyone’s activity',
  },
  // Naming yourself is no privilege; for everyone else, naming a user is an admin's.
  { path: '/activity?user=owner', allowed: ['owner', 'admin'], because: 'Only platform admins' },
];

for (const row of QUERY_ROWS) {
  test(`access: GET ${row.path}`, async () => {
    const outcomes: string[] = [];
    for (const who of ['owner', 'other', 'member', 'admin'] as const) {
      const res = await clients[who].get(`/hub/api${row.path}`);
      const allowed = row.allowed.includes(who);
      if (allowed && res.status !== 200) outcomes.push(`${who}: got ${res.status}`);
      if (!allowed && (res.status !== 403 || !String(res.json?.message).includes(row.because)))
        outcomes.push(`${who}: got ${res.status} ${res.json?.message}, expected 403`);
    }
    assert.deepEqual(outcomes, []);
  });
}
