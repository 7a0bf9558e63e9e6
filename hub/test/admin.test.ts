/**
 * The admin pages over HTTP, on a hub that requires approval: each page is for admins only and
 * carries the CSP with no inline code; their buttons (form POSTs with the XSRF token) approve,
 * disable, make and unmake admins and delete, by the same rules as the API (the last admin,
 * one's own account); a deletion's confirmation lists what the features say goes; the activity
 * page reads anyone's log.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { adminPages } from '../src/admin/module.ts';
import { CONTENT_SECURITY_POLICY } from '../src/pages/layout.ts';
import { Client, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let root: Client;
let alice: Client;

const PASSWORD = 'correct horse';

/** A form POST as a page's button sends it (the client adds the XSRF header from its cookie). */
const submit = (client: Client, path: string, form = '') =>
  client.request('POST', path, form, { 'content-type': 'application/x-www-form-urlencoded' });

async function register(name: string): Promise<Client> {
  const client = new Client(hub.url);
  const made = await client.post('/hub/api/register', {
    username: name,
    email: `${name}@example.org`,
    password: PASSWORD,
  });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.pending_approval, true);
  return client;
}

const login = (client: Client, name: string) =>
  client.post('/hub/api/login', { username: name, password: PASSWORD });

/** The table row of `key` (data-user="…") on a page, or undefined. */
const rowOf = (page: string, attribute: string, key: string) =>
  page.match(new RegExp(`<tr data-${attribute}="${key}">[\\s\\S]*?</tr>`))?.[0];

before(async () => {
  hub = await startTestHub('admin_pages', { requireApproval: true });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  root = await register('root1');
  alice = await register('alice');
  await db.query(`UPDATE users SET approved = true WHERE name IN ('root1', 'alice')`);
  await db.query(`UPDATE users SET admin = true WHERE name = 'root1'`);
  assert.equal((await login(root, 'root1')).status, 200);
  assert.equal((await login(alice, 'alice')).status, 200);
});
after(async () => {
  await db.end();
  await hub.stop();
});

test('every admin page is for admins only, under the CSP, with no inline script', async () => {
  const paths = adminPages(null)
    .map((page) => page.path.replace(':name', 'alice'))
    .concat('/hub/admin/users?q=al', '/hub/admin/activity?user=alice&type=user.*');
  for (const path of paths) {
    const page = await root.get(path);
    assert.equal(page.status, 200, `${path}: ${page.text}`);
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.doesNotMatch(page.text, /<script(?![^>]*\bsrc=)/i, path);
    assert.doesNotMatch(page.text, /\son[a-z]+=|\sstyle=/i, path);
    assert.equal((await alice.get(path)).status, 403, path);
    const stranger = await new Client(hub.url).get(path);
    assert.equal(stranger.status, 303, path);
    assert.match(stranger.headers.get('location') ?? '', /^\/hub\/login\?next=/);
  }
  // The home page links admins, and only admins, to these pages.
  assert.match((await root.get('/hub/home')).text, /href="\/hub\/admin\/users"/);
  assert.doesNotMatch((await alice.get('/hub/home')).text, /\/hub\/admin/);
});

test('a registration waits on the registrations page until an admin approves it', async () => {
  const newbie = await register('newbie');
  assert.equal((await login(newbie, 'newbie')).status, 403);
  const waiting = await root.get('/hub/admin/registrations');
  assert.ok(rowOf(waiting.text, 'user', 'newbie'), waiting.text);
  assert.equal(rowOf(waiting.text, 'user', 'alice'), undefined);

  // A non-admin's POST changes nothing.
  assert.equal((await submit(alice, '/hub/admin/users/newbie/approve')).status, 403);
  assert.equal((await login(newbie, 'newbie')).status, 403);

  const approved = await submit(root, '/hub/admin/users/newbie/approve', 'back=registrations');
  assert.equal(approved.status, 303);
  assert.equal(
    approved.headers.get('location'),
    '/hub/admin/registrations?done=approved&name=newbie',
  );
  assert.match((await root.get(approved.headers.get('location')!)).text, /newbie is approved/);
  assert.equal((await login(newbie, 'newbie')).status, 200);
  const { rows } = await db.query(
    `SELECT a.type, actor.name AS actor FROM activity a JOIN users u ON u.id = a.user_id
       JOIN users actor ON actor.id = a.actor_id WHERE u.name = 'newbie' AND a.type = 'user.update'`,
  );
  assert.deepEqual(rows, [{ type: 'user.update', actor: 'root1' }]);
});

test('users are searched by name; an admin is made, and the last admin cannot be unmade', async () => {
  const found = await root.get('/hub/admin/users?q=NEW');
  assert.ok(rowOf(found.text, 'user', 'newbie'));
  assert.equal(rowOf(found.text, 'user', 'alice'), undefined);
  assert.match(found.text, /1 user whose name contains/);

  const last = await submit(root, '/hub/admin/users/root1/unmake-admin');
  assert.equal(last.status, 409);
  assert.match(last.text, /last admin/);

  assert.equal((await submit(root, '/hub/admin/users/alice/make-admin')).status, 303);
  const users = await root.get('/hub/admin/users');
  assert.match(rowOf(users.text, 'user', 'alice') ?? '', /<td class="role">admin<\/td>/);
  assert.equal((await alice.get('/hub/admin/users')).status, 200);
  assert.equal((await submit(root, '/hub/admin/users/alice/unmake-admin')).status, 303);
  assert.equal((await alice.get('/hub/admin/users')).status, 403);
});

