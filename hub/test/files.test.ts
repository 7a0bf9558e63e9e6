/**
 * The files service against a real hub, real PostgreSQL and a real filesystem (the test
 * hub's state folder): volumes, sharing with users and groups, RACM refusals, every path
 * escape, quotas, interrupted uploads, the purge and deletion.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { filesModule } from '../src/files/module.ts';
import type { FilesService } from '../src/files/service.ts';
import {
  activityKeysNotSnakeCase,
  type Client,
  signUp,
  startTestHub,
  type TestHub,
} from './support.ts';

let hub: TestHub;
let db: pg.Pool;
let files: FilesService;
let alice: Client;
let bob: Client;
let carol: Client;
let admin: Client;
const changed: number[][] = [];
const ids: Record<string, number> = {};
/** The hub's area in a user's Storage folder: staging (`uploads`) or deleted volumes. */
const ownerArea = (user: string, area: 'uploads' | 'quarantine') =>
  path.join(files.volumes.root('Storage').path, String(ids[user]), '.orrery', area);

const API = '/hub/api';
const vol = (owner: string, volume = 'persistent', root = 'Storage') =>
  `${root}/${owner}/${volume}`;
const q = (p: string) => encodeURIComponent(p);

/** Send raw bytes as a browser page would (session cookie and XSRF header). */
async function put(
  client: Client,
  url: string,
  data: string | Uint8Array,
  headers: Record<string, string> = {},
) {
  if (!client.xsrf) await client.get(`${API}/`);
  const res = await fetch(hub.url + url, {
    method: 'PUT',
    headers: {
      ...client.authHeaders(),
      'x-xsrftoken': client.xsrf!,
      'content-type': 'application/octet-stream',
      ...headers,
    },
    body: data as BodyInit,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const upload = (
  client: Client,
  volume: string,
  p: string,
  data: string | Buffer,
  overwrite = false,
) =>
  put(
    client,
    `${API}/files/${volume}/content?path=${q(p)}${overwrite ? '&overwrite=true' : ''}`,
    data,
  );

async function download(
  client: Client,
  volume: string,
  p: string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${hub.url}${API}/files/${volume}/content?path=${q(p)}`, {
    headers: { ...client.authHeaders(), ...headers },
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

const list = (client: Client, volume: string, p = '') =>
  client.get(`${API}/files/${volume}/list?path=${q(p)}`);
const names = async (client: Client, volume: string, p = '') =>
  (await list(client, volume, p)).json.entries.map((e: { name: string }) => e.name);

async function hostPathOf(user: string, root = 'Storage', volume = 'persistent') {
  const view = await files.viewOf(ids[user]!);
  return view.find((v) => v.root === root && v.owner === user && v.volume === volume)!.host_path;
}

before(async () => {
  hub = await startTestHub('files', { apiRequestsPerMinute: 100_000 });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  files = hub.modules.serviceOf(filesModule);
  files.onViewChanged((userIds) => changed.push(userIds));
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  carol = await signUp(hub.url, 'carol');
  admin = await signUp(hub.url, 'root1');
  await db.query(`UPDATE users SET admin = true WHERE name = 'root1'`);
  for (const row of (await db.query('SELECT id, name FROM users')).rows)
    ids[row.name] = Number(row.id);
});

after(async () => {
  await db.end();
  await hub.stop();
});

describe('volumes', () => {
  test('default volumes are made on first use, with the root usage', async () => {
    const res = await alice.get(`${API}/volumes`);
    assert.equal(res.status, 200);
    const mine = res.json.volumes.map(
      (v: { root: string; volume: string }) => `${v.root}/${v.volume}`,
    );
    assert.deepEqual(mine.sort(), ['Storage/persistent', 'Temporary/scratch']);
    const storage = res.json.usage.find((u: { root: string }) => u.root === 'Storage');
    assert.equal(storage.quota_bytes, 10 * 1024 ** 3);
    const view = await files.viewOf(ids.alice!);
    assert.ok(view.every((v) => !v.read_only && path.isAbsolute(v.host_path)));
    const stat = await fsp.stat(await hostPathOf('alice'));
    assert.ok(stat.isDirectory());
  });

  test('create, describe, rename and refuse bad names', async () => {
    const made = await alice.post(`${API}/volumes/Storage`, {
      name: 'results',
      description: 'fits',
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.volume, 'results');
    assert.equal((await alice.post(`${API}/volumes/Storage`, { name: 'results' })).status, 409);
    for (const bad of ['.hidden', 'a/b', 'x'.repeat(65), 'sp ace', '..']) {
      const res = await alice.post(`${API}/volumes/Storage`, { name: bad });
      assert.equal(res.status, 400, bad);
    }
    assert.equal((await alice.post(`${API}/volumes/Nowhere`, { name: 'v' })).status, 404);
    await upload(alice, vol('alice', 'results'), 'a.txt', 'kept across a rename');
    const renamed = await alice.patch(`${API}/volumes/${vol('alice', 'results')}`, {
      name: 'results-2',
      description: 'd2',
    });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.json.description, 'd2');
    const got = await download(alice, vol('alice', 'results-2'), 'a.txt');
    assert.equal(got.body.toString(), 'kept across a rename');
    assert.equal((await list(alice, vol('alice', 'results'))).status, 404);
    // The default volumes stay what they are: the workspace lives in persistent.
    assert.equal(
      (await alice.patch(`${API}/volumes/${vol('alice')}`, { name: 'other' })).status,
      409,
    );
    assert.equal((await alice.delete(`${API}/volumes/${vol('alice')}`)).status, 409);
    assert.equal(
      (await alice.patch(`${API}/volumes/${vol('alice')}`, { description: 'mine' })).status,
      200,
    );
  });

  test('delete: the files go to quarantine, reachable by nobody; only the owner deletes', async () => {
    await alice.post(`${API}/volumes/Storage`, { name: 'doomed' });
    await upload(alice, vol('alice', 'doomed'), 'x.txt', 'bye');
    const host = await hostPathOf('alice', 'Storage', 'doomed');
    await alice.request('PUT', `${API}/volumes/${vol('alice', 'doomed')}/shares`, {
      user: 'bob',
      access: 'read_write',
    });
    assert.equal((await bob.delete(`${API}/volumes/${vol('alice', 'doomed')}`)).status, 403);
    changed.length = 0;
    assert.equal((await alice.delete(`${API}/volumes/${vol('alice', 'doomed')}`)).status, 204);
    assert.ok(changed.flat().includes(ids.bob!), 'bob’s view changed');
    await assert.rejects(fsp.stat(host));
    // A deleted volume waits in its owner's area, beside the volumes (same subvolume).
    const quarantine = ownerArea('alice', 'quarantine');
    const held = await fsp.readdir(quarantine);
    assert.ok(held.some((entry) => entry.includes('volume-')));
    assert.equal((await list(alice, vol('alice', 'doomed'))).status, 404);
    assert.equal((await list(bob, vol('alice', 'doomed'))).status, 404);
  });
});

describe('files', () => {
  test('upload, list, download with ranges, mkdir, move, rename, delete', async () => {
    const v = vol('alice');
    const up = await upload(alice, v, 'hello.txt', 'hello, world');
    assert.equal(up.status, 201, JSON.stringify(up.json));
    assert.equal(up.json.size, 12);
    assert.equal(up.json.usage.warning, false);
    assert.equal((await upload(alice, v, 'hello.txt', 'again')).status, 409);
    assert.equal((await upload(alice, v, 'hello.txt', 'again!', true)).status, 201);
    assert.equal((await upload(alice, v, 'hello.txt', 'hello, world', true)).status, 201);
    const entries = (await list(alice, v)).json.entries;
    const hello = entries.find((e: { name: string }) => e.name === 'hello.txt');
    assert.equal(hello.type, 'file');
    assert.equal(hello.size, 12);
    assert.ok(!Number.isNaN(Date.parse(hello.mtime)));
    const whole = await download(alice, v, 'hello.txt');
    assert.equal(whole.status, 200);
    assert.equal(whole.body.toString(), 'hello, world');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    const part = await download(alice, v, 'hello.txt', { range: 'bytes=7-' });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), 'world');
    assert.equal(part.headers.get('content-range'), 'bytes 7-11/12');
    assert.equal(
      (await download(alice, v, 'hello.txt', { range: 'bytes=-5' })).body.toString(),
      'world',
    );
    const bad = await download(alice, v, 'hello.txt', { range: 'bytes=50-60' });
    assert.equal(bad.status, 416);
    assert.equal((await download(alice, v, 'missing.txt')).status, 404);

    assert.equal((await alice.post(`${API}/files/${v}/folders`, { path: 'a/b/c' })).status, 404);
    const made = await alice.post(`${API}/files/${v}/folders`, { path: 'a/b/c', parents: true });
    assert.equal(made.status, 201, made.text);
    assert.equal((await alice.post(`${API}/files/${v}/folders`, { path: 'a' })).status, 409);
    assert.equal((await download(alice, v, 'a')).status, 400);
    const moved = await alice.post(`${API}/files/${v}/move`, {
      from: 'hello.txt',
      to: 'a/b/hi.txt',
    });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(await names(alice, v, 'a/b'), ['c', 'hi.txt']);
    assert.equal(
      (await alice.post(`${API}/files/${v}/move`, { from: 'a', to: 'a/b/c/a' })).status,
      400,
    );
    const renamed = await alice.post(`${API}/files/${v}/move`, { from: 'a/b', to: 'a/bee' });
    assert.equal(renamed.status, 200);
    assert.deepEqual(await names(alice, v, 'a'), ['bee']);
    // Across volumes (and roots) the caller may write.
    const across = await alice.post(`${API}/files/${v}/move`, {
      from: 'a/bee/hi.txt',
      to: 'hi.txt',
      to_root: 'Temporary',
      to_volume: 'scratch',
    });
    assert.equal(across.status, 200, across.text);
    assert.equal(
      (await download(alice, vol('alice', 'scratch', 'Temporary'), 'hi.txt')).body.toString(),
      'hello, world',
    );
    assert.equal((await alice.delete(`${API}/files/${v}/content?path=a`)).status, 204);
    assert.ok(!(await names(alice, v)).includes('a'));
    assert.equal((await alice.delete(`${API}/files/${v}/content?path=a`)).status, 404);
    assert.equal((await alice.delete(`${API}/files/${v}/content?path=`)).status, 400);
  });

  test('files are owned by the container user with group-usable modes', async () => {
    await upload(alice, vol('alice'), 'owned.txt', 'x');
    const stat = await fsp.stat(path.join(await hostPathOf('alice'), 'owned.txt'));
    if (process.getuid?.() === 0) {
      assert.equal(stat.uid, 1000);
      assert.equal(stat.gid, 100);
    }
    assert.equal(stat.mode & 0o777, 0o660);
  });
});

describe('sharing and RACM', () => {
  test('a volume not shared is 404 (existence not revealed), read-only is 403 on writes', async () => {
    await alice.post(`${API}/volumes/Storage`, { name: 'shared' });
    const v = vol('alice', 'shared');
    await upload(alice, v, 'data.csv', 'a,b\n1,2\n');
    const hidden = await list(bob, v);
    assert.equal(hidden.status, 404);
    assert.equal((await list(bob, vol('alice', 'no-such'))).status, 404);
    assert.equal((await bob.get(`${API}/volumes/${v}/shares`)).status, 404);
    changed.length = 0;
    const shared = await alice.request('PUT', `${API}/volumes/${v}/shares`, {
      user: 'bob',
      access: 'read',
    });
    assert.equal(shared.status, 200, shared.text);
    assert.deepEqual(changed, [[ids.bob]]);
    assert.deepEqual(await names(bob, v), ['data.csv']);
    assert.equal((await download(bob, v, 'data.csv')).body.toString(), 'a,b\n1,2\n');
    const refused = await upload(bob, v, 'mine.txt', 'x');
    assert.equal(refused.status, 403);
    assert.equal((await bob.delete(`${API}/files/${v}/content?path=data.csv`)).status, 403);
    assert.equal((await bob.get(`${API}/volumes/${v}/shares`)).status, 403);
    const bobView = await files.viewOf(ids.bob!);
    assert.equal(
      bobView.find((x) => x.owner === 'alice' && x.volume === 'shared')?.read_only,
      true,
    );

    await alice.request('PUT', `${API}/volumes/${v}/shares`, { user: 'bob', access: 'read_write' });
    assert.equal((await upload(bob, v, 'mine.txt', 'x')).status, 201);
    assert.equal(
      (await files.viewOf(ids.bob!)).find((x) => x.volume === 'shared')?.read_only,
      false,
    );
    // Bob's writes count against alice's quota: the volume is hers.
    const listed = await alice.get(`${API}/volumes/${v}/shares`);
    assert.deepEqual(listed.json.shares, [
      { user: 'bob', group: null, access: 'read_write', may_grant: false },
    ]);
    changed.length = 0;
    assert.equal((await alice.delete(`${API}/volumes/${v}/shares?user=bob`)).status, 204);
    assert.deepEqual(changed, [[ids.bob]]);
    assert.equal((await list(bob, v)).status, 404);
    assert.equal((await alice.delete(`${API}/volumes/${v}/shares?user=bob`)).status, 404);
    assert.equal((await alice.delete(`${API}/volumes/${v}/shares?user=alice`)).status, 409);
  });

  test('sharing with a group reaches its members; leaving the group takes it away', async () => {
    const group = await alice.post(`${API}/groups`, { name: 'Survey team' });
    const groupId = group.json.id;
    const invite = await alice.post(`${API}/groups/${groupId}/invitations`, {
      username: 'carol',
      role: 'MEMBER',
    });
    await carol.post(`${API}/invitations/${invite.json.id}/accept`);
    await alice.post(`${API}/volumes/Storage`, { name: 'team' });
    const v = vol('alice', 'team');
    await upload(alice, v, 'plan.txt', 'plan');
    assert.equal((await list(carol, v)).status, 404);
    changed.length = 0;
    const shared = await alice.request('PUT', `${API}/volumes/${v}/shares`, {
      group: groupId,
      access: 'read',
    });
    assert.equal(shared.status, 200, shared.text);
    assert.ok(changed.flat().includes(ids.carol!));
    assert.deepEqual(await names(carol, v), ['plan.txt']);
    // Bob is not in the group, and may not share with a group he cannot see.
    assert.equal((await list(bob, v)).status, 404);
    // The Public group: platform admins only.
    const publicId = (await db.query(`SELECT id FROM groups WHERE kind = 'public'`)).rows[0].id;
    assert.equal(
      (
        await alice.request('PUT', `${API}/volumes/${v}/shares`, {
          group: Number(publicId),
          access: 'read',
        })
      ).status,
      403,
    );
    changed.length = 0;
    assert.equal((await carol.delete(`${API}/groups/${groupId}/members/carol`)).status, 204);
    assert.deepEqual(changed, [[ids.carol]]);
    assert.equal((await list(carol, v)).status, 404);
    assert.ok(!(await files.viewOf(ids.carol!)).some((x) => x.volume === 'team'));
  });

  test('share links: redeem once per user, each use logged; revoked and expired links fail', async () => {
    await alice.post(`${API}/volumes/Storage`, { name: 'linked' });
    const v = vol('alice', 'linked');
    await upload(alice, v, 'r.txt', 'r');
    assert.equal(
      (await bob.post(`${API}/volumes/${v}/links`, { expires_in_hours: 1 })).status,
      404,
    );
    const made = await alice.post(`${API}/volumes/${v}/links`, { expires_in_hours: 2 });
    assert.equal(made.status, 201, made.text);
    const code = made.json.code;
    const links = await alice.get(`${API}/volumes/${v}/links`);
    assert.equal(links.json.links.length, 1);
    assert.ok(!JSON.stringify(links.json).includes(code));
    assert.equal(
      (await bob.post(`${API}/volume-links/redeem`, { code: 'orrv_wrong' })).status,
      404,
    );
    const redeemed = await bob.post(`${API}/volume-links/redeem`, { code });
    assert.equal(redeemed.status, 200, redeemed.text);
    assert.deepEqual(redeemed.json, {
      root: 'Storage',
      owner: 'alice',
      volume: 'linked',
      read_only: true,
    });
    assert.deepEqual(await names(bob, v), ['r.txt']);
    assert.equal((await upload(bob, v, 'w.txt', 'w')).status, 403);
    const uses = await db.query(
      `SELECT user_id FROM activity WHERE type = 'files.link_use' ORDER BY user_id`,
    );
    assert.deepEqual(uses.rows.map((r) => Number(r.user_id)).sort(), [ids.alice, ids.bob].sort());
    assert.equal((await alice.delete(`${API}/volumes/${v}/links/${made.json.id}`)).status, 204);
    assert.equal((await carol.post(`${API}/volume-links/redeem`, { code })).status, 404);
    const short = await alice.post(`${API}/volumes/${v}/links`, { expires_in_hours: 1 });
    await db.query(
      `UPDATE file_share_links SET expires_at = now() - interval '1 minute' WHERE id = $1`,
      [short.json.id],
    );
    assert.equal(
      (await carol.post(`${API}/volume-links/redeem`, { code: short.json.code })).status,
      404,
    );
  });

  test('data volumes: admins register a host folder, shared read-only (Public group)', async () => {
    const folder = path.join(
      path.dirname(files.volumes.root('Storage').path),
      '..',
      `dataset-${Date.now()}`,
    );
    const dataset = path.resolve(folder);
    await fsp.mkdir(dataset, { recursive: true });
    await fsp.writeFile(path.join(dataset, 'catalog.fits'), 'SIMPLE');
    assert.equal(
      (await alice.post(`${API}/data-volumes`, { name: 'sdss', host_path: dataset })).status,
      403,
    );
    assert.equal(
      (await admin.post(`${API}/data-volumes`, { name: 'sdss', host_path: '/no/such/folder' }))
        .status,
      400,
    );
    const inRoot = files.volumes.root('Storage').path;
    assert.equal(
      (await admin.post(`${API}/data-volumes`, { name: 'x', host_path: inRoot })).status,
      400,
    );
    const made = await admin.post(`${API}/data-volumes`, { name: 'sdss', host_path: dataset });
    assert.equal(made.status, 201, made.text);
    const v = 'Data/data/sdss';
    assert.equal((await list(bob, v)).status, 404);
    const publicId = Number(
      (await db.query(`SELECT id FROM groups WHERE kind = 'public'`)).rows[0].id,
    );
    assert.equal(
      (
        await admin.request('PUT', `${API}/volumes/${v}/shares`, {
          group: publicId,
          access: 'read_write',
        })
      ).status,
      400,
    );
    const shared = await admin.request('PUT', `${API}/volumes/${v}/shares`, {
      group: publicId,
      access: 'read',
    });
    assert.equal(shared.status, 200, shared.text);
    assert.deepEqual(await names(bob, v), ['catalog.fits']);
    assert.equal((await upload(bob, v, 'x', 'x')).status, 403);
    const view = (await files.viewOf(ids.bob!)).find((x) => x.root === 'Data');
    assert.deepEqual(view, {
      root: 'Data',
      owner: 'data',
      volume: 'sdss',
      host_path: dataset,
      read_only: true,
    });
    assert.equal((await admin.delete(`${API}/data-volumes/sdss`)).status, 204);
    assert.equal((await list(bob, v)).status, 404);
    assert.ok(await fsp.stat(path.join(dataset, 'catalog.fits')));
  });
});

describe('no path leaves its volume', () => {
  const v = () => vol('alice');

  test('dot-dot, absolute paths, empty segments and NUL are refused with 400', async () => {
    for (const bad of [
      '../bob',
      'a/../../x',
      '..',
      '/etc/passwd',
      '//x',
      'a//b',
      'a/./b',
      '.',
      'a\u0000b',
    ]) {
      const res = await list(alice, v(), bad);
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.status}`);
      assert.equal(res.json.error, 'bad_request');
      const up = await upload(alice, v(), bad, 'x');
      assert.equal(up.status, 400, `upload ${JSON.stringify(bad)}`);
    }
  });

  test('odd Unicode: non-NFC names, bidi controls, zero-width and control characters', async () => {
    const nfd = 'cafe\u0301.txt';
    for (const bad of [
      nfd,
      'evil\u202Etxt.exe',
      'a\u200Fb',
      'zero\u200Bwidth',
      'bell\u0007',
      'del\u007f',
      'line\nbreak',
      '\ufeffbom',
    ]) {
      const res = await upload(alice, v(), bad, 'x');
      assert.equal(res.status, 400, JSON.stringify(bad));
    }
    const ok = await upload(alice, v(), 'caf\u00e9 秀樹.txt', 'nfc is fine');
    assert.equal(ok.status, 201);
  });

  test('over-long names (>255 bytes) and paths (>4096 bytes) are refused', async () => {
    assert.equal((await upload(alice, v(), 'é'.repeat(128), 'x')).status, 400);
    assert.equal((await upload(alice, v(), 'a'.repeat(255), 'x')).status, 201);
    const longPath = Array.from({ length: 20 }, () => 'b'.repeat(250)).join('/');
    assert.equal((await list(alice, v(), longPath)).status, 400);
  });

  test('symlinks made inside the volume (as code in a container would) are never followed', async () => {
    const host = await hostPathOf('alice');
    const outside = path.join(path.dirname(files.volumes.root('Storage').path), 'outside-secret');
    await fsp.mkdir(outside, { recursive: true });
    await fsp.writeFile(path.join(outside, 'secret.txt'), 'secret');
    await fsp.symlink(outside, path.join(host, 'escape'));
    await fsp.symlink(path.join(outside, 'secret.txt'), path.join(host, 'secret-link'));
    await fsp.mkdir(path.join(host, 'real'), { recursive: true });
    await fsp.symlink('../..', path.join(host, 'real', 'up'));
    for (const p of ['escape', 'escape/secret.txt', 'real/up', 'real/up/secret.txt']) {
      const res = await list(alice, v(), p);
      assert.ok([400, 403].includes(res.status), `list ${p}: ${res.status}`);
    }
    for (const p of ['secret-link', 'escape/secret.txt', 'real/up/x']) {
      const res = await download(alice, v(), p);
      assert.ok([400, 403].includes(res.status), `download ${p}: ${res.status}`);
    }
    assert.equal((await upload(alice, v(), 'escape/new.txt', 'x')).status, 403);
    assert.equal((await upload(alice, v(), 'secret-link', 'overwritten', true)).status, 409);
    assert.equal(
      (await alice.post(`${API}/files/${v()}/folders`, { path: 'escape/sub' })).status,
      403,
    );
    assert.equal(
      (
        await alice.post(`${API}/files/${v()}/move`, {
          from: 'escape/secret.txt',
          to: 'stolen.txt',
        })
      ).status,
      403,
    );
    assert.equal(
      (await alice.post(`${API}/files/${v()}/move`, { from: 'owned.txt', to: 'escape/owned.txt' }))
        .status,
      403,
    );
    assert.equal(
      (await alice.delete(`${API}/files/${v()}/content?path=${q('escape/secret.txt')}`)).status,
      403,
    );
    // The link itself is listed as a link and may be deleted; its target is untouched.
    const entries = (await list(alice, v())).json.entries;
    assert.equal(entries.find((e: { name: string }) => e.name === 'escape').type, 'link');
    assert.equal((await alice.delete(`${API}/files/${v()}/content?path=escape`)).status, 204);
    assert.equal(await fsp.readFile(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
    // A folder swapped for a link between two requests (a container racing the hub) is refused too.
    await fsp.mkdir(path.join(host, 'swap'));
    assert.equal((await list(alice, v(), 'swap')).status, 200);
    await fsp.rmdir(path.join(host, 'swap'));
    await fsp.symlink(outside, path.join(host, 'swap'));
    assert.equal((await list(alice, v(), 'swap')).status, 403);
    assert.equal((await download(alice, v(), 'swap/secret.txt')).status, 403);
  });
});

