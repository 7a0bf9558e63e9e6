/**
 * The hub's Prometheus metrics: one registry per hub (never prom-client's global one, so two
 * hubs in one process, as in the tests, count apart). Where a metric means what one of
 * JupyterHub's does it has JupyterHub's name, labels and buckets (jupyterhub/metrics.py), so
 * a JupyterHub Grafana dashboard reads Orrery; Orrery's own start with `orrery_`. Events come
 * from `hub.events`; the state gauges are read from the database at each scrape.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/pool.ts';
import type { HubEvents } from './events.ts';
import { readCounts } from './store.ts';

/** JupyterHub's spawn buckets: spawns take seconds to minutes. */
const SPAWN_BUCKETS = [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600];
/** JupyterHub's stop buckets (Prometheus' defaults of the time). */
const STOP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** JupyterHub's reasons for a failed spawn, made up front so dashboards see zeros, not gaps. */
const SPAWN_FAILURE_REASONS = ['', 'throttled', 'too-many-users', 'already-pending'];
const ACTIVE_PERIODS = ['24h', '7d', '30d'] as const;

export interface HubMetrics {
  readonly registry: Registry;
  /** The exposition text (format 0.0.4), the state gauges read afresh. */
  scrape(): Promise<string>;
}

export function createMetrics(db: Db, events: HubEvents): HubMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Node's process metrics (process_cpu_seconds_total, process_resident_memory_bytes, …), as
  // prometheus_client gives JupyterHub.
  collectDefaultMetrics({ register: registry });

  const requests = new Histogram({
    name: 'jupyterhub_request_duration_seconds',
    help: 'Request duration for all HTTP requests',
    labelNames: ['method', 'handler', 'code'],
    registers,
  });
  const spawns = new Histogram({
    name: 'jupyterhub_server_spawn_duration_seconds',
    help: 'Time taken for server spawning operation',
    labelNames: ['status', 'reason'],
    buckets: SPAWN_BUCKETS,
    registers,
  });
  for (const status of ['success', 'failure', 'error']) spawns.zero({ status, reason: '' });
  for (const reason of SPAWN_FAILURE_REASONS) spawns.zero({ status: 'failure', reason });
  const stops = new Histogram({
    name: 'jupyterhub_server_stop_seconds',
    help: 'Time taken for server stopping operation',
    labelNames: ['status'],
    buckets: STOP_BUCKETS,
    registers,
  });
  for (const status of ['success', 'failure']) stops.zero({ status });
  const polls = new Histogram({
    name: 'jupyterhub_server_poll_duration_seconds',
    help: 'Time taken to poll if server is running',
    labelNames: ['status'],
    registers,
  });
  for (const status of ['running', 'stopped']) polls.zero({ status });
  const startup = new Histogram({
    name: 'jupyterhub_hub_startup_duration_seconds',
    help: 'Time taken for Hub to start',
    registers,
  });
  const runningServers = new Gauge({
    name: 'jupyterhub_running_servers',
    help: 'The number of user servers currently running',
    registers,
  });
  const totalUsers = new Gauge({
    name: 'jupyterhub_total_users',
    help: 'Total number of users',
    registers,
  });
  const activeUsers = new Gauge({
    name: 'jupyterhub_active_users',
    help: 'Number of users who were active in the given time period',
    labelNames: ['period'],
    registers,
  });
  const pendingServers = new Gauge({
    name: 'orrery_pending_servers',
    help: 'Servers a spawn or a stop is acting on (JupyterHub calls these pending)',
    labelNames: ['pending'],
    registers,
  });
  const racmChecks = new Counter({
    name: 'orrery_racm_checks_total',
    help: 'RACM decisions, by outcome and by way in (the check API or a route guard)',
    labelNames: ['outcome', 'via'],
    registers,
  });
  const filesBytes = new Counter({
    name: 'orrery_files_api_bytes_total',
    help: 'Bytes of the files API’s request (up) and answer (down) bodies, completed requests only',
    labelNames: ['direction'],
    registers,
  });
  for (const direction of ['up', 'down']) filesBytes.labels({ direction }).inc(0);
  for (const outcome of ['allowed', 'denied'])
    for (const via of ['check', 'guard', 'proxy']) racmChecks.labels({ outcome, via }).inc(0);

  events.on('request', (e) => {
    requests.observe({ method: e.method, handler: e.handler, code: e.code }, e.seconds);
    if (e.tag !== 'files') return;
    filesBytes.inc({ direction: 'up' }, e.bytesIn);
    filesBytes.inc({ direction: 'down' }, e.bytesOut);
  });
  events.on('spawn', (e) => spawns.observe({ status: e.status, reason: e.reason }, e.seconds));
  events.on('poll', (e) => polls.observe({ status: e.status }, e.seconds));
  events.on('stop', (e) => stops.observe({ status: e.status }, e.seconds));
  events.on('racmCheck', (e) => racmChecks.inc({ outcome: e.outcome, via: e.via }));
  events.on('started', (e) => startup.observe(e.seconds));

  return {
    registry,
    async scrape() {
      const counts = await readCounts(db);
      totalUsers.set(counts.totalUsers);
      runningServers.set(counts.servers.running);
      pendingServers.set({ pending: 'spawn' }, counts.servers.starting);
      pendingServers.set({ pending: 'stop' }, counts.servers.stopping);
      for (const period of ACTIVE_PERIODS) activeUsers.set({ period }, counts.activeUsers[period]);
      return registry.metrics();
    },
  };
}
