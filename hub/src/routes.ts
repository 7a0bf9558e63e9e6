/** The whole API route table, in one list: the router, OpenAPI and the access-matrix test read it. */
import { accountRoutes } from './accounts/routes.ts';
import { activityRoutes } from './activity/routes.ts';
import { tokenRoutes } from './auth/routes.ts';
import { computeRoutes } from './compute/routes.ts';
import { groupRoutes } from './groups/routes.ts';
import type { RouteDef } from './http/route.ts';
import { racmRoutes } from './racm/routes.ts';

export const apiRoutes: RouteDef[] = [
  ...accountRoutes,
  ...tokenRoutes,
  ...groupRoutes,
  ...racmRoutes,
  ...activityRoutes,
  ...computeRoutes,
];
