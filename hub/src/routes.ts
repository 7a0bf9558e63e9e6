/** The whole API route table, in one list: the router, OpenAPI and the access-matrix test read it. */
import type { RouteDef } from './http/route.ts';
import { MODULES } from './modules.ts';

/** Every module's routes, in module order: the table of a hub composed of all modules. */
export const apiRoutes: RouteDef[] = MODULES.flatMap((module) => [...module.routes]);
