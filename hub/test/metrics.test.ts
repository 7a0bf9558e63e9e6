/**
 * /hub/metrics (docs/operations.md, "Metrics"): refused without `read:metrics`, Prometheus'
 * text format with JupyterHub's metric names, counts that follow real actions, one registry
 * per hub, and the public setting (JupyterHub's `authenticate_prometheus = False`).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { Client, signUp, startTestHub, type TestHub } from './support.ts';

let hub: TestHub;
let db: pg.Client;
let admin: Client;
let alice: Client;
/** An admin's token holding only `read:metrics`: what Prometheus is given. */
let scraper: Client;

before(async () => {
  hub = await startTestHub('metrics');
  db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  admin = await signUp(hub.url, 'boss');
  await db.query(`UPDATE users SET admin = true WHERE name = 'boss'`);
  alice = await signUp(hub.url, 'alice');
  const made = await admin.post('/hub/api/users/boss/tokens', {
    note: 'prometheus',
    scopes: ['read:metrics'],
  });
  assert.equal(made.status, 201, made.text);
  scraper = Client.withToken(hub.url, made.json.token);
});

after(async () => {
  await db?.end();
  await hub?.stop();
});

/** Samples by `name{labels}` (labels as the hub wrote them); throws on a line that is neither. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `not a sample: ${line}`);
    const value = Number(match[2]);
    // prom-client writes Node's event-loop lag as "Nan" before its first sample; Prometheus
    // reads floats as Go's ParseFloat does, case-insensitively.
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(match[2]!), `not a number: ${line}`);
    samples.set(match[1]!, value);
  }
  return samples;
}

async function scrape(client = scraper, path = '/hub/metrics'): Promise<Map<string, number>> {
  const res = await client.get(path);
  assert.equal(res.status, 200, res.text.slice(0, 200));
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(res.text);
}

test('refused without the read:metrics scope: anonymous 401, a user or a narrow token 403', async () => {
  const anonymous = await new Client(hub.url).get('/hub/metrics');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json.error, 'unauthorized');
  for (const path of ['/hub/metrics', '/hub/api/metrics']) {
    const user = await alice.get(path);
    assert.equal(user.status, 403, path);
    assert.match(user.json.message, /"read:metrics" scope/);
  }
  // An ordinary account cannot make a token with the scope: it is an admin's.
  const own = await alice.post('/hub/api/users/alice/tokens', { scopes: ['read:metrics'] });
  assert.equal(own.status, 403);
  assert.match(own.json.message, /only admin accounts hold it/);
  // Prometheus sends its token as a Bearer token.
  const bearer = await fetch(`${hub.url}/hub/metrics`, {
    headers: { authorization: scraper.authHeaders().authorization!.replace(/^token /, 'Bearer ') },
  });
  assert.equal(bearer.status, 200);
  assert.match(await bearer.text(), /^# HELP /m);
  const narrow = await admin.post('/hub/api/users/boss/tokens', { scopes: ['read:users'] });
  assert.equal(
    (await Client.withToken(hub.url, narrow.json.token).get('/hub/metrics')).status,
    403,
  );
});

test('the exposition parses and carries JupyterHub’s metrics, with their labels made up front', async () => {
  const res = await scraper.get('/hub/metrics');
  for (const name of [
    'jupyterhub_request_duration_seconds',
    'jupyterhub_server_spawn_duration_seconds',
    'jupyterhub_server_stop_seconds',
    'jupyterhub_running_servers',
    'jupyterhub_total_users',
    'jupyterhub_active_users',
    'jupyterhub_hub_startup_duration_seconds',
    'orrery_pending_servers',
    'orrery_racm_checks_total',
    'process_resident_memory_bytes',
  ])
    assert.match(res.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  const samples = parse(res.text);
  assert.equal(
    samples.get(
      'jupyterhub_server_spawn_duration_seconds_count{status="failure",reason="throttled"}',
    ),
    0,
  );
  assert.equal(samples.get('jupyterhub_server_stop_seconds_count{status="failure"}'), 0);
  for (const period of ['24h', '7d', '30d'])
    assert.ok(samples.has(`jupyterhub_active_users{period="${period}"}`), period);
  // Spawn buckets are JupyterHub's (minutes, not milliseconds).
  assert.ok(
    samples.has(
      'jupyterhub_server_spawn_duration_seconds_bucket{le="600",status="success",reason=""}',
    ),
  );
  assert.equal(samples.get('jupyterhub_hub_startup_duration_seconds_count'), 1);
  assert.equal(samples.get('jupyterhub_running_servers'), 0);
  assert.equal(samples.get('orrery_pending_servers{pending="spawn"}'), 0);
  // The same at JupyterHub's other path, and in the OpenAPI document as text.
  await scrape(scraper, '/hub/api/metrics');
  const openapi = (await alice.get('/hub/api/openapi.json')).json;
  const op = openapi.paths['/metrics'].get;
  assert.ok(op.responses['200'].content['text/plain; version=0.0.4; charset=utf-8']);
  assert.equal(op['x-jupyterhub-compatible'], true);
});

test('counts follow real actions: users, active users, requests, RACM checks, file bytes', async () => {
  const before = await scrape();
  await signUp(hub.url, 'carol');
  await signUp(hub.url, 'dave');
  await alice.get('/hub/api/user');
  await alice.get('/hub/api/user');
  await alice.get('/hub/api/racm/check?resource=999999&action=read');
  const volume = await alice.post('/hub/api/racm/resources', { type: 'UserVolume', name: 'v1' });
  assert.equal(volume.status, 201, volume.text);
  assert.equal((await alice.get(`/hub/api/racm/resources/${volume.json.id}`)).status, 200);
  assert.equal((await admin.get(`/hub/api/racm/resources/${volume.json.id}`)).status, 404);
  // A file up and down through the files API.
  const content = `${hub.url}/hub/api/files/Storage/alice/persistent/content?path=data.bin`;
  const put = await fetch(content, {
    method: 'PUT',
    headers: {
      ...alice.authHeaders(),
      'x-xsrftoken': alice.xsrf!,
      'content-type': 'application/octet-stream',
    },
    body: new Uint8Array(1000),
  });
  assert.equal(put.status, 201, await put.text());
  const got = await fetch(content, { headers: alice.authHeaders() });
  assert.equal((await got.arrayBuffer()).byteLength, 1000);
  const now = await scrape();
  const delta = (key: string) => (now.get(key) ?? 0) - (before.get(key) ?? 0);
  assert.equal(delta('orrery_files_api_bytes_total{direction="up"}'), 1000);
  assert.ok(delta('orrery_files_api_bytes_total{direction="down"}') >= 1000);
  assert.equal(delta('jupyterhub_total_users'), 2);
  const { rows } = await db.query('SELECT count(*)::int AS n FROM users');
  assert.equal(now.get('jupyterhub_total_users'), rows[0].n);
  // Everyone here signed in today.
  assert.equal(now.get('jupyterhub_active_users{period="24h"}'), rows[0].n);
  assert.equal(
    delta('jupyterhub_request_duration_seconds_count{method="GET",handler="GET /user",code="200"}'),
    2,
  );
  assert.equal(
    delta(
      'jupyterhub_request_duration_seconds_count{method="POST",handler="POST /register",code="201"}',
    ),
    2,
  );
  assert.equal(delta('orrery_racm_checks_total{outcome="denied",via="check"}'), 1);
  assert.equal(delta('orrery_racm_checks_total{outcome="allowed",via="guard"}'), 1);
  assert.equal(delta('orrery_racm_checks_total{outcome="denied",via="guard"}'), 1);
  // The refusals of the first test were requests too, counted under their status.
  assert.ok(
    (now.get(
      'jupyterhub_request_duration_seconds_count{method="GET",handler="GET /metrics",code="403"}',
    ) ?? 0) >= 3,
  );
});

test('a public hub serves metrics to anyone, from its own registry; a refused spawn counts as throttled', async () => {
  const open = await startTestHub('metrics_public', {
    metricsPublic: true,
    compute: { maxConcurrentSpawns: 0 },
  });
  try {
    const erin = await signUp(open.url, 'erin');
    const refused = await erin.post('/hub/api/users/erin/server', {});
    assert.equal(refused.status, 429, refused.text);
    const samples = await scrape(new Client(open.url));
    assert.equal(samples.get('jupyterhub_total_users'), 1);
    assert.equal(
      samples.get(
        'jupyterhub_server_spawn_duration_seconds_count{status="failure",reason="throttled"}',
      ),
      1,
    );
    // Nothing of the first hub's requests is in this hub's registry.
    assert.equal(
      samples.get(
        'jupyterhub_request_duration_seconds_count{method="GET",handler="GET /user",code="200"}',
      ),
      undefined,
    );
  } finally {
    await open.stop();
  }
  // The first hub was not changed by the second.
  assert.equal((await new Client(hub.url).get('/hub/metrics')).status, 401);
});
