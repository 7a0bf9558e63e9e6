/**
 * X-Forwarded-For is believed only from the configured proxy. A container on the Docker host
 * (a private address, which a "trust every private range" rule would include) sends spoofed
 * X-Forwarded-For headers to slip past the per-address login limit; the hub counts its real address.
 * In CI (CI=true) a missing Docker daemon fails this test instead of skipping it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import pg from 'pg';
import { newXsrfToken } from '../../src/auth/xsrf.ts';
import { requestFrom } from '../fromAddress.ts';
import { signUp, startTestHub, type TestHub } from '../support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const container = `orrery-test-${randomBytes(3).toString('hex')}-spoof`;
let hub: TestHub;

// From the container: logs in as `name` once with the right password, then `wrong` times with
// wrong ones, each with a different spoofed X-Forwarded-For; prints the statuses as JSON.
const SPOOFER = `
import json, socket, struct, sys, urllib.request, urllib.error
port, name, password, wrong, xsrf = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
# The hub is on the host, which the container reaches at its default gateway.
with open('/proc/net/route') as routes:
    gateway = next(line.split()[2] for line in routes if line.split()[1] == '00000000')
base = 'http://%s:%s' % (socket.inet_ntoa(struct.pack('<L', int(gateway, 16))), port)
def login(pw, forwarded):
    req = urllib.request.Request(base + '/hub/api/login', method='POST',
        data=json.dumps({'username': name, 'password': pw}).encode(),
        headers={'content-type': 'application/json', 'cookie': '_xsrf=' + xsrf,
                 'x-xsrftoken': xsrf, 'x-forwarded-for': forwarded})
    try:
        return urllib.request.urlopen(req, timeout=30).status
    except urllib.error.HTTPError as err:
        return err.code
statuses = [login(password, '203.0.113.200')]
statuses += [login('wrong password', '203.0.113.%d' % i) for i in range(wrong)]
print(json.dumps(statuses))
`;

before(async () => {
  if (skip) return;
  hub = await startTestHub('proxy_trust', {
    // Reachable from the Docker bridge; the proxy in front of the hub is on this machine.
    bind: '0.0.0.0',
    trustProxy: ['loopback'],
    loginAttemptsPerAddress: 3,
  });
});
after(async () => {
  if (skip) return;
  await run('docker', ['rm', '-f', container]).catch(() => undefined);
  await hub?.stop();
});

test('a container spoofing X-Forwarded-For is counted at its own address; the configured proxy is believed', {
  skip,
  timeout: 120_000,
}, async () => {
  await signUp(hub.url, 'victim', 'victim password');
  const port = new URL(hub.url).port;
  const { stdout } = await run(
    'docker',
    [
      'run',
      '--rm',
      '--name',
      container,
      '--network',
      'bridge',
      'orrery/lab:latest',
      'python3',
      '-c',
      SPOOFER,
      port,
      'victim',
      'victim password',
      '5',
      // A token for "no session", which anyone can make: the XSRF check is not under test.
      newXsrfToken(''),
    ],
    { timeout: 90_000 },
  );
  const statuses = JSON.parse(stdout.trim().split('\n').at(-1)!);
  // Six attempts from one real address against a limit of three: the spoofed headers bought nothing.
  assert.deepEqual(statuses, [200, 403, 403, 429, 429, 429]);

  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const sessionAddresses = async () =>
    (
      await db.query(
        `SELECT s.address FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = 'victim' ORDER BY s.id`,
      )
    ).rows.map((row) => String(row.address));
  try {
    const [, fromContainer] = await sessionAddresses();
    assert.ok(fromContainer, 'the container’s login made a session');
    assert.notEqual(fromContainer, '203.0.113.200', 'the spoofed address was not believed');
    assert.match(fromContainer!, /^172\.|^10\.|^192\.168\./, 'its real, private address counts');

    // The configured proxy (on loopback) is believed: the client it names is the one counted.
    const viaProxy = await requestFrom(
      '127.0.0.1',
      hub.url,
      'POST',
      '/hub/api/login',
      { username: 'victim', password: 'victim password' },
      { 'x-forwarded-for': '198.51.100.9' },
    );
    assert.equal(viaProxy.status, 200);
    assert.equal((await sessionAddresses()).at(-1), '198.51.100.9');
  } finally {
    await db.end();
  }
});
