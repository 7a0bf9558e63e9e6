/**
 * The local backend's pure parts (launcher, firewall rules, system user names, environment)
 * compared with literals, and the single-user mode's refusal with the uid check injected.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalProcessBackend } from '../src/local/backend.ts';
import { localServerEnv } from '../src/local/environment.ts';
import { blockRules } from '../src/local/firewall.ts';
import { LAUNCH_SCRIPT, launchCommand } from '../src/local/launcher.ts';
import { claimOwner } from '../src/local/singleUser.ts';
import { systemUserName } from '../src/local/systemUsers.ts';
import { SpawnRefusedError } from '../src/refusal.ts';
import type { SpawnRequest } from '../src/types.ts';
import { SECRET } from './helpers.ts';

function request(user: string): SpawnRequest {
  return {
    user: { name: user, safeName: user },
    serverName: '',
    image: 'unused',
    env: { ORRERY_HUB_URL: 'http://127.0.0.1:8000', ORRERY_API_TOKEN: 'token-of-the-server' },
    workspaceVolume: `orrery-ws-${user}`,
    limits: { memoryBytes: 1 << 30, cpus: 1, pids: 256 },
    baseUrl: `/user/${user}/`,
    authSecret: SECRET,
  };
}

describe('launchCommand', () => {
  it('covers the database, drops to the server user, then runs jupyter', () => {
    const hidden = { directories: ['/run/postgresql'], files: ['/tmp/.s.PGSQL.5433'] };
    assert.deepEqual(launchCommand(hidden, { uid: 990, gid: 995 }, '/venv/bin/jupyter', ['lab']), {
      file: 'unshare',
      args: [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        LAUNCH_SCRIPT,
        'orrery-launch',
        'dir',
        '/run/postgresql',
        'file',
        '/tmp/.s.PGSQL.5433',
        '--',
        'setpriv',
        '--reuid=990',
        '--regid=995',
        '--clear-groups',
        '--no-new-privs',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--',
        '/venv/bin/jupyter',
        'lab',
      ],
    });
  });

  it('never launches as root and takes absolute paths only', () => {
    const none = { directories: [], files: [] };
    assert.throws(() => launchCommand(none, { uid: 0, gid: 995 }, 'jupyter', []), /root/);
    assert.throws(() => launchCommand(none, { uid: 990, gid: 0 }, 'jupyter', []), /root/);
    assert.throws(
      () => launchCommand({ directories: ['run'], files: [] }, { uid: 9, gid: 9 }, 'j', []),
      /absolute/,
    );
  });
});

describe('blockRules', () => {
  it('rejects the database for the server group, per address family', () => {
    const reject = (address: string, how: string) => [
      '-A',
      'ORRERY-x',
      '-d',
      address,
      '-p',
      'tcp',
      '--dport',
      '5432',
      '-j',
      'REJECT',
      '--reject-with',
      how,
    ];
    const jump = ['-I', 'OUTPUT', '1', '-m', 'owner', '--gid-owner', '995', '-j', 'ORRERY-x'];
    assert.deepEqual(
      blockRules('ORRERY-x', 995, [
        { address: '127.0.0.1', port: 5432 },
        { address: '::1', port: 5432 },
      ]),
      {
        ipv4: [
          ['-N', 'ORRERY-x'],
          ['-F', 'ORRERY-x'],
          reject('127.0.0.1', 'icmp-admin-prohibited'),
          jump,
        ],
        ipv6: [['-N', 'ORRERY-x'], ['-F', 'ORRERY-x'], reject('::1', 'icmp6-adm-prohibited'), jump],
      },
    );
    assert.deepEqual(blockRules('ORRERY-x', 995, []), { ipv4: [], ipv6: [] });
  });
});

describe('systemUserName', () => {
  it('gives look-alike accounts, and one account in two deployments, distinct valid names', () => {
    const names = ['a-b', 'A-B', 'a_b', '秀樹', 'has@', 'a-very-long-account-name-indeed'].map(
      (name) => systemUserName('orrery-', { name, safeName: name.toLowerCase() }),
    );
    names.push(systemUserName('orrery-other-', { name: 'a-b', safeName: 'a-b' }));
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^orrery-[a-z0-9_]{0,15}-[0-9a-f]{8}$/);
  });
});

describe('localServerEnv', () => {
  it('holds the server’s own variables and PATH, HOME, LANG, nothing of the hub’s', () => {
    process.env['ORRERY_SECRET_KEY'] ??= 'set in the hub only';
    assert.deepEqual(
      localServerEnv(request('lena'), '/ws/lena/work', 'orrery-lena-default-12345678', {
        path: '/venv/bin:/usr/bin:/bin',
        lang: 'C.UTF-8',
      }),
      {
        ORRERY_HUB_URL: 'http://127.0.0.1:8000',
        ORRERY_API_TOKEN: 'token-of-the-server',
        ORRERY_USER: 'lena',
        ORRERY_SERVER_NAME: '',
        ORRERY_BASE_URL: '/user/lena/',
        ORRERY_WORKSPACE: '/ws/lena/work',
        JUPYTER_TOKEN: SECRET,
        ORRERY_RESOURCE_NAME: 'orrery-lena-default-12345678',
        PATH: '/venv/bin:/usr/bin:/bin',
        HOME: '/ws/lena/work',
        LANG: 'C.UTF-8',
      },
    );
  });
});

describe('single-user mode (the hub is not root)', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'orrery-test-single-'));
    dirs.push(dir);
    return dir;
  };
  const backend = (dir: string, singleUser: string | null = null) =>
    new LocalProcessBackend({
      workspaceRoot: path.join(dir, 'workspaces'),
      stateDir: path.join(dir, 'servers'),
      jupyterCommand: '/nonexistent/jupyter',
      systemUsers: false,
      singleUser,
    });
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('belongs to the first account to start a server, also after a restart', async () => {
    const dir = await tempDir();
    const first = backend(dir);
    assert.equal(first.mode, 'single-user');
    await first.admit({ name: 'lena', safeName: 'lena' });
    await assert.rejects(first.admit({ name: 'mo', safeName: 'mo' }), SpawnRefusedError);
    const restarted = backend(dir);
    await restarted.admit({ name: 'lena', safeName: 'lena' });
    await assert.rejects(
      restarted.admit({ name: 'mo', safeName: 'mo' }),
      /single-user development mode/,
    );
  });

  it('refuses another account’s start before creating anything', async () => {
    const dir = await tempDir();
    const owned = backend(dir, 'lena');
    await assert.rejects(owned.start(request('mo')), SpawnRefusedError);
    assert.equal(existsSync(path.join(dir, 'workspaces', 'mo')), false);
    assert.equal(existsSync(path.join(dir, 'servers', 'single-user.json')), false);
  });

  it('of two first starts at once, exactly one account wins', async () => {
    const dir = await tempDir();
    const claims = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => claimOwner(path.join(dir, 'servers'), null, name)),
    );
    assert.equal(new Set(claims).size, 1);
  });
});
