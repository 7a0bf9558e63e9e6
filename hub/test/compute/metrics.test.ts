/**
 * The compute metrics with a real Jupyter server run as a local process: a spawn's duration
 * under `success`, the running and pending servers, the reconcile loop's poll, and the stop
 * (docs/operations.md, "Metrics").
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { readProgress, waitForStatus } from './support.ts';

let hub: TestHub;
let db: pg.Client;
let alice: Client;
let scraper: Client;

before(async () => {
  hub = await startTestHub('compute_metrics', { metricsPublic: true });
  db = new pg.Client({ connectionString: hub.databaseUrl });
  await db.connect();
  alice = await signUp(hub.url, 'alice');
  scraper = new Client(hub.url);
});

after(async () => {
  await db?.end();
  await hub?.stop();
});

async function samples(): Promise<Map<string, number>> {
  const res = await scraper.get('/hub/metrics');
  assert.equal(res.status, 200);
  const found = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) found.set(match[1]!, Number(match[2]));
  }
  return found;
}

test('a real spawn, poll and stop are measured; running servers follow', async () => {
  const spawned = 'jupyterhub_server_spawn_duration_seconds_count{status="success",reason=""}';
  const started = await alice.post('/hub/api/users/alice/server', {});
  assert.equal(started.status, 202, started.text);
  // While it starts, it is a pending spawn (unless it was quicker than this request).
  const during = await samples();
  assert.equal(
    (during.get('orrery_pending_servers{pending="spawn"}') ?? 0) +
      (during.get('jupyterhub_running_servers') ?? 0),
    1,
  );
  const events = await readProgress(hub.url, started.json.progress_url, alice.authHeaders());
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));
  await waitForStatus(alice, 'alice', '', 'running');
  let now = await samples();
  assert.equal(now.get(spawned), 1);
  assert.ok(
    (now.get('jupyterhub_server_spawn_duration_seconds_sum{status="success",reason=""}') ?? 0) > 0,
  );
  assert.equal(now.get('jupyterhub_running_servers'), 1);
  assert.equal(now.get('orrery_pending_servers{pending="spawn"}'), 0);

  await hub.compute().reconcile();
  now = await samples();
  assert.equal(now.get('jupyterhub_server_poll_duration_seconds_count{status="running"}'), 1);

  assert.equal((await alice.delete('/hub/api/users/alice/server')).status, 204);
  now = await samples();
  assert.equal(now.get('jupyterhub_server_stop_seconds_count{status="success"}'), 1);
  assert.equal(now.get('jupyterhub_running_servers'), 0);
  const { rows } = await db.query('SELECT count(*)::int AS n FROM servers');
  assert.equal(rows[0].n, 0);
});
