import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { requestFrom } from './fromAddress.ts';
import { Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let alice: Client;
before(async () => {
  hub = await startTestHub('security', { logLevel: 'debug' });
  alice = await signUp(hub.url, 'alice', 'alice password');
});
after(async () => {
  await hub.stop();
});

const countRows = async () => {
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const { rows } = await db.query(
    `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM groups) + (SELECT count(*) FROM group_invitations)
       + (SELECT count(*) FROM api_tokens) + (SELECT count(*) FROM racm_resources) AS n`,
  );
  await db.end();
  return Number(rows[0].n);
};

test('XSRF: a cookie-authenticated state change without the header, or with a wrong one, is refused', async () => {
  const cookies = `orrery-session=${(alice as unknown as { cookies: Map<string, string> }).cookies.get('orrery-session')}; _xsrf=${alice.xsrf}`;
  const before = await countRows();
  const attempts: Record<string, string>[] = [
    {},
    { 'x-xsrftoken': 'wrong-wrong-wrong-wrong' },
    { 'x-xsrftoken': '' },
  ];
  for (const headers of attempts) {
    const res = await fetch(`${hub.url}/hub/api/groups`, {
      method: 'POST',
      headers: { cookie: cookies, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ name: 'csrf' }),
    });
    assert.equal(res.status, 403);
    assert.match((await res.json()).message, /XSRF/);
  }
  // A forged form post: the attacker's page cannot read the _xsrf cookie, so it cannot echo it.
  const form = await fetch(`${hub.url}/hub/api/logout`, {
    method: 'POST',
    headers: { cookie: cookies },
  });
  assert.equal(form.status, 403);
  // A request that brings no _xsrf cookie at all cannot pass by sending a header of its own choosing.
  const fresh = await fetch(`${hub.url}/hub/api/groups`, {
    method: 'POST',
    headers: {
      cookie: cookies.replace(/; _xsrf=.*/, ''),
      'content-type': 'application/json',
      'x-xsrftoken': 'a'.repeat(43),
    },
    body: JSON.stringify({ name: 'csrf' }),
  });
  assert.equal(fresh.status, 403);
  assert.equal(await countRows(), before, 'nothing was written');
  assert.equal(
    (await alice.post('/hub/api/groups', { name: 'legit' })).status,
    201,
    'with the header it works',
  );
});

test('XSRF: a request with an API token is not checked and gets no _xsrf cookie; a browser’s first visit does', async () => {
  const made = await alice.post('/hub/api/users/alice/tokens', { note: 'script' });
  assert.equal(made.status, 201, made.text);
  const headers = { authorization: `token ${made.json.token}` };
  const read = await fetch(`${hub.url}/hub/api/user`, { headers });
  assert.equal(read.status, 200);
  assert.deepEqual(read.headers.getSetCookie(), []);
  const change = await fetch(`${hub.url}/hub/api/groups`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'by-script' }),
  });
  assert.equal(change.status, 201);
  assert.deepEqual(change.headers.getSetCookie(), []);
  const visit = await fetch(`${hub.url}/hub/api/`);
  assert.ok(
    visit.headers.getSetCookie().some((cookie) => cookie.startsWith('_xsrf=')),
    'without a token the cookie is set',
  );
});

test('the login form keeps next= on the hub', async () => {
  for (const [next, expected] of [
    ['//evil.example', '/hub/home'],
    ['/\\evil.example', '/hub/home'],
    ['https:evil.example', '/hub/home'],
    ['https://evil.example/x', '/hub/home'],
    // Normalising dot segments once made these `//evil.example`: a redirect off the site.
    ['/.//evil.example', '/hub/home'],
    ['/..//evil.example', '/hub/home'],
    ['/%2e//evil.example', '/hub/home'],
    ['/user/alice/lab', '/user/alice/lab'],
  ] as const) {
    const client = new Client(hub.url);
    await client.get('/hub/login');
    const body = new URLSearchParams({
      username: 'alice',
      password: 'alice password',
      _xsrf: client.xsrf!,
    }).toString();
    const res = await client.request('POST', `/hub/login?next=${encodeURIComponent(next)}`, body, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.get('location'), expected, `next=${next}`);
  }
});

test('the login page refuses a wrong password with a readable page, not a stack trace', async () => {
  const client = new Client(hub.url);
  const page = await client.get('/hub/login');
  assert.match(page.text, /Sign in to Orrery/);
  const body = new URLSearchParams({
    username: 'alice',
    password: 'nope nope',
    _xsrf: client.xsrf!,
  }).toString();
  const res = await client.request('POST', '/hub/login', body, {
    'content-type': 'application/x-www-form-urlencoded',
  });
  assert.equal(res.status, 403);
  assert.match(res.text, /Wrong username or password/);
});