test('a disabled user is signed out everywhere and cannot sign in; an admin cannot disable themself', async () => {
  const victim = await register('victim');
  await db.query(`UPDATE users SET approved = true WHERE name = 'victim'`);
  assert.equal((await login(victim, 'victim')).status, 200);
  assert.equal((await victim.get('/hub/api/user')).status, 200);

  assert.equal((await submit(root, '/hub/admin/users/victim/disable')).status, 303);
  // Its session is gone: the old cookie no longer signs it in (403 here, as JupyterHub's
  // /user answers a request that carries no valid credential).
  assert.equal((await victim.get('/hub/api/user')).status, 403);
  assert.equal((await victim.get('/hub/api/groups')).status, 401);
  const again = await login(new Client(hub.url), 'victim');
  assert.equal(again.status, 403);
  assert.match(again.json.message, /approval/);
  const users = await root.get('/hub/admin/users');
  assert.match(rowOf(users.text, 'user', 'victim') ?? '', /not approved/);

  const self = await submit(root, '/hub/admin/users/root1/disable');
  assert.equal(self.status, 409);
  assert.equal((await root.get('/hub/api/user')).status, 200);
  // The API refuses the same, by the same rule.
  const api = await root.patch('/hub/api/users/root1', { approved: false });
  assert.equal(api.status, 409);
});

test('deleting asks first, listing what each feature removes; then everything goes', async () => {
  const doomed = await signUpApproved('doomed');
  assert.equal((await doomed.post('/hub/api/volumes/Storage', { name: 'results' })).status, 201);
  assert.equal((await doomed.get('/hub/api/users/doomed/mydb')).status, 200);

  const confirm = await root.get('/hub/admin/users/doomed/delete');
  assert.equal(confirm.status, 200);
  const listed = [...confirm.text.matchAll(/<li data-feature="([a-z-]+)">([^<]*)<\/li>/g)].map(
    ([, feature, item]) => `${feature}: ${item}`,
  );
  assert.ok(
    listed.some((item) => /^files: \d+ volumes: .*Storage\/doomed\/results/.test(item)),
    listed.join('\n'),
  );
  assert.ok(
    listed.some((item) => /^mydb: the MyDB schema \S+ with all its tables/.test(item)),
    listed.join('\n'),
  );
  assert.ok(
    listed.some((item) => /^compute: the workspace \S+-doomed-work/.test(item)),
    listed.join('\n'),
  );
  assert.equal((await alice.get('/hub/admin/users/doomed/delete')).status, 403);
  assert.equal((await submit(alice, '/hub/admin/users/doomed/delete')).status, 403);

  const deleted = await submit(root, '/hub/admin/users/doomed/delete');
  assert.equal(deleted.status, 303);
  assert.equal(deleted.headers.get('location'), '/hub/admin/users?done=deleted&name=doomed');
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM users WHERE name = 'doomed'`);
  assert.equal(rows[0].n, 0);
  const volumes = await db.query(
    `SELECT count(*)::int AS n FROM file_volumes WHERE name = 'results'`,
  );
  assert.equal(volumes.rows[0].n, 0);
  assert.equal((await root.get('/hub/admin/users/doomed/delete')).status, 404);
  // One's own account is not deleted here.
  assert.match((await root.get('/hub/admin/users/root1/delete')).text, /your own account/);
  assert.equal((await submit(root, '/hub/admin/users/root1/delete')).status, 409);
});

test('anyone’s activity: by user and type, and a wrong name or type said so', async () => {
  const page = await root.get('/hub/admin/activity?user=newbie');
  assert.match(page.text, /Activity of <span id="whose">newbie<\/span>/);
  assert.ok(rowOf(page.text, 'type', 'user.register'));
  assert.ok(rowOf(page.text, 'type', 'user.login'));
  const typed = await root.get('/hub/admin/activity?user=newbie&type=user.register');
  assert.ok(rowOf(typed.text, 'type', 'user.register'));
  assert.equal(rowOf(typed.text, 'type', 'user.login'), undefined);
  assert.match((await root.get('/hub/admin/activity?user=nobody')).text, /No user named/);
  assert.match((await root.get('/hub/admin/activity?type=bad%20type')).text, /A type is like/);
  // Markup in an event stays text.
  await db.query(
    `INSERT INTO activity (type, payload) VALUES ('test.markup', '{"x": "<b>bold</b>"}')`,
  );
  const all = await root.get('/hub/admin/activity?type=test.markup');
  assert.match(all.text, /&lt;b&gt;bold&lt;\/b&gt;/);
});

test('images and compute domains show who may use them (holders of use in RACM)', async () => {
  const page = await root.get('/hub/admin/compute');
  const image = hub.hub.config.compute.images[0]!;
  assert.match(rowOf(page.text, 'image', image) ?? '', /<span class="who">group Public<\/span>/);
  assert.match(rowOf(page.text, 'domain', 'local') ?? '', /<span class="who">group Public<\/span>/);
});

async function signUpApproved(name: string): Promise<Client> {
  const client = await register(name);
  await db.query('UPDATE users SET approved = true WHERE name = $1', [name]);
  assert.equal((await login(client, name)).status, 200);
  return client;
}
