/**
 * The lab-side contract, derived from the route table's `lab: true` flags: which hub API calls
 * the JupyterLab server extension forwards (method and path), and the scopes of the per-server
 * token that authenticates them. Nothing here is kept by hand.
 */
import { SCOPES, type Scope } from './auth/scopes.ts';
import type { Method, RouteDef } from './http/route.ts';

export interface LabRoute {
  method: Uppercase<Method>;
  /** Express-style path under the API base, without the leading slash: `groups/:id`. */
  path: string;
  /** Anchored regular expression over the percent-encoded path; one segment per parameter. */
  pattern: string;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `/groups/:id/members/:username` → `groups/[^/]+/members/[^/]+`. */
export function pathPattern(path: string): string {
  return path
    .replace(/^\//, '')
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment)))
    .join('/');
}

export function labRoutes(routes: RouteDef[]): LabRoute[] {
  return routes
    .filter((def) => def.lab)
    .map((def) => ({
      method: def.method.toUpperCase() as Uppercase<Method>,
      path: def.path.replace(/^\//, ''),
      pattern: pathPattern(def.path),
    }))
    .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** The scopes the lab routes need, in the order SCOPES lists them. A lab route must not be anonymous-only. */
export function labTokenScopes(routes: RouteDef[]): Scope[] {
  const needed = new Set<Scope>();
  for (const def of routes) {
    if (!def.lab) continue;
    if ('scope' in def.access) needed.add(def.access.scope);
  }
  return (Object.keys(SCOPES) as Scope[]).filter((scope) => needed.has(scope));
}
