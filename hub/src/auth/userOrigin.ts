/**
 * Users' servers on their own origin (ORRERY_USER_ORIGIN, e.g. `https://{user}.users.example.org`):
 * which host is whose, and what each host serves. Pure: the hand-off's storage is in
 * userHostSessions.ts, its routes in userOriginHandoff.ts.
 *
 * On a user's host only that user's `/user/<name>/…` is served, plus the hand-off callback;
 * on the hub's host `/user/<name>/…` is sent to the user's host. Nothing of the hub is on a
 * user's host, so a page there can neither send the hub's cookie nor read the hub's answers.
 */

/** The path on a user's host that turns a one-use code into that host's cookie. */
export const HANDOFF_CALLBACK = '/hub/user-login/callback';
/** The path on the hub that issues a code for the caller's own host. */
export const HANDOFF_START = '/hub/user-login';
/** The per-host cookie: its own random credential, never the hub's session. */
export const HOST_COOKIE = 'orrery-session-host';
/**
 * The hand-off's state, set by a user's host on the browser it sends to the hub (for the
 * callback's path only): the code the hub issues is redeemable by that browser alone.
 */
export const STATE_COOKIE = 'orrery-handoff-state';

const SERVER_PATH = /^\/user\/([a-z0-9-]+)\//;

export interface UserOrigin {
  /** The hub's own origin (its public URL), where the hand-off starts. */
  hubOrigin: string;
  protocol: 'http:' | 'https:';
  /** e.g. `https://alice.users.example.org` */
  originFor(safeName: string): string;
  /** e.g. `alice.users.example.org` (with `:port` when not the default). */
  hostFor(safeName: string): string;
  /** The safe name whose host this Host header names, or undefined for any other host. */
  userOfHost(host: string | undefined): string | undefined;
}

/** Parse and check ORRERY_USER_ORIGIN against the hub's public URL; throws a readable Error. */
export function parseUserOrigin(pattern: string, publicUrl: string): UserOrigin {
  const fail = (why: string) => new Error(`ORRERY_USER_ORIGIN "${pattern}": ${why}`);
  if (!pattern.includes('{user}'))
    throw fail('must contain {user}, e.g. https://{user}.users.example.org');
  let url: URL;
  try {
    url = new URL(pattern.replace('{user}', 'x'));
  } catch {
    throw fail('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail('must be http or https');
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
    throw fail('must be an origin only (scheme, host, port)');
  if (!url.hostname.startsWith('x.') || url.hostname.slice(2).includes('{'))
    throw fail('{user} must be the leftmost label of the host');
  const suffix = `${url.hostname.slice(1)}${url.port ? `:${url.port}` : ''}`;
  const protocol = url.protocol;
  const hostFor = (safeName: string) => `${safeName}${suffix}`;
  const userOfHost = (host: string | undefined) => {
    const lower = host?.toLowerCase();
    if (!lower?.endsWith(suffix)) return undefined;
    const label = lower.slice(0, -suffix.length);
    return /^[a-z0-9][a-z0-9-]*$/.test(label) ? label : undefined;
  };
  const hub = new URL(publicUrl);
  if (userOfHost(hub.host) !== undefined)
    throw fail(
      `the hub's public URL ${publicUrl} is itself a user's host: give the hub a host of its own`,
    );
  return {
    hubOrigin: hub.origin,
    protocol,
    hostFor,
    originFor: (safeName) => `${protocol}//${hostFor(safeName)}`,
    userOfHost,
  };
}

/** The parsed ORRERY_USER_ORIGIN, or null when servers share the hub's origin. */
export function userOriginOf(config: {
  userOrigin: string | null;
  publicUrl: string;
}): UserOrigin | null {
  return config.userOrigin ? parseUserOrigin(config.userOrigin, config.publicUrl) : null;
}

/** The owner's safe name in a `/user/<name>/…` path. */
export function ownerOfPath(path: string): string | undefined {
  return SERVER_PATH.exec(path)?.[1];
}

export type HostDecision =
  /** The hub's express application. */
  | { kind: 'hub' }
  /** The authenticated proxy. */
  | { kind: 'proxy' }
  /** The hand-off callback on a user's host. */
  | { kind: 'callback'; owner: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'refuse'; status: number; error: string; message: string };

/**
 * What a request gets, by the host it was sent to and its path. `proxied` says whether the
 * path is one the proxy serves (`/user/<name>/<server>/…`).
 */
export function decideByHost(
  origin: UserOrigin,
  host: string | undefined,
  method: string | undefined,
  url: string,
  proxied: boolean,
): HostDecision {
  const path = url.split('?')[0]!;
  const hostOwner = origin.userOfHost(host);
  if (hostOwner === undefined) {
    // The hub's host: servers live elsewhere now.
    const owner = ownerOfPath(path);
    if (owner === undefined) return { kind: 'hub' };
    if (method !== 'GET' && method !== 'HEAD')
      return refuse(404, 'not_found', `Servers are served from ${origin.originFor(owner)}`);
    return { kind: 'redirect', location: `${origin.originFor(owner)}${url}` };
  }
  if (path === HANDOFF_CALLBACK) return { kind: 'callback', owner: hostOwner };
  const owner = ownerOfPath(path);
  if (owner === undefined || !proxied)
    return refuse(404, 'not_found', "Nothing here: this host serves its user's servers only");
  if (owner !== hostOwner)
    return refuse(403, 'forbidden', "This host serves another user's servers");
  return { kind: 'proxy' };
}

const PROXY: HostDecision = { kind: 'proxy' };
const HUB: HostDecision = { kind: 'hub' };

/** Where a request goes: by path alone on one origin, by host and path with users' own. */
export function routeRequest(
  origin: UserOrigin | null,
  req: {
    headers: { host?: string | undefined };
    method?: string | undefined;
    url?: string | undefined;
  },
  proxied: (url: string | undefined) => boolean,
): HostDecision {
  if (!origin) return proxied(req.url) ? PROXY : HUB;
  return decideByHost(origin, req.headers.host, req.method, req.url ?? '/', proxied(req.url));
}

const refuse = (status: number, error: string, message: string): HostDecision => ({
  kind: 'refuse',
  status,
  error,
  message,
});
