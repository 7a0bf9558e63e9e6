/**
 * Prometheus metrics as a feature module: opening it builds the hub's registry and subscribes
 * it to `hub.events`; its one route serves the exposition. Listed first in modules.ts, so it
 * hears every event from the first request on.
 */
import { Type } from '@sinclair/typebox';
import { routesOf } from '../http/route.ts';
import type { FeatureModule } from '../module.ts';
import { createMetrics, type HubMetrics } from './registry.ts';

const route = routesOf<HubMetrics>();

/** Prometheus' text format, as prometheus_client's CONTENT_TYPE_LATEST. */
export const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const metricsRoutes = [
  route({
    method: 'get',
    path: '/metrics',
    alsoAt: '/hub/metrics',
    tag: 'metrics',
    summary: 'Prometheus metrics (JupyterHub’s names where they mean the same)',
    // JupyterHub's scope; ORRERY_METRICS_PUBLIC is its `authenticate_prometheus = False`.
    access: { scope: 'read:metrics', publicWhen: (config) => config.metricsPublic },
    contentType: EXPOSITION_TYPE,
    response: Type.String({ description: 'Prometheus text exposition format 0.0.4' }),
    jupyterhub: true,
    async handler({ service }) {
      return service.scrape();
    },
  }),
];

export const metricsModule: FeatureModule<HubMetrics> = {
  name: 'metrics',
  routes: metricsRoutes,
  async open({ hub }) {
    return { service: createMetrics(hub.db, hub.events) };
  },
};
