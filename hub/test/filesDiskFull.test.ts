/**
 * A full disk, for real: the Storage root is a 2 MiB tmpfs mounted for this test (the test
 * runs as root, as the hub does to own volume files as the container user). A write that does
 * not fit answers 507 and loses nothing already stored; no staging bytes are left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let alice: Client;
let mountPoint: string;
const API = '/hub/api';
const V = 'Storage/alice/persistent';

async function put(url: string, data: Uint8Array) {
  const res = await fetch(hub.url + url, {
    method: 'PUT',
    headers: {
      ...alice.authHeaders(),
      'x-xsrftoken': alice.xsrf!,
      'content-type': 'application/octet-stream',
    },
    body: data as BodyInit,
  });
  return { status: res.status, json: await res.json() };
}

before(async () => {
  mountPoint = await fsp.mkdtemp(path.join(tmpdir(), 'orrery-files-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
  hub = await startTestHub('files_full', {
    files: {
      rootVolumes: [{ name: 'Storage', path: path.join(mountPoint, 'storage'), backed_up: true }],
      quarantineDays: 7,
      sweepSeconds: 3600,
      maxVolumesPerUser: 100,
    },
  });
  alice = await signUp(hub.url, 'alice');
  await alice.get(`${API}/volumes`);
});

after(async () => {
  await hub?.stop();
  execFileSync('umount', [mountPoint]);
  await fsp.rmdir(mountPoint);
});

/** Alice's staging area (hers is the only owner folder in the root). */
async function staging() {
  const storage = path.join(mountPoint, 'storage');
  const owner = (await fsp.readdir(storage)).find((name) => /^\d+$/.test(name));
  return fsp.readdir(path.join(storage, owner!, '.orrery', 'uploads'));
}

test('a write past the free space answers 507 and keeps what was stored', async () => {
  const kept = Buffer.alloc(1024 * 1024, 7);
  assert.equal((await put(`${API}/files/${V}/content?path=kept.bin`, kept)).status, 201);
  const full = await put(`${API}/files/${V}/content?path=big.bin`, Buffer.alloc(1536 * 1024, 1));
  assert.equal(full.status, 507);
  assert.equal(full.json.error, 'insufficient_storage');
  const replace = await put(
    `${API}/files/${V}/content?path=kept.bin&overwrite=true`,
    Buffer.alloc(1536 * 1024, 2),
  );
  assert.equal(replace.status, 507);
  const res = await fetch(`${hub.url}${API}/files/${V}/content?path=kept.bin`, {
    headers: alice.authHeaders(),
  });
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(kept), 'the stored file is intact');
  const listed = await alice.get(`${API}/files/${V}/list`);
  assert.deepEqual(
    listed.json.entries.map((e: { name: string }) => e.name),
    ['kept.bin'],
  );
  assert.deepEqual(await staging(), []);
});

test('a resumable chunk past the free space answers 507; the offset stays true', async () => {
  const session = await alice.post(`${API}/files/${V}/uploads`, {
    path: 'resumed.bin',
    size: 1536 * 1024,
  });
  assert.equal(session.status, 201);
  const base = `${API}/files/${V}/uploads/${session.json.upload_id}`;
  assert.equal((await put(`${base}?offset=0`, Buffer.alloc(256 * 1024))).status, 200);
  const full = await put(`${base}?offset=${256 * 1024}`, Buffer.alloc(1280 * 1024));
  assert.equal(full.status, 507);
  assert.equal((await alice.get(base)).json.offset, 256 * 1024);
  assert.equal((await alice.delete(base)).status, 204);
  assert.deepEqual(await staging(), []);
});
