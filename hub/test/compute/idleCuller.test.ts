/**
 * JupyterHub's own idle culler (`jupyterhub-idle-culler` from PyPI, unchanged) against Orrery:
 * run as an external process with a token of the scopes it documents, it finds an idle default
 * server through `GET /users?state=ready` (paginated), stops it with `DELETE /users/{name}/server`, and the
 * user's files stay for the next start. Real JupyterLab, local-process backend.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { type Client, signUp, startTestHub, type TestHub, testConfig } from '../support.ts';
import { readProgress, waitFor } from './support.ts';

const PYTHON = path.resolve(import.meta.dirname, '../../../.venv/bin/python');
const IDLE_SECONDS = 8;

let hub: TestHub;
let alice: Client;
let ops: Client;
let db: pg.Pool;
let culler: ChildProcess | undefined;
let cullerLog = '';

before(async () => {
  // The hub's own culler is off: only the external one may stop the server.
  hub = await startTestHub('idleculler', {
    compute: { ...testConfig('').compute, idleCullSeconds: 0 },
  });
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  alice = await signUp(hub.url, 'alice');
  ops = await signUp(hub.url, 'ops');
  await db.query(`UPDATE users SET admin = true WHERE name = 'ops'`);
});

after(async () => {
  culler?.kill('SIGTERM');
  await db.end();
  await hub.stop();
});

async function startDefaultServer(): Promise<void> {
  const started = await alice.post('/hub/api/users/alice/server', {});
  assert.equal(started.status, 202, started.text);
  assert.equal(started.json.url, '/user/alice/');
  const events = await readProgress(hub.url, started.json.progress_url, alice.authHeaders());
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));
}

const defaultServer = async () => (await alice.get('/hub/api/users/alice')).json.servers[''];

test('jupyterhub-idle-culler stops an idle default server; the files stay', async () => {
  assert.ok(existsSync(PYTHON), 'the venv has Python (scripts/provision-lab.sh)');
  await startDefaultServer();
  const saved = await alice.request('PUT', '/user/alice/api/contents/notes.txt', {
    type: 'file',
    format: 'text',
    content: 'M31 tonight',
  });
  assert.equal(saved.status, 201, saved.text);

  // The scopes the culler's README asks for (it culls servers, not users).
  const minted = await ops.post('/hub/api/users/ops/tokens', {
    note: 'idle culler',
    scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'],
  });
  assert.equal(minted.status, 201, minted.text);

  culler = spawn(
    PYTHON,
    [
      '-m',
      'jupyterhub_idle_culler',
      `--url=${hub.url}/hub/api`,
      `--timeout=${IDLE_SECONDS}`,
      '--cull-every=2',
      '--api-page-size=1',
      '--IdleCuller.log_level=DEBUG',
    ],
    { env: { PATH: process.env.PATH, JUPYTERHUB_API_TOKEN: minted.json.token } },
  );
  const keep = (chunk: Buffer) => {
    cullerLog += chunk;
  };
  culler.stdout?.on('data', keep);
  culler.stderr?.on('data', keep);

  await waitFor('the culler to stop the idle server', 60_000, async () => {
    assert.equal(culler?.exitCode, null, `the culler exited: ${cullerLog}`);
    return (await defaultServer()) === undefined;
  }).catch((err) => {
    throw new Error(`${err.message}; the culler said: ${cullerLog}`);
  });
  assert.match(cullerLog, /Culling server alice/, cullerLog);
  // The hub's JupyterHub version lets the culler ask only for users with ready servers.
  assert.match(cullerLog, /Got \d+ users with ready servers/, cullerLog);
  const { rows } = await db.query(
    `SELECT a.type, a.payload FROM activity a JOIN users u ON u.id = a.user_id
     WHERE u.name = 'alice' AND a.type = 'server.stop'`,
  );
  assert.deepEqual(rows[0]?.payload, { server: '', reason: 'admin' });
  culler.kill('SIGTERM');

  await startDefaultServer();
  const notes = await alice.get('/user/alice/api/contents/notes.txt');
  assert.equal(notes.json.content, 'M31 tonight', 'the workspace outlived the server');
  assert.equal((await alice.delete('/hub/api/users/alice/server')).status, 204);
});
