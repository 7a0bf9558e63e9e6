/** The metrics' plumbing without a database: events reach their listeners, registries are apart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Db } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { HubEvents } from '../../src/metrics/events.ts';
import { createMetrics } from '../../src/metrics/registry.ts';

/** A database that answers the counts query with fixed numbers. */
const countsDb = {
  query: async () => ({
    rows: [{ total: 7, starting: 2, running: 3, stopping: 1, day: 4, week: 5, month: 6 }],
  }),
} as unknown as Db;

test('a listener that throws is logged, and neither the emitter nor the other listeners notice', () => {
  const lines: string[] = [];
  const events = new HubEvents(createLogger('info', { write: (l: string) => void lines.push(l) }));
  const seen: number[] = [];
  events.on('started', () => {
    throw new Error('broken listener');
  });
  events.on('started', (e) => seen.push(e.seconds));
  events.emit('started', { seconds: 1.5 });
  assert.deepEqual(seen, [1.5]);
  assert.match(lines.join(''), /a hub event listener failed/);
  // An event nobody listens to costs nothing and says nothing.
  events.emit('stop', { status: 'success', seconds: 1 });
});

test('events and counts become JupyterHub’s samples; two hubs’ registries count apart', async () => {
  const first = new HubEvents();
  const second = new HubEvents();
  const a = createMetrics(countsDb, first);
  const b = createMetrics(countsDb, second);
  first.emit('spawn', { status: 'success', reason: '', seconds: 7 });
  const request = { tag: 'accounts', bytesIn: 0, bytesOut: 50 };
  first.emit('request', {
    method: 'GET',
    handler: 'GET /user',
    code: 200,
    seconds: 0.01,
    ...request,
  });
  first.emit('request', {
    ...{ method: 'PUT', handler: 'PUT /files/:root/:owner/:volume/content', code: 201 },
    ...{ seconds: 0.1, tag: 'files', bytesIn: 1000, bytesOut: 20 },
  });
  first.emit('racmCheck', { outcome: 'denied', via: 'check' });
  const text = await a.scrape();
  assert.match(
    text,
    /^jupyterhub_server_spawn_duration_seconds_bucket\{le="10",status="success",reason=""\} 1$/m,
  );
  assert.match(
    text,
    /^jupyterhub_server_spawn_duration_seconds_bucket\{le="5",status="success",reason=""\} 0$/m,
  );
  assert.match(
    text,
    /^jupyterhub_request_duration_seconds_count\{method="GET",handler="GET \/user",code="200"\} 1$/m,
  );
  assert.match(text, /^orrery_racm_checks_total\{outcome="denied",via="check"\} 1$/m);
  assert.match(text, /^orrery_files_api_bytes_total\{direction="up"\} 1000$/m);
  assert.match(text, /^orrery_files_api_bytes_total\{direction="down"\} 20$/m);
  assert.match(text, /^jupyterhub_total_users 7$/m);
  assert.match(text, /^jupyterhub_running_servers 3$/m);
  assert.match(text, /^jupyterhub_active_users\{period="7d"\} 5$/m);
  assert.match(text, /^orrery_pending_servers\{pending="spawn"\} 2$/m);
  assert.match(text, /^orrery_pending_servers\{pending="stop"\} 1$/m);
  const other = await b.scrape();
  assert.match(
    other,
    /^jupyterhub_server_spawn_duration_seconds_count\{status="success",reason=""\} 0$/m,
  );
  assert.doesNotMatch(other, /handler="GET \/user"/);
});
