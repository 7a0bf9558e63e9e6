/**
 * The attack of a newly registered user's notebook on a hub whose servers are local processes,
 * performed step by step from inside a real kernel: read the hub's secrets from the
 * environment, its key file and admin login, another user's workspace and server token, and
 * make itself admin over the hub's database (TCP and unix socket). The hub runs as root here
 * (as in CI), so servers run as their own system users; every step must fail, for the reason
 * the isolation gives. The single-user mode's refusal of other accounts is checked at the end.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { LocalProcessBackend } from '@orrery/spawner';
import pg from 'pg';
import type WebSocket from 'ws';
import { databaseEndpoints } from '../../src/compute/setup.ts';
import { type Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { openSocket, waitForStatus } from './support.ts';

const HUB_ONLY = {
  DATABASE_URL: '',
  ORRERY_SECRET_KEY: 'hub-secret-key-that-no-server-may-see',
  ORRERY_TEST_CANARY: 'any variable of the hub',
};
const saved = Object.fromEntries(Object.keys(HUB_ONLY).map((key) => [key, process.env[key]]));

let hub: TestHub;
let alice: Client;
let bob: Client;
let db: pg.Pool;

before(async () => {
  assert.equal(process.getuid?.(), 0, 'this test needs root, as CI has');
  // Without a configured key the hub writes its key file, which the attack goes for.
  hub = await startTestHub('local_isolation', { secretKey: undefined });
  // The hub's own environment holds what the original attack read (DATABASE_URL, the key).
  Object.assign(process.env, { ...HUB_ONLY, DATABASE_URL: hub.databaseUrl });
  // scripts/up.sh keeps the first admin's login here, mode 600.
  await writeFile(adminLoginFile(), 'admin login: hubadmin / not-for-servers\n', { mode: 0o600 });
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  for (const client of [alice, bob]) {
    const name = client === alice ? 'alice' : 'bob';
    assert.equal((await client.post(`/hub/api/users/${name}/servers/lab`, {})).status, 202);
  }
  await waitForStatus(alice, 'alice', 'lab', 'running');
  await waitForStatus(bob, 'bob', 'lab', 'running');
});

after(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await db?.end();
  await hub?.stop();
});

const stateDir = () => hub.hub.config.stateDir;
const adminLoginFile = () => path.join(stateDir(), 'admin-login');

/** Run `code` in a new kernel of alice's server; resolves to what it printed. */
async function runInAliceKernel(code: string, timeoutMs = 60_000): Promise<string> {
  const kernel = await alice.post('/user/alice/lab/api/kernels', { name: 'python3' });
  assert.equal(kernel.status, 201, kernel.text);
  const url = `${hub.url.replace('http', 'ws')}/user/alice/lab/api/kernels/${kernel.json.id}/channels`;
  const socket = await openSocket(url, alice.authHeaders());
  try {
    return await execute(socket, code, timeoutMs);
  } finally {
    socket.close();
    await alice.delete(`/user/alice/lab/api/kernels/${kernel.json.id}`);
  }
}

