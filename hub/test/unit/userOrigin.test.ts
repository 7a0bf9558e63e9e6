/** Users' own origins: which host is whose, and what each host serves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideByHost, parseUserOrigin } from '../../src/auth/userOrigin.ts';

const origin = parseUserOrigin('http://{user}.localhost:8000', 'http://127.0.0.1:8000');

test('a pattern gives each user a host and reads the user back from it', () => {
  assert.equal(origin.hubOrigin, 'http://127.0.0.1:8000');
  assert.equal(origin.originFor('alice'), 'http://alice.localhost:8000');
  assert.equal(origin.userOfHost('alice.localhost:8000'), 'alice');
  assert.equal(origin.userOfHost('A-B.localhost:8000'), 'a-b');
  for (const host of [
    undefined,
    '127.0.0.1:8000',
    'alice.localhost',
    'alice.localhost:8001',
    'x.alice.localhost:8000',
    '.localhost:8000',
    'localhost:8000',
    'alice.localhost:8000.evil.example',
  ])
    assert.equal(origin.userOfHost(host), undefined, String(host));
  const https = parseUserOrigin('https://{user}.users.example.org', 'https://hub.example.org');
  assert.equal(https.originFor('bob'), 'https://bob.users.example.org');
  assert.equal(https.userOfHost('bob.users.example.org'), 'bob');
});

test('patterns that cannot keep users apart are refused with a reason', () => {
  const cases: [string, string, RegExp][] = [
    ['http://users.example.org', 'http://hub.example.org', /must contain \{user\}/],
    ['http://users.{user}.example.org', 'http://hub.example.org', /leftmost label/],
    ['http://{user}x.example.org', 'http://hub.example.org', /leftmost label/],
    ['http://{user}.example.org/lab', 'http://hub.example.org', /origin only/],
    ['ftp://{user}.example.org', 'http://hub.example.org', /http or https/],
    ['http://{user}.localhost:8000', 'http://hub.localhost:8000', /itself a user's host/],
  ];
  for (const [pattern, hub, reason] of cases)
    assert.throws(() => parseUserOrigin(pattern, hub), reason, pattern);
});

test("each host serves its user's servers only, and the hub's host sends servers away", () => {
  const decide = (host: string, url: string, method = 'GET', proxied = true) =>
    decideByHost(origin, host, method, url, proxied);
  const hub = '127.0.0.1:8000';
  const alice = 'alice.localhost:8000';
  assert.deepEqual(decide(hub, '/hub/api/user'), { kind: 'hub' });
  assert.deepEqual(decide(hub, '/hub/user-login?next=%2Fuser%2Falice%2Flab%2F'), { kind: 'hub' });
  assert.deepEqual(decide(hub, '/user/alice/lab/tree?x=1'), {
    kind: 'redirect',
    location: 'http://alice.localhost:8000/user/alice/lab/tree?x=1',
  });
  assert.equal(decide(hub, '/user/alice/lab/api/contents', 'POST').kind, 'refuse');
  assert.deepEqual(decide(alice, '/user/alice/lab/api/status'), { kind: 'proxy' });
  assert.deepEqual(decide(alice, '/hub/user-login/callback?code=x'), {
    kind: 'callback',
    owner: 'alice',
  });
  const refused: [string, number][] = [
    ['/user/bob/lab/api/status', 403],
    ['/hub/api/user', 404],
    ['/hub/home', 404],
    ['/hub/user-login?next=/user/alice/lab/', 404],
    ['/', 404],
    ['/user/alice/', 404],
  ];
  for (const [url, status] of refused) {
    const decision = decide(alice, url, 'GET', url.split('/').length > 4);
    assert.equal(decision.kind, 'refuse', url);
    assert.equal(decision.kind === 'refuse' && decision.status, status, url);
  }
});
