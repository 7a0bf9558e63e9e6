/** The whole API route table, in one list: the router, OpenAPI and the access-matrix test read it. */
import type { Scope } from './auth/scopes.ts';
import type { RouteDef } from './http/route.ts';
import { labTokenScopes } from './labContract.ts';
import { MODULES } from './modules.ts';

/** Every module's routes, in module order: the table of a hub composed of all modules. */
export const apiRoutes: RouteDef[] = MODULES.flatMap((module) => [...module.routes]);

/** Given to the token of code inside a user's server: exactly what the lab routes need. */
export const SERVER_TOKEN_SCOPES: Scope[] = labTokenScopes(apiRoutes);
