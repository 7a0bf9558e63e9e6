/** LocalProcessBackend with a real `jupyter lab` from the repository's .venv. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalProcessBackend } from '../src/local/backend.ts';
import { removeSystemUser, systemUserName } from '../src/local/systemUsers.ts';
import type { SpawnRequest } from '../src/types.ts';
import { httpStatus, SECRET, TEST_PREFIX, waitForHttp } from './helpers.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const venv = path.join(repoRoot, '.venv');
const jupyter = path.join(venv, 'bin', 'jupyter');

/** Create .venv with JupyterLab if missing (shared with the labextension, hence the lock). */
async function ensureVenv(): Promise<void> {
  if (existsSync(path.join(venv, 'bin', 'jupyter-lab'))) return;
  await run(
    'flock',
    [
      '/tmp/orrery-venv.lock',
      'sh',
      '-c',
      'test -x .venv/bin/python || python3 -m venv .venv; test -x .venv/bin/jupyter-lab || .venv/bin/pip install -q jupyterlab==4.6.6',
    ],
    { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
  );
}

function request(user: string): SpawnRequest {
  return {
    user: { name: user, safeName: user },
    serverName: '',
    image: 'unused',
    env: { TZ: 'UTC' },
    workspaceVolume: `${TEST_PREFIX}ws-${user}`,
    limits: { memoryBytes: 1 << 30, cpus: 1, pids: 256 },
    baseUrl: `/user/${user}/`,
    authSecret: SECRET,
  };
}

describe('LocalProcessBackend', () => {
  let dir: string;
  let backend: LocalProcessBackend;

  before(async () => {
    await ensureVenv();
    process.env['ORRERY_TEST_HUB_ONLY'] = 'a variable of the hub';
    dir = await mkdtemp(path.join(os.tmpdir(), TEST_PREFIX));
    // mkdtemp makes it 0700; server users (when root) must traverse it to their workspaces.
    await chmod(dir, 0o711);
    backend = new LocalProcessBackend({
      workspaceRoot: path.join(dir, 'workspaces'),
      stateDir: path.join(dir, 'state'),
      jupyterCommand: jupyter,
      namePrefix: TEST_PREFIX,
    });
  });

  after(async () => {
    for (const server of await backend.listManaged()) await backend.stop(server.state);
    assert.deepEqual(await backend.listManaged(), [], 'processes leaked');
    await rm(dir, { recursive: true, force: true });
    await removeSystemUser(systemUserName(TEST_PREFIX, { name: 'lena', safeName: 'lena' }));
    delete process.env['ORRERY_TEST_HUB_ONLY'];
  });

  it('starts jupyter on a free port behind the secret and stops it', async (t) => {
    const started = Date.now();
    const { url, state } = await backend.start(request('lena'));
    const readyMs = await waitForHttp(`${url}/user/lena/api/status`, SECRET, 60_000);
    t.diagnostic(
      `local server answered ${Date.now() - started} ms after start() (${readyMs} ms wait)`,
    );
    assert.equal(await httpStatus(`${url}/user/lena/api/status`), 403);
    assert.deepEqual(await backend.poll(state), { running: true });
    // The secret is not on the command line.
    const cmdline = await readFile(`/proc/${state.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(SECRET));
    // Nothing of this process's environment reaches the server but what it is given.
    const environ = (await readFile(`/proc/${state.pid}/environ`, 'utf8')).split('\0');
    assert.ok(!environ.some((line) => line.startsWith('ORRERY_TEST_HUB_ONLY=')));
    assert.ok(environ.includes(`HOME=${path.join(dir, 'workspaces', 'lena', 'work')}`));
    if (process.getuid?.() === 0) {
      // As root: the server runs as lena's own system user, owner of her 0700 workspace.
      const uid = Number(
        /^Uid:\t(\d+)/m.exec(await readFile(`/proc/${state.pid}/status`, 'utf8'))![1],
      );
      const workspace = await stat(path.join(dir, 'workspaces', 'lena', 'work'));
      assert.notEqual(uid, 0);
      assert.equal(workspace.uid, uid);
      assert.equal(workspace.mode & 0o777, 0o700);
      assert.equal((await stat(path.join(dir, 'state'))).mode & 0o777, 0o700);
    }

    // A new backend object (a restarted hub) finds the server through the state directory.
    const again = new LocalProcessBackend({
      workspaceRoot: path.join(dir, 'workspaces'),
      stateDir: path.join(dir, 'state'),
      jupyterCommand: jupyter,
      namePrefix: TEST_PREFIX,
    });
    assert.deepEqual(await again.listManaged(), [
      { owner: 'lena', serverName: '', state, running: true, url },
    ]);
    await writeFile(path.join(dir, 'workspaces', 'lena', 'work', 'kept.txt'), 'kept');
    await again.stop(state);
    assert.deepEqual(await backend.poll(state), { running: false, exitCode: null });
    assert.equal(await httpStatus(`${url}/user/lena/api/status`, SECRET), 0);
    await backend.stop(state); // idempotent
    assert.deepEqual(await backend.listManaged(), []);
    assert.equal(
      await readFile(path.join(dir, 'workspaces', 'lena', 'work', 'kept.txt'), 'utf8'),
      'kept',
    );
  });

  it('as root, refuses at start what a server user could not reach, saying what to fix', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('system users need root');
    // A clone under a private (0700) folder: neither its jupyter nor its workspaces reachable.
    const closed = await mkdtemp(path.join(os.tmpdir(), TEST_PREFIX));
    try {
      await copyFile('/bin/true', path.join(closed, 'jupyter'));
      await chmod(path.join(closed, 'jupyter'), 0o755);
      const prepare = (jupyterCommand: string, workspaceRoot: string) =>
        new LocalProcessBackend({
          workspaceRoot,
          stateDir: path.join(dir, 'state-probe'),
          jupyterCommand,
          namePrefix: TEST_PREFIX,
        }).prepare();
      await assert.rejects(
        prepare(path.join(closed, 'jupyter'), path.join(dir, 'workspaces')),
        /such a user cannot run .*jupyter: make the repository, its .venv .* reachable/,
      );
      await assert.rejects(
        prepare(jupyter, path.join(closed, 'workspaces')),
        /such a user cannot traverse .*workspaces: make/,
      );
      await chmod(closed, 0o711);
      await prepare(path.join(closed, 'jupyter'), path.join(closed, 'workspaces'));
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });

  it('removes a workspace and its system user, never while a server uses it', async () => {
    const ines = { name: 'ines', safeName: 'ines' };
    const { state } = await backend.start({ ...request('ines') });
    await assert.rejects(backend.removeWorkspace(ines), /still uses the workspace/);
    await backend.stop(state);
    await backend.removeWorkspace(ines);
    assert.equal(existsSync(path.join(dir, 'workspaces', 'ines')), false);
    if (process.getuid?.() === 0) {
      const passwd = await readFile('/etc/passwd', 'utf8');
      assert.ok(!passwd.includes(`${systemUserName(TEST_PREFIX, ines)}:`), 'system user removed');
    }
    await backend.removeWorkspace(ines); // idempotent
  });

  it('does not mistake a reused pid for the server', async () => {
    const state = {
      backend: 'local' as const,
      host: 'localhost' as const,
      name: `${TEST_PREFIX}x`,
      pid: process.pid,
      port: 1,
    };
    assert.deepEqual(await backend.poll(state), { running: false, exitCode: null });
    await backend.stop(state); // must not signal this process
  });

  it('loads saved state of this and older shapes', () => {
    const current = { backend: 'local', host: 'localhost', name: 'orrery-a', pid: 42, port: 8000 };
    assert.deepEqual(backend.loadState(current), current);
    assert.deepEqual(backend.loadState({ pid: 42, port: 8000, name: 'orrery-a' }), current);
    assert.throws(() => backend.loadState({ pid: 42 }), TypeError);
    assert.throws(
      () => backend.loadState({ backend: 'docker', pid: 42, port: 1, name: 'a' }),
      TypeError,
    );
  });
});
