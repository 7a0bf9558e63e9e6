/**
 * Routes are declared as data: method, path, schemas and the access they need.
 * The same table builds the express router, the request validators, the
 * OpenAPI document and the authorisation-matrix test, so none can drift.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Request, Response } from 'express';
import type { Principal } from '../auth/principal.ts';
import { assertScope, type Scope } from '../auth/scopes.ts';
import type { HubConfig } from '../config.ts';
import type { Hub } from '../hub.ts';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** A check that runs after authentication; throws an HttpError (403 or 404) to refuse. */
export interface Guard {
  /** Shown in the OpenAPI description, e.g. "group role ADMIN". */
  describe: string;
  check(ctx: GuardContext): Promise<void>;
}

export interface GuardContext {
  hub: Hub;
  caller: Principal;
  params: Record<string, unknown>;
}

export type Access =
  /** Anyone, signed in or not (register, login). */
  | { anonymous: true }
  /**
   * A signed-in caller holding `scope`, passing `guard` if given; or anyone at all when
   * `publicWhen` says the operator opened the route (JupyterHub's `authenticate_prometheus`).
   * A caller without a valid credential gets 401, or `anonymousStatus` where JupyterHub's
   * clients expect its 403 (`GET /user`: HubAuth reads a 403 as "no such user" and signs the
   * browser in again, but a 401 as a failure of the hub).
   */
  | {
      scope: Scope;
      guard?: Guard;
      publicWhen?: (config: HubConfig) => boolean;
      anonymousStatus?: 403;
    };

export interface HandlerContext<B, Q, P, S = unknown> {
  hub: Hub;
  /** The service of the feature module the route belongs to (module.ts binds it). */
  service: S;
  req: Request;
  res: Response;
  /** Null only on anonymous routes. */
  caller: Principal | null;
  body: B;
  query: Q;
  params: P;
}

export interface RouteDef<
  B extends TSchema = TSchema,
  Q extends TSchema = TSchema,
  P extends TSchema = TSchema,
  S = unknown,
> {
  method: Method;
  /** Express-style path under the API base, e.g. `/groups/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Success status; 204 sends no body. Default 200. */
  status?: number;
  /**
   * The JSON body of a success, required unless the status is 204 or the route streams `events`.
   * Documented in OpenAPI; checked against every answer when `validateResponses` is on.
   */
  response?: TSchema;
  /**
   * The handler returns the body as text of this media type (Prometheus' exposition format),
   * sent as is; `response` is then a string schema. Default: JSON.
   */
  contentType?: string;
  /**
   * A path outside the API base that serves this route too (a GET without path parameters):
   * JupyterHub serves its metrics at `/hub/metrics` as well as `/hub/api/metrics`.
   */
  alsoAt?: string;
  /** For a route answering with server-sent events: the schema of one event's data. */
  events?: TSchema;
  /**
   * Code in a user's JupyterLab may call this route through the server extension's proxy.
   * The proxy's allow-list and the per-server token's scopes are generated from these flags.
   */
  lab?: boolean;
  /**
   * The operation is JupyterHub's (same path, fields, status codes and scope), marked
   * `x-jupyterhub-compatible` in the OpenAPI document; docs/jupyterhub.md lists the differences.
   */
  jupyterhub?: boolean;
  handler(ctx: HandlerContext<Static<B>, Static<Q>, Static<P>, S>): Promise<unknown>;
}

/** Declare a route; checks the scope name now, so a typo fails at load, not at request time. */
export function route<B extends TSchema, Q extends TSchema, P extends TSchema>(
  def: RouteDef<B, Q, P>,
): RouteDef {
  if ('scope' in def.access) assertScope(def.access.scope);
  return def as unknown as RouteDef;
}

/**
 * `route` for a feature module whose handlers use its service: in the module's routes file,
 * `const route = routesOf<GroupsService>();` and each handler receives `service`, typed.
 */
export function routesOf<S>() {
  return <B extends TSchema, Q extends TSchema, P extends TSchema>(
    def: RouteDef<B, Q, P, S>,
  ): RouteDef<TSchema, TSchema, TSchema, S> => {
    if ('scope' in def.access) assertScope(def.access.scope);
    return def as unknown as RouteDef<TSchema, TSchema, TSchema, S>;
  };
}

/** A module's routes with its service bound: what the router mounts. */
export function bindRoutes<S>(
  routes: readonly RouteDef<TSchema, TSchema, TSchema, S>[],
  service: S,
): RouteDef[] {
  return routes.map((def) => ({
    ...def,
    handler: (ctx) => def.handler({ ...ctx, service }),
  }));
}

export const routeId = (def: Pick<RouteDef, 'method' | 'path'>) =>
  `${def.method.toUpperCase()} ${def.path}`;