describe('quotas', () => {
  test('warn at 90%, refuse a write that would cross the quota before it starts', async () => {
    const quota = await admin.request('PUT', `${API}/users/carol/files/quota`, {
      root: 'Storage',
      quota_bytes: 1000,
    });
    assert.equal(quota.status, 200, quota.text);
    assert.equal(
      (
        await carol.request('PUT', `${API}/users/carol/files/quota`, {
          root: 'Storage',
          quota_bytes: 10 ** 12,
        })
      ).status,
      403,
    );
    const v = vol('carol');
    const first = await upload(carol, v, 'a.bin', Buffer.alloc(850));
    assert.equal(first.status, 201);
    assert.equal(first.json.usage.warning, false);
    const second = await upload(carol, v, 'b.bin', Buffer.alloc(60));
    assert.equal(second.json.usage.warning, true);
    const usage = await carol.get(`${API}/users/carol/files/usage`);
    const storage = usage.json.roots.find((r: { root: string }) => r.root === 'Storage');
    assert.deepEqual(
      { used: storage.used_bytes, quota: storage.quota_bytes, warning: storage.warning },
      { used: 910, quota: 1000, warning: true },
    );
    assert.equal(storage.percent, 91);
    assert.equal((await bob.get(`${API}/users/carol/files/usage`)).status, 403);
    const refused = await upload(carol, v, 'c.bin', Buffer.alloc(200));
    assert.equal(refused.status, 413);
    assert.equal(refused.json.error, 'quota_exceeded');
    assert.ok(!(await names(carol, v)).includes('c.bin'));
    // Replacing a file counts only the difference, both ways.
    const used = async () =>
      (await carol.get(`${API}/users/carol/files/usage`)).json.roots[0].used_bytes;
    assert.equal((await upload(carol, v, 'a.bin', Buffer.alloc(100), true)).status, 201);
    assert.equal(await used(), 160);
    assert.equal((await upload(carol, v, 'a.bin', Buffer.alloc(900), true)).status, 201);
    assert.equal(await used(), 960);
    // A move that replaces a file frees the replaced file's bytes.
    await upload(carol, v, 'tmp.bin', Buffer.alloc(10));
    assert.equal(
      (
        await carol.post(`${API}/files/${v}/move`, {
          from: 'tmp.bin',
          to: 'b.bin',
          overwrite: true,
        })
      ).status,
      200,
    );
    assert.equal(await used(), 910);
    await upload(carol, v, 'b.bin', Buffer.alloc(60), true);
    assert.equal(await used(), 960);
    // A resumable upload that cannot fit is refused at its start.
    const start = await carol.post(`${API}/files/${v}/uploads`, { path: 'big.bin', size: 5000 });
    assert.equal(start.status, 413);
  });

  test('an upload without a length that crosses the quota mid-way is aborted, nothing left', async () => {
    const v = vol('carol');
    const before = (await carol.get(`${API}/users/carol/files/usage`)).json.roots[0].used_bytes;
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${hub.url}${API}/files/${v}/content?path=stream.bin`, {
      method: 'PUT',
      headers: {
        ...carol.authHeaders(),
        'x-xsrftoken': carol.xsrf!,
        'content-type': 'application/octet-stream',
      },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error, 'quota_exceeded');
    assert.ok(!(await names(carol, v)).includes('stream.bin'));
    const afterUsage = (await carol.get(`${API}/users/carol/files/usage`)).json.roots[0].used_bytes;
    assert.equal(afterUsage, before);
    const staging = await fsp.readdir(ownerArea('carol', 'uploads'));
    assert.deepEqual(
      staging.filter((f) => f.startsWith('put-')),
      [],
    );
  });

  test('the rescan counts what containers wrote', async () => {
    await fsp.writeFile(
      path.join(await hostPathOf('carol'), 'from-container.bin'),
      Buffer.alloc(40),
    );
    await files.sweeper.rescan();
    const usage = await carol.get(`${API}/users/carol/files/usage`);
    assert.equal(usage.json.roots[0].used_bytes, 900 + 60 + 40);
    assert.ok(usage.json.roots[0].scanned_at);
  });
});

describe('uploads', () => {
  test('resumable: chunks at the offset, nothing visible until complete', async () => {
    const v = vol('bob');
    await bob.get(`${API}/volumes`);
    const start = await bob.post(`${API}/files/${v}/uploads`, { path: 'big/part.bin', size: 10 });
    assert.equal(start.status, 404, 'the folder must exist');
    await bob.post(`${API}/files/${v}/folders`, { path: 'big' });
    const session = await bob.post(`${API}/files/${v}/uploads`, { path: 'big/part.bin', size: 10 });
    assert.equal(session.status, 201, session.text);
    const id = session.json.upload_id;
    const base = `${API}/files/${v}/uploads/${id}`;
    assert.equal((await put(bob, `${base}?offset=0`, 'hello')).json.offset, 5);
    assert.deepEqual(await names(bob, v, 'big'), []);
    assert.equal((await put(bob, `${base}?offset=2`, 'xx')).status, 409);
    assert.equal((await bob.get(base)).json.offset, 5);
    assert.equal((await bob.post(`${base}/complete`)).status, 409);
    assert.equal(
      (await put(bob, `${base}?offset=5`, 'world!')).status,
      400,
      'longer than declared',
    );
    assert.equal((await bob.get(base)).json.offset, 5);
    assert.equal((await alice.get(base.replace('/bob/', '/alice/'))).status, 404);
    assert.equal((await put(bob, `${base}?offset=5`, 'world')).json.offset, 10);
    const done = await bob.post(`${base}/complete`);
    assert.equal(done.status, 200, done.text);
    assert.equal((await download(bob, v, 'big/part.bin')).body.toString(), 'helloworld');
    assert.equal((await bob.get(base)).status, 404);
  });

  test('an interrupted plain upload leaves no file and no staging bytes', async () => {
    const v = vol('bob');
    await bob.get(`${API}/`);
    const url = new URL(`${hub.url}${API}/files/${v}/content?path=cut.bin`);
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, {
        method: 'PUT',
        headers: {
          ...bob.authHeaders(),
          'x-xsrftoken': bob.xsrf!,
          'content-type': 'application/octet-stream',
          'content-length': '1000000',
        },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(300_000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    // The hub cleans up when it sees the connection close, later on a loaded machine: wait for
    // the reservation to be given back (10 s at most), then check nothing else is left.
    const used = async () =>
      (await bob.get(`${API}/users/bob/files/usage`)).json.roots[0].used_bytes as number;
    for (let waited = 0; (await used()) !== 10 && waited < 10_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(await used(), 10, 'the interrupted upload’s reservation is given back');
    assert.ok(!(await names(bob, v)).includes('cut.bin'));
    const staging = await fsp.readdir(ownerArea('bob', 'uploads'));
    assert.deepEqual(
      staging.filter((f) => f.startsWith('put-')),
      [],
    );
  });

  test('an upload session untouched for a day is swept with its bytes and its reservation', async () => {
    const v = vol('bob');
    const usage = async () =>
      (await bob.get(`${API}/users/bob/files/usage`)).json.roots[0].used_bytes;
    const before = await usage();
    const session = await bob.post(`${API}/files/${v}/uploads`, { path: 'left.bin', size: 100 });
    await put(bob, `${API}/files/${v}/uploads/${session.json.upload_id}?offset=0`, 'abc');
    assert.equal(await usage(), before + 100);
    const staged = path.join(ownerArea('bob', 'uploads'), `session-${session.json.upload_id}`);
    assert.ok(await fsp.stat(staged));
    await db.query(
      `UPDATE file_uploads SET updated_at = now() - interval '25 hours' WHERE id = $1`,
      [session.json.upload_id],
    );
    const swept = await files.sweep();
    assert.equal(swept.uploadsExpired, 1);
    await assert.rejects(fsp.stat(staged));
    assert.equal(
      (await bob.get(`${API}/files/${v}/uploads/${session.json.upload_id}`)).status,
      404,
    );
  });

  test('a JSON body is not a file', async () => {
    const res = await bob.request('PUT', `${API}/files/${vol('bob')}/content?path=j.json`, {
      a: 1,
    });
    assert.equal(res.status, 415);
  });
});

describe('a folder on another filesystem inside a volume', () => {
  // A real one: a tmpfs mounted on a folder of mona's volume (as a mount, or a btrfs subvolume
  // made by code in a container, would be). Writes into it are refused: renames from the
  // staging area fail with EXDEV there, and the owner's quota could not count its bytes.
  test('uploads and moves into it answer 409 cross_device; nothing is written or left behind', async () => {
    const mona = await signUp(hub.url, 'mona');
    ids.mona = Number((await db.query(`SELECT id FROM users WHERE name = 'mona'`)).rows[0].id);
    const v = vol('mona');
    await mona.get(`${API}/volumes`);
    assert.equal((await upload(mona, v, 'kept.txt', 'twelve bytes')).status, 201);
    assert.equal((await mona.post(`${API}/files/${v}/folders`, { path: 'mounted' })).status, 201);
    const mountPoint = path.join(await hostPathOf('mona'), 'mounted');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    try {
      const usedBefore = (await mona.get(`${API}/users/mona/files/usage`)).json.roots[0];

      const whole = await upload(mona, v, 'mounted/new.txt', 'some bytes');
      assert.equal(whole.status, 409, JSON.stringify(whole.json));
      assert.equal(whole.json.rule, 'cross_device');

      const session = await mona.post(`${API}/files/${v}/uploads`, {
        path: 'mounted/part.bin',
        size: 4,
      });
      const base = `${API}/files/${v}/uploads/${session.json.upload_id}`;
      assert.equal((await put(mona, `${base}?offset=0`, 'abcd')).json.offset, 4);
      const complete = await mona.post(`${base}/complete`);
      assert.equal(complete.status, 409, complete.text);
      assert.equal(complete.json.rule, 'cross_device');
      assert.equal((await mona.get(base)).json.offset, 4, 'the session stays, to cancel');
      assert.equal((await mona.delete(base)).status, 204);

      const moved = await mona.post(`${API}/files/${v}/move`, {
        from: 'kept.txt',
        to: 'mounted/kept.txt',
      });
      assert.equal(moved.status, 409, moved.text);
      assert.equal(moved.json.rule, 'cross_device');

      assert.deepEqual(await fsp.readdir(mountPoint), [], 'nothing written there');
      assert.deepEqual(await names(mona, v), ['kept.txt', 'mounted']);
      assert.equal((await download(mona, v, 'kept.txt')).body.toString(), 'twelve bytes');
      assert.deepEqual(await fsp.readdir(ownerArea('mona', 'uploads')), [], 'no staging left');
      const usedAfter = (await mona.get(`${API}/users/mona/files/usage`)).json.roots[0];
      assert.equal(usedAfter.used_bytes, usedBefore.used_bytes);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });
});

describe('purge and deletion', () => {
  test('the sweeper purges Temporary files older than purge_after_days, keeps newer ones', async () => {
    const v = vol('bob', 'scratch', 'Temporary');
    await upload(bob, v, 'old.txt', 'old');
    await bob.post(`${API}/files/${v}/folders`, { path: 'dir' });
    await upload(bob, v, 'dir/new.txt', 'new');
    const host = await hostPathOf('bob', 'Temporary', 'scratch');
    const longAgo = new Date(Date.now() - 31 * 86_400_000);
    await fsp.utimes(path.join(host, 'old.txt'), longAgo, longAgo);
    await upload(bob, vol('bob'), 'storage-old.txt', 'kept');
    await fsp.utimes(path.join(await hostPathOf('bob'), 'storage-old.txt'), longAgo, longAgo);
    const purged = await files.sweeper.purge();
    assert.ok(purged >= 1);
    assert.deepEqual(await names(bob, v), ['dir']);
    assert.deepEqual(await names(bob, v, 'dir'), ['new.txt']);
    assert.ok(
      (await names(bob, vol('bob'))).includes('storage-old.txt'),
      'Storage is never purged',
    );
  });

  test('deleting an account quarantines all its volumes; nothing stays reachable', async () => {
    const dave = await signUp(hub.url, 'dave');
    await upload(dave, vol('dave'), 'd.txt', 'dave’s');
    await dave.request('PUT', `${API}/volumes/${vol('dave')}/shares`, {
      user: 'bob',
      access: 'read',
    });
    assert.deepEqual(await names(bob, vol('dave')), ['d.txt']);
    const daveId = Number((await db.query(`SELECT id FROM users WHERE name = 'dave'`)).rows[0].id);
    const owner = path.join(files.volumes.root('Storage').path, String(daveId));
    assert.equal((await admin.delete(`${API}/users/dave`)).status, 204);
    await assert.rejects(fsp.stat(owner));
    assert.equal((await list(bob, vol('dave'))).status, 404);
    const pending = await db.query('SELECT count(*)::int AS n FROM account_removals');
    assert.equal(pending.rows[0].n, 0);
    const held = await fsp.readdir(
      path.join(files.volumes.root('Storage').path, '.orrery', 'quarantine'),
    );
    assert.ok(held.some((e) => e.includes(`user-${daveId}`)));
    // Quarantine is deleted after its days.
    const sweeper = files.sweeper as unknown as { clock: () => Date };
    const realClock = sweeper.clock;
    sweeper.clock = () => new Date(Date.now() + 8 * 86_400_000);
    try {
      await files.sweeper.sweep();
    } finally {
      sweeper.clock = realClock;
    }
    const left = await fsp.readdir(
      path.join(files.volumes.root('Storage').path, '.orrery', 'quarantine'),
    );
    assert.deepEqual(left, []);
  });
});

test('first uses at once (a server start and the view it changes) all get the default volumes', async () => {
  await signUp(hub.url, 'dora');
  const { rows } = await db.query(`SELECT id FROM users WHERE name = 'dora'`);
  const views = await Promise.all([1, 2, 3, 4].map(() => files.viewOf(Number(rows[0].id))));
  for (const view of views)
    assert.deepEqual(view.map((v) => `${v.root}/${v.volume}`).sort(), [
      'Storage/persistent',
      'Temporary/scratch',
    ]);
});

test('every activity payload key written here is snake_case', async () => {
  assert.deepEqual(await activityKeysNotSnakeCase(hub.databaseUrl), []);
});