test('bad input: 4xx with a clear JSON message, a short log line, nothing written', async () => {
  const own = (await alice.post('/hub/api/groups', { name: 'mine' })).json.id;
  const before = await countRows();
  const logStart = hub.logLines.length;
  const cases: [string, string, unknown, number, RegExp][] = [
    [
      'POST',
      '/hub/api/register',
      { username: 'x'.repeat(65536), email: 'a@example.org', password: 'password1' },
      413,
      /too large/,
    ],
    [
      'POST',
      '/hub/api/register',
      { username: 'x'.repeat(2000), email: 'a@example.org', password: 'password1' },
      400,
      /"username"/,
    ],
    [
      'POST',
      '/hub/api/register',
      { username: 42, email: 'a@example.org', password: 'password1' },
      400,
      /"username": must be string/,
    ],
    [
      'POST',
      '/hub/api/register',
      { username: 'newbie', email: 'not-an-email', password: 'password1' },
      400,
      /"email"/,
    ],
    [
      'POST',
      '/hub/api/register',
      { username: 'newbie', email: 'a@example.org', password: 'short' },
      400,
      /at least 8/,
    ],
    [
      'POST',
      '/hub/api/register',
      { username: 'newbie', email: 'a@example.org', password: 'password1', admin: true },
      400,
      /Unknown body field "admin"/,
    ],
    ['POST', '/hub/api/register', '{"username": "newbie",', 400, /not valid JSON/],
    ['POST', '/hub/api/register', [1, 2, 3], 400, /body/],
    ['POST', '/hub/api/groups', { name: { nested: true } }, 400, /"name": must be string/],
    ['POST', '/hub/api/groups', { name: '' }, 400, /"name"/],
    ['POST', '/hub/api/groups', { name: 'x'.repeat(70000) }, 413, /too large/],
    ['GET', '/hub/api/groups/not-a-number', undefined, 400, /path parameter "id"/],
    ['GET', '/hub/api/groups/99999999999999999999', undefined, 400, /path parameter "id"/],
    ['GET', '/hub/api/activity?limit=abc', undefined, 400, /query parameter "limit"/],
    ['GET', '/hub/api/activity?bogus=1', undefined, 400, /Unknown query parameter "bogus"/],
    ['POST', '/hub/api/users/alice/tokens', { scopes: ['root'] }, 400, /"scopes/],
    ['PATCH', `/hub/api/groups/${own}`, {}, 400, /body/],
    ['GET', '/hub/api/no/such/route', undefined, 404, /No API route/],
  ];
  for (const [method, path, body, status, message] of cases) {
    const res = await alice.request(method, path, body);
    assert.equal(res.status, status, `${method} ${path}: ${res.text.slice(0, 200)}`);
    assert.equal(
      res.json?.error !== undefined && typeof res.json.message,
      'string',
      `${method} ${path} answers {error, message}`,
    );
    assert.match(res.json.message, message, `${method} ${path}`);
    assert.ok(!/at .*\.ts:\d+/.test(res.text), 'no stack trace');
  }
  const wrongType = await alice.request('POST', '/hub/api/groups', 'name=x', {
    'content-type': 'text/plain',
  });
  assert.equal(wrongType.status, 400);
  assert.match(wrongType.json.message, /JSON request body is required/);
  assert.equal(await countRows(), before, 'nothing was written');
  const lines = hub.logLines.slice(logStart);
  assert.ok(lines.length > 0);
  for (const line of lines)
    assert.ok(
      Buffer.byteLength(line) < 1024,
      `log line of ${Buffer.byteLength(line)} bytes: ${line.slice(0, 200)}`,
    );
});

test('API calls per user are rate-limited with 429 and Retry-After', async () => {
  const limited = await startTestHub('ratelimit', { apiRequestsPerMinute: 5 });
  try {
    const user = await signUp(limited.url, 'busy');
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await user.get('/hub/api/user')).status);
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    const last = await user.get('/hub/api/user');
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get('retry-after')) > 0);
  } finally {
    await limited.stop();
  }
});

test('the OpenAPI document describes every route the hub serves', async () => {
  const doc = (await new Client(hub.url).get('/hub/api/openapi.json')).json;
  assert.equal(doc.openapi, '3.1.0');
  const { apiRoutes } = await import('../src/routes.ts');
  const operations = Object.values(doc.paths).flatMap((p) => Object.keys(p as object)).length;
  assert.equal(operations, apiRoutes.length);
  assert.ok(doc.paths['/groups/{id}/invitations'].post.requestBody);
});

test('registration is limited per address: 60 at once from one address, 429 with Retry-After above the limit; another address still registers', async () => {
  const limit = hub.hub.config.registrationsPerAddress;
  const attempts = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      requestFrom('127.0.0.2', hub.url, 'POST', '/hub/api/register', {
        username: `flood${i}`,
        email: `flood${i}@example.org`,
        password: 'correct horse',
      }),
    ),
  );
  const statuses = attempts.map((res) => res.status);
  assert.equal(statuses.filter((s) => s === 201).length, limit, statuses.join(' '));
  const refused = attempts.filter((res) => res.status === 429);
  assert.equal(refused.length, 60 - limit);
  for (const res of refused) {
    assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After says when to come back');
    assert.equal(res.json.error, 'too_many_requests');
  }
  const db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM users WHERE name LIKE 'flood%'`);
  await db.end();
  assert.equal(rows[0].n, limit, 'only the accounts within the limit were made');
  const neighbour = await requestFrom('127.0.0.3', hub.url, 'POST', '/hub/api/register', {
    username: 'neighbour',
    email: 'neighbour@example.org',
    password: 'correct horse',
  });
  assert.equal(neighbour.status, 201, 'another address is not held up');
});

test('wrong passwords from one address do not lock the owner out: the owner at another address logs in', async () => {
  await signUp(hub.url, 'owner', 'owner password');
  const attacker = (password: string) =>
    requestFrom('127.0.0.4', hub.url, 'POST', '/hub/api/login', { username: 'owner', password });
  const guesses = 10; // the default ORRERY_LOGIN_FAILURES_BEFORE_BACKOFF
  assert.equal(hub.hub.config.loginFailuresBeforeBackoff, guesses);
  for (let i = 0; i < guesses; i++) assert.equal((await attacker(`guess ${i}`)).status, 403);
  const held = await attacker('owner password');
  assert.equal(held.status, 429, 'the guessing address backs off, even with the right password');
  assert.ok(Number(held.headers['retry-after']) > 0);
  const owner = await requestFrom('127.0.0.5', hub.url, 'POST', '/hub/api/login', {
    username: 'owner',
    password: 'owner password',
  });
  assert.equal(owner.status, 200, 'the owner at another address logs in');
  assert.equal(owner.json.user.name, 'owner');
});