function execute(socket: WebSocket, code: string, timeoutMs: number): Promise<string> {
  const msgId = `attack-${Date.now()}`;
  let printed = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no execute_reply within ${timeoutMs} ms; printed: ${printed}`)),
      timeoutMs,
    );
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.parent_header?.msg_id !== msgId) return;
      if (message.msg_type === 'stream') printed += message.content.text;
      if (message.msg_type === 'error')
        printed += `${message.content.ename}: ${message.content.evalue}`;
      if (message.msg_type === 'execute_reply') {
        clearTimeout(timer);
        resolve(printed);
      }
    });
    socket.send(
      JSON.stringify({
        header: {
          msg_id: msgId,
          msg_type: 'execute_request',
          username: '',
          session: 'attack',
          version: '5.3',
          date: new Date().toISOString(),
        },
        parent_header: {},
        metadata: {},
        content: { code, silent: false, store_history: false, allow_stdin: false },
        channel: 'shell',
        buffers: [],
      }),
    );
  });
}

/**
 * Each step of the attack in Python; a step that succeeds reports its loot, one that fails
 * its errno. The database steps speak PostgreSQL's wire protocol (trust auth needs no more).
 */
const ATTACK = String.raw`
import errno, json, os, socket, struct
P = json.loads(PARAMS)
out = {'uid': os.getuid(), 'env': {k: os.environ.get(k) for k in P['hubVariables']}}
def attempt(name, fn):
    try:
        out[name] = {'ok': True, 'value': fn()}
    except OSError as e:
        out[name] = {'ok': False, 'errno': errno.errorcode.get(e.errno, str(e.errno))}
    except Exception as e:
        out[name] = {'ok': False, 'error': repr(e)}
def exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('closed by the server')
        buf += chunk
    return buf
def until_ready(s):
    tags = []
    while True:
        kind = exact(s, 1)
        payload = exact(s, struct.unpack('!i', exact(s, 4))[0] - 4)
        if kind == b'E':
            raise RuntimeError(payload.decode('utf8', 'replace'))
        if kind == b'C':
            tags.append(payload.rstrip(b'\0').decode())
        if kind == b'Z':
            return tags
def make_admin(s):
    s.settimeout(10)
    body = struct.pack('!i', 196608) + b'user\0postgres\0database\0' + P['database'].encode() + b'\0\0'
    s.sendall(struct.pack('!i', len(body) + 4) + body)
    until_ready(s)
    sql = b"UPDATE users SET admin = true WHERE name = 'alice'"
    s.sendall(b'Q' + struct.pack('!i', len(sql) + 5) + sql + b'\0')
    return until_ready(s)
def unix_socket():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(P['dbSocket'])
    return s
attempt('keyFile', lambda: open(P['keyFile']).read())
attempt('adminLogin', lambda: open(P['adminLogin']).read())
attempt('stateDirListing', lambda: os.listdir(P['stateDir']))
attempt('otherWorkspace', lambda: open(P['otherFile']).read())
attempt('otherEnviron', lambda: open('/proc/%d/environ' % P['otherPid'], 'rb').read().decode('latin1'))
attempt('hubEnviron', lambda: open('/proc/%d/environ' % P['hubPid'], 'rb').read().decode('latin1'))
attempt('databaseTcp', lambda: make_admin(socket.create_connection((P['dbHost'], P['dbPort']), timeout=10)))
attempt('databaseSocket', lambda: make_admin(unix_socket()))
print(json.dumps(out))
`;

interface Step {
  ok: boolean;
  value?: unknown;
  errno?: string;
  error?: string;
}

test('a server cannot reach the hub’s secrets, another user’s data, or the hub’s database', async () => {
  // Each target exists and is reachable from the hub's side, so a failure below is isolation.
  const keyFile = path.join(stateDir(), 'secret-key');
  assert.ok(readFileSync(keyFile, 'utf8').length > 20, 'the hub wrote its key file');
  const bobFile = await bob.request('PUT', '/user/bob/lab/api/contents/private.txt', {
    type: 'file',
    format: 'text',
    content: 'bob only',
  });
  assert.equal(bobFile.status, 201, bobFile.text);
  const bobServer = await db.query(
    `SELECT s.state FROM servers s JOIN users u ON u.id = s.user_id WHERE u.name = 'bob'`,
  );
  const bobPid: number = bobServer.rows[0].state.pid;
  assert.match(
    readFileSync(`/proc/${bobPid}/environ`, 'utf8'),
    /ORRERY_API_TOKEN=/,
    'bob’s server holds his hub token',
  );
  const workspaceOfBob = path.join(stateDir(), 'workspaces', 'bob', 'work');
  assert.equal(readFileSync(path.join(workspaceOfBob, 'private.txt'), 'utf8'), 'bob only');
  const database = new URL(hub.databaseUrl);
  const dbSocket = `/var/run/postgresql/.s.PGSQL.${database.port || 5432}`;
  assert.ok(existsSync(dbSocket), `PostgreSQL listens on ${dbSocket} on this machine`);
  await new Promise<void>((resolve, reject) => {
    const probe = net.connect(Number(database.port || 5432), database.hostname, () => {
      probe.end();
      resolve();
    });
    probe.once('error', reject);
  });

  const params = {
    hubVariables: ['DATABASE_URL', 'ORRERY_SECRET_KEY', 'ORRERY_TEST_CANARY'],
    keyFile,
    adminLogin: adminLoginFile(),
    stateDir: stateDir(),
    otherFile: path.join(workspaceOfBob, 'private.txt'),
    otherPid: bobPid,
    hubPid: process.pid,
    database: database.pathname.slice(1),
    dbHost: database.hostname,
    dbPort: Number(database.port || 5432),
    dbSocket,
  };
  const printed = await runInAliceKernel(
    `PARAMS = ${JSON.stringify(JSON.stringify(params))}\n${ATTACK}`,
  );
  const result = JSON.parse(printed.trim().split('\n').at(-1)!) as Record<string, Step> & {
    uid: number;
    env: Record<string, string | null>;
  };

  // 1. The hub's variables are not in the server's environment.
  assert.deepEqual(result.env, {
    DATABASE_URL: null,
    ORRERY_SECRET_KEY: null,
    ORRERY_TEST_CANARY: null,
  });
  // The server runs as its own unprivileged user, which owns its workspace alone.
  assert.notEqual(result.uid, 0);
  const workspaceOfAlice = statSync(path.join(stateDir(), 'workspaces', 'alice', 'work'));
  assert.equal(workspaceOfAlice.uid, result.uid);
  assert.equal(workspaceOfAlice.mode & 0o777, 0o700);
  assert.notEqual(statSync(workspaceOfBob).uid, result.uid, 'bob has a system user of his own');
  // 2-4. The key file, the admin login and the state folder's listing are the hub's alone.
  assert.deepEqual(result['keyFile'], { ok: false, errno: 'EACCES' });
  assert.deepEqual(result['adminLogin'], { ok: false, errno: 'EACCES' });
  assert.deepEqual(result['stateDirListing'], { ok: false, errno: 'EACCES' });
  // 5. Bob's workspace is closed to alice's user.
  assert.deepEqual(result['otherWorkspace'], { ok: false, errno: 'EACCES' });
  // 6. Bob's server process (and the token in its environment) is another user's.
  assert.deepEqual(result['otherEnviron'], { ok: false, errno: 'EACCES' });
  // ... and so is the hub's (its DATABASE_URL and key are in there).
  assert.deepEqual(result['hubEnviron'], { ok: false, errno: 'EACCES' });
  // 7. The database's port: the firewall rejects the server group ("prohibited", not refused).
  assert.deepEqual(result['databaseTcp'], { ok: false, errno: 'EHOSTUNREACH' });
  // 8. The database's unix socket: its folder is covered in the server's mount namespace.
  assert.deepEqual(result['databaseSocket'], { ok: false, errno: 'EACCES' });
  const admin = await db.query(`SELECT admin FROM users WHERE name = 'alice'`);
  assert.equal(admin.rows[0].admin, false, 'alice did not make herself admin');
});

test('a server still reaches the hub and its own kernels', async () => {
  // The firewall blocks the database only: the hub's API answers the server's own token.
  const printed = await runInAliceKernel(
    `
import json, os, urllib.request
req = urllib.request.Request(os.environ['ORRERY_HUB_URL'] + '/hub/api/user',
                             headers={'Authorization': 'token ' + os.environ['ORRERY_API_TOKEN']})
print(json.dumps({'name': json.load(urllib.request.urlopen(req, timeout=10))['name'],
                  'home': os.environ['HOME'], 'cwd': os.getcwd()}))
`,
  );
  const seen = JSON.parse(printed.trim().split('\n').at(-1)!);
  const workspace = path.join(stateDir(), 'workspaces', 'alice', 'work');
  assert.deepEqual(seen, { name: 'alice', home: workspace, cwd: workspace });
});

test('in single-user mode (hub not root) another account’s start is refused with 403, and nothing is recorded', async () => {
  const compute = hub.compute();
  const rootBackend = compute.backends.get('local')!;
  // The uid check injected: the backend a non-root hub builds, owned by alice.
  const singleUser = new LocalProcessBackend({
    workspaceRoot: path.join(stateDir(), 'single-user-workspaces'),
    stateDir: path.join(stateDir(), 'single-user-servers'),
    namePrefix: hub.hub.config.compute.namePrefix,
    systemUsers: false,
    singleUser: 'alice',
  });
  compute.backends.set('local', singleUser);
  try {
    const refused = await bob.post('/hub/api/users/bob/servers/second', {});
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error, 'forbidden');
    assert.equal(refused.json.rule, 'backend_refused');
    assert.match(refused.json.message, /single-user development mode/);
    assert.equal((await bob.get('/hub/api/users/bob')).json.servers.second, undefined);
    assert.equal(existsSync(path.join(stateDir(), 'single-user-workspaces', 'bob')), false);
  } finally {
    compute.backends.set('local', rootBackend);
  }
});

test('the database is blocked at its address, on loopback and at its possible unix sockets', async () => {
  const sockets = (port: number, ...first: string[]) =>
    [...first, '/run/postgresql', '/var/run/postgresql', '/tmp'].map(
      (folder) => `${folder}/.s.PGSQL.${port}`,
    );
  const ipv6 = readFileSync('/proc/sys/net/ipv6/conf/lo/disable_ipv6', 'utf8').trim() === '0';
  const loopback = (port: number) => [
    { address: '127.0.0.1', port },
    ...(ipv6 ? [{ address: '::1', port }] : []),
  ];
  assert.deepEqual(await databaseEndpoints('postgres://postgres@127.0.0.1:5432/orrery'), {
    tcp: loopback(5432),
    sockets: sockets(5432),
  });
  assert.deepEqual(await databaseEndpoints('postgres://u:p@10.1.2.3:6000/orrery'), {
    tcp: [{ address: '10.1.2.3', port: 6000 }, ...loopback(6000)],
    sockets: sockets(6000),
  });
  assert.deepEqual(await databaseEndpoints('postgres:///orrery?host=/srv/pg&port=5433'), {
    tcp: loopback(5433),
    sockets: sockets(5433, '/srv/pg'),
  });
});
