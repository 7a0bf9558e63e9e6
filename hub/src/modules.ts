/**
 * The hub's feature modules, in order, and the one function that composes them. Adding a
 * feature (MyDB, files, jobs, courses) is its folder with a `module.ts` and one line here.
 * Order matters: a module's `use` sees only the modules above it, API routes are matched in
 * this order, and pages are mounted in it (single sign-on before the catch-all pages).
 */
import type { RequestListener } from 'node:http';
import type express from 'express';
import { accountsModule } from './accounts/module.ts';
import { activityModule } from './activity/module.ts';
import { adminModule } from './admin/module.ts';
import { computeModule } from './compute/module.ts';
import { coursesModule } from './courses/module.ts';
import { filesModule } from './files/module.ts';
import { groupsModule } from './groups/module.ts';
import { bindRoutes, type RouteDef } from './http/route.ts';
import type { Hub } from './hub.ts';
import { jobsModule } from './jobs/module.ts';
import { metricsModule } from './metrics/module.ts';
import type { FeatureModule, FrontHandler, OpenModule } from './module.ts';
import { mydbModule } from './mydb/module.ts';
import { oauthModule } from './oauth/module.ts';
import { oidcModule } from './oidc/module.ts';
import { pagesModule } from './pages/module.ts';
import { racmModule } from './racm/module.ts';
import { sharesModule } from './shares/module.ts';

/** Any module, whatever its service. */
export type AnyModule = FeatureModule<unknown>;

export const MODULES: readonly AnyModule[] = [
  // First: it listens to hub.events before any other module can emit.
  metricsModule,
  accountsModule,
  racmModule,
  groupsModule,
  activityModule,
  computeModule,
  oauthModule,
  sharesModule,
  mydbModule,
  filesModule,
  jobsModule,
  // After groups and files: a course is a group, its folders are volumes.
  coursesModule,
  oidcModule,
  // Its pages stop servers and list domains when compute is composed (above).
  adminModule,
  pagesModule,
];

/** The modules of a running hub, opened: what app.ts mounts and server.ts starts and stops. */
export interface ComposedModules {
  /** The API route table, each route bound to its module's service. */
  routes: RouteDef[];
  pages: express.Router[];
  fronts: FrontHandler[];
  /** Was this module composed into the hub? */
  has(module: AnyModule): boolean;
  /** The service of a composed module; throws for a module this hub was composed without. */
  serviceOf<S>(module: FeatureModule<S>): S;
  start(listening: { url: string }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Open the modules in order. If one fails, those already open are closed (in reverse) and
 * the error is passed on: a hub that cannot start leaves nothing running.
 */
export async function composeModules(
  hub: Hub,
  serveApi: RequestListener,
  modules: readonly AnyModule[] = MODULES,
): Promise<ComposedModules> {
  const opened = new Map<AnyModule, OpenModule<unknown>>();
  const serviceOf = <S>(module: FeatureModule<S>): S => {
    const open = opened.get(module as AnyModule);
    if (!open) throw new Error(`The module "${module.name}" is not composed (or comes later)`);
    return open.service as S;
  };
  const allRoutes = modules.flatMap((module) => [...module.routes]) as RouteDef[];
  const closeAll = async () => {
    for (const open of [...opened.values()].reverse()) await open.close?.();
  };
  try {
    for (const module of modules) {
      if (opened.has(module)) throw new Error(`The module "${module.name}" is listed twice`);
      opened.set(
        module,
        await module.open({
          hub,
          serveApi,
          routes: allRoutes,
          use: serviceOf,
          has: (other) => opened.has(other as AnyModule),
        }),
      );
    }
  } catch (err) {
    await closeAll().catch((closeErr) =>
      hub.log.warn({ err: String(closeErr) }, 'closing modules after a failed start failed'),
    );
    throw err;
  }
  const entries = [...opened.entries()];
  return {
    routes: entries.flatMap(([module, open]) => bindRoutes(module.routes, open.service)),
    pages: entries.flatMap(([, open]) => (open.pages ? [open.pages] : [])),
    fronts: entries.flatMap(([, open]) => (open.front ? [open.front] : [])),
    has: (module) => opened.has(module),
    serviceOf,
    async start(listening) {
      for (const open of opened.values()) await open.start?.(listening);
    },
    close: closeAll,
  };
}
