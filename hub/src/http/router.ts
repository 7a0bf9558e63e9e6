/**
 * Turns the route table into an express router. Every request passes the same
 * steps in the same order: authenticate, check scope, validate path and query,
 * run the route's guard, validate the body, rate-limit, handle; in tests, check the answer.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { authenticate } from '../auth/authenticate.ts';
import type { Hub } from '../hub.ts';
import { secondsSince } from '../metrics/events.ts';
import { HttpError } from './errors.ts';
import { responseChecker } from './responses.ts';
import { type RouteDef, routeId } from './route.ts';
import { compileValidator, validatePart } from './validate.ts';

/**
 * JupyterLab's ServerConnection adds a bare timestamp (`?1795319405434`) to GET requests to
 * defeat caches; it carries no meaning, so it is dropped before the query is validated.
 */
function withoutCacheBuster(query: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query))
    if (!(/^\d+$/.test(key) && value === '')) kept[key] = value;
  return kept;
}

/**
 * The route table split by method and first path segment (`get users`), each part a router of
 * its own: express tries a router's routes one by one, and a request for the 81st route paid
 * ~0.25 ms of pattern matching before it ran.
 */
class RouteShelves {
  /** Every route, for what express answers by itself across methods (OPTIONS' Allow). */
  readonly all = express.Router();
  private readonly shelves = new Map<string, express.Router>();

  add(def: RouteDef, handle: express.RequestHandler): void {
    const first = def.path.split('/')[1] ?? '';
    if (!/^[a-z0-9._-]*$/.test(first))
      throw new Error(`A route's path starts with a fixed segment: ${routeId(def)}`);
    const key = `${def.method} ${first}`;
    let shelf = this.shelves.get(key);
    if (!shelf) {
      shelf = express.Router();
      this.shelves.set(key, shelf);
    }
    shelf[def.method](def.path, handle);
    this.all[def.method](def.path, handle);
  }

  /** The router for a request: its method's (GET's for HEAD, as express does) and first segment's. */
  dispatch: express.RequestHandler = (req, res, next) => {
    const method = req.method === 'HEAD' ? 'get' : req.method.toLowerCase();
    // Express matches paths case-insensitively, so the shelves are found that way too.
    const first = (req.path.split('/')[1] ?? '').toLowerCase();
    const shelf = this.shelves.get(`${method} ${first}`);
    if (shelf) shelf(req, res, next);
    else if (req.method === 'OPTIONS') this.all(req, res, next);
    else next();
  };
}

export function buildRouter(hub: Hub, routes: RouteDef[]): express.Router {
  const shelves = new RouteShelves();
  for (const def of routes) {
    const params = def.params && compileValidator(def.params, 'path');
    const query = def.query && compileValidator(def.query, 'query');
    const body = def.body && compileValidator(def.body, 'body');
    const checkResponse = hub.config.validateResponses ? responseChecker(def, hub.log) : undefined;
    const handler = routeId(def);
    const open = 'anonymous' in def.access || (def.access.publicWhen?.(hub.config) ?? false);
    shelves.add(def, async (req: Request, res: Response, next: NextFunction) => {
      const started = process.hrtime.bigint();
      res.once('finish', () =>
        hub.events.emit('request', {
          method: req.method,
          handler,
          tag: def.tag,
          code: res.statusCode,
          seconds: secondsSince(started),
          // Completed requests only ('finish'); an answer without a Content-Length counts 0.
          bytesIn: Number(req.headers['content-length']) || 0,
          bytesOut: req.method === 'HEAD' ? 0 : Number(res.getHeader('content-length')) || 0,
        }),
      );
      const caller = await authenticate(hub, req);
      if (!open && 'scope' in def.access) {
        if (!caller)
          throw new HttpError(
            def.access.anonymousStatus ?? 401,
            'Sign in, or send an API token in the Authorization header',
          );
        if (!caller.scopes.has(def.access.scope)) {
          throw new HttpError(
            403,
            `This needs the "${def.access.scope}" scope, which your credentials do not have`,
          );
        }
      }
      const pathValues = { ...req.params };
      if (params) validatePart(params, pathValues, 'path');
      const queryValues = withoutCacheBuster(req.query as Record<string, unknown>);
      if (query) validatePart(query, queryValues, 'query');
      if (caller && 'scope' in def.access && def.access.guard) {
        await def.access.guard.check({ hub, caller, params: pathValues });
      }
      // A request without a body (a DELETE from most clients) is an empty object to the schema;
      // a body that is not JSON stays unparsed, and a route that takes JSON refuses it.
      const sentBody =
        Number(req.headers['content-length'] ?? 0) > 0 ||
        req.headers['transfer-encoding'] !== undefined;
      const bodyValue = req.body ?? (sentBody ? undefined : {});
      if (body) validatePart(body, bodyValue, 'body');
      if (caller) hub.limits.apiPerUser.check(`user:${caller.user.id}`, 'Too many requests');
      const result = await def.handler({
        hub,
        service: undefined,
        req,
        res,
        caller,
        body: bodyValue,
        query: queryValues,
        params: pathValues,
      });
      if (res.headersSent) return;
      const status = def.status ?? 200;
      if (status === 204) res.status(204).end();
      else {
        checkResponse?.(result);
        if (def.contentType) res.status(status).type(def.contentType).send(result);
        else res.status(status).json(result);
      }
      void next;
    });
  }
  const router = express.Router();
  router.use(shelves.dispatch);
  return router;
}
