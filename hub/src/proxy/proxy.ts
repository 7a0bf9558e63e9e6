/**
 * The authenticated reverse proxy for /user/<safe name>/<server>/…: HTTP and WebSocket.
 * Every request is authenticated and checked against the owner before any upstream
 * connection opens; the upstream Jupyter server accepts only requests that carry the
 * server's secret, which only the proxy adds. The hub's session cookie is not forwarded.
 * A jupyterhub-singleuser server (route without a secret) signs its users in itself through
 * the hub's OAuth: it gets the caller's hub token, already checked here, and nothing else.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Request } from 'express';
import { authenticate, tokenFromHeader } from '../auth/authenticate.ts';
import { parseCookieHeader as parseCookies } from '../auth/cookies.ts';
import type { Principal } from '../auth/principal.ts';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import { isHubToken } from '../auth/tokens.ts';
import { HOST_COOKIE, type UserOrigin } from '../auth/userOrigin.ts';
import { hostPrincipal, startHandoff } from '../auth/userOriginHandoff.ts';
import type { Compute } from '../compute/orchestrator.ts';
import type { ProxyRoute } from '../compute/routeTable.ts';
import { touchServers } from '../compute/store.ts';
import type { Hub } from '../hub.ts';
import { mayOnServer } from '../shares/store.ts';
import { adminMayAccess } from './adminAccess.ts';
import { AuthCache } from './authCache.ts';

/**
 * `/user/<safe name>/…`, with the first segment after it (`/user/<safe name>/<segment>`): as
 * in JupyterHub, that segment names a server only when that named server has a route;
 * everything else under `/user/<safe name>/` is the default server's.
 */
const PREFIX = /^\/user\/([a-z0-9-]+)(?:\/(?:([a-z0-9][a-z0-9-]*)(?=[/?]|$))?|(?=\?|$))/;
const BARE_USER_PATH = /^(\/user\/[a-z0-9-]+)(\?.*)?$/;
/** Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, except Connection/Upgrade on an upgrade. */
const HOP_BY_HOP_SET = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

type Verdict =
  /** `shared`: the caller is not the owner; a share of the server lets them in. */
  | { ok: true; route: ProxyRoute; principal: Principal; shared?: boolean }
  | { ok: false; status: number; error: string; message: string; login?: boolean; home?: boolean };

const cookieName = (part: string) => {
  const eq = part.indexOf('=');
  return (eq < 0 ? part : part.slice(0, eq)).trim();
};

/**
 * Remove the hub's session cookie and a user host's cookie (whose name starts with the
 * session cookie's): a user's server has no business holding either.
 */
export function stripSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  // Most requests carry no hub cookie at all (API clients) or only Jupyter's: nothing to split.
  if (!header.includes(SESSION_COOKIE)) return header.trim() || undefined;
  const kept = header
    .split(';')
    .map((part) => part.trim())
    // By name as parseCookieHeader reads it (trimmed), so no spelling of it gets through.
    .filter((part) => {
      if (!part) return false;
      const name = cookieName(part);
      return name !== SESSION_COOKIE && name !== HOST_COOKIE;
    });
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * The session cookie's value as `parseCookieHeader` would give it, without parsing every other
 * cookie: the credential is all the per-connection check needs.
 */
export function sessionCookieOf(header: string | undefined): string | undefined {
  if (!header?.includes(SESSION_COOKIE)) return undefined;
  return parseCookies(header)[SESSION_COOKIE];
}

/**
 * The upstream request's headers as a flat [name, value, …] list, in one pass over the raw
 * headers as the client sent them (Node writes such a list out without re-validating or
 * lower-casing it into an object): no hop-by-hop headers (except for upgrades), no
 * Authorization, no X-Forwarded-* from the client, the hub's session cookie removed from the
 * Cookie header; then `authorization` (the server's secret, or for a server that signs users in
 * through the hub the caller's checked hub token, or none) and our own X-Forwarded-For/-Proto.
 */
export function upstreamHeaderList(
  rawHeaders: readonly string[],
  authorization: string | undefined,
  remoteAddress: string | undefined,
  upgrade: boolean,
  defaultHost: string,
): string[] {
  const out: string[] = [];
  let cookie: string | undefined;
  let host = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === 'cookie') {
      // Several Cookie headers are one list (RFC 6265 §5.4), as req.headers joins them.
      cookie = cookie === undefined ? rawHeaders[i + 1]! : `${cookie}; ${rawHeaders[i + 1]}`;
      continue;
    }
    if (
      lower === 'authorization' ||
      lower === 'x-forwarded-for' ||
      lower === 'x-forwarded-proto' ||
      (!upgrade && HOP_BY_HOP_SET.has(lower))
    )
      continue;
    if (lower === 'host') {
      // One Host only (RFC 9112 §3.2); Node's parser keeps the first too.
      if (host) continue;
      host = true;
    }
    out.push(name, rawHeaders[i + 1]!);
  }
  if (!host) out.push('host', defaultHost);
  const kept = stripSessionCookie(cookie);
  if (kept) out.push('cookie', kept);
  if (authorization !== undefined) out.push('authorization', authorization);
  out.push('x-forwarded-for', remoteAddress ?? '', 'x-forwarded-proto', 'http');
  return out;
}

/**
 * The upstream response's headers for the client, from its raw list: hop-by-hop ones dropped,
 * and CORS headers (`Access-Control-*`) too unless `keepCors`: Jupyter answers any Origin with
 * itself, which would let every site read a signed-in user's server.
 */
export function responseHeaderList(rawHeaders: readonly string[], keepCors = false): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (
      !keepCors &&
      name.length > 15 &&
      (name.charCodeAt(0) | 0x20) === 0x61 &&
      name.toLowerCase().startsWith('access-control-')
    )
      continue;
    // Only names of a hop-by-hop header's length need lower-casing (2, 7, 10, 16, 17).
    if (
      (name.length === 2 ||
        name.length === 7 ||
        name.length === 10 ||
        name.length === 16 ||
        name.length === 17) &&
      HOP_BY_HOP_SET.has(name.toLowerCase())
    )
      continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  return out;
}

/**
 * The caller's hub token as `token <t>`, for a server that checks it with the hub itself; a
 * request signed in by the hub's session passes none (the server signs that browser in through
 * OAuth), and a token not of the hub's is never passed on.
 */
function hubTokenHeader(req: http.IncomingMessage): string | undefined {
  const bearer = tokenFromHeader(req.headers.authorization);
  return isHubToken(bearer) ? `token ${bearer}` : undefined;
}

/** Same-origin check for requests a browser could be tricked into sending (unsafe methods, WebSockets). */
function crossOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

interface Upstream {
  host: string;
  port: number;
  /** Host header for a request that came without one (HTTP/1.0). */
  hostHeader: string;
}

export class ServerProxy {
  /**
   * Upstream connections are kept alive and reused most-recently-freed first ('lifo', so a
   * quiet period lets the older ones idle out), up to 256 per server.
   */
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
  /** Each route's URL parsed once (routes are replaced, never mutated, when a server restarts). */
  private readonly upstreams = new WeakMap<ProxyRoute, Upstream>();
  private readonly cache = new AuthCache();
  private readonly perConnection = new WeakMap<
    object,
    { credential: string; principal: Principal | null; expires: number }
  >();
  private readonly touched = new Set<number>();
  /** Open WebSockets of users a server is shared with, checked again when access changes. */
  private readonly sharedSockets = new Set<{
    userId: number;
    route: ProxyRoute;
    close: () => void;
  }>();
  /** Counts access changes, so a WebSocket admitted while one was applied is checked again. */
  private accessGeneration = 0;
  private readonly flusher: NodeJS.Timeout;

  /**
   * @param userOrigin when servers are on their users' own hosts: the proxy then takes the
   * host's cookie (not the hub's session, which never reaches those hosts) and sends a browser
   * without one to the hub to hand its login over.
   */
  constructor(
    private readonly hub: Hub,
    private readonly compute: Compute,
    private readonly userOrigin: UserOrigin | null = null,
  ) {
    // Activity is batched: one UPDATE every few seconds instead of one per request.
    this.flusher = setInterval(() => void this.flushActivity(), 5000);
    this.flusher.unref();
  }

  static matches(url: string | undefined): boolean {
    return PREFIX.test(url ?? '');
  }

  /**
   * The caller, from a hub API token or else the session cookie (on a user's own host: that
   * host's cookie). JupyterLab may send its own server's token in Authorization; that is not a
   * hub credential and is ignored here (the proxy replaces it upstream anyway).
   */
  private async principalOf(req: http.IncomingMessage): Promise<Principal | null> {
    const bearer = tokenFromHeader(req.headers.authorization);
    const token = isHubToken(bearer) ? bearer : undefined;
    if (!token && this.userOrigin) return this.hostCookiePrincipal(req);
    const credential = token ?? sessionCookieOf(req.headers.cookie);
    if (!credential) return null;
    // A browser sends many requests on one keep-alive connection with the same credential.
    const remembered = this.perConnection.get(req.socket);
    if (remembered && remembered.credential === credential && remembered.expires > Date.now())
      return remembered.principal;
    const principal = await this.lookup(
      credential,
      token,
      token ? {} : parseCookies(req.headers.cookie ?? ''),
    );
    this.perConnection.set(req.socket, { credential, principal, expires: Date.now() + 10_000 });
    return principal;
  }

  private async hostCookiePrincipal(req: http.IncomingMessage): Promise<Principal | null> {
    const cookie = req.headers.cookie?.includes(HOST_COOKIE)
      ? parseCookies(req.headers.cookie)[HOST_COOKIE]
      : undefined;
    const host = req.headers.host?.toLowerCase();
    if (!cookie || !host) return null;
    // The cookie is honoured on its own host only, so the cache key names both.
    const key = AuthCache.keyOf(`${host} ${cookie}`);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const principal = await hostPrincipal(this.hub, cookie, host);
    this.cache.set(key, principal);
    return principal;
  }

  private async lookup(
    credential: string,
    token: string | undefined,
    cookies: Record<string, string>,
  ): Promise<Principal | null> {
    const key = AuthCache.keyOf(credential);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const view = {
      cookies: token ? {} : cookies,
      get: (name: string) =>
        name.toLowerCase() === 'authorization' && token ? `token ${token}` : undefined,
    };
    const principal = await authenticate(this.hub, view as unknown as Request);
    this.cache.set(key, principal);
    return principal;
  }

  private async check(req: http.IncomingMessage): Promise<Verdict> {
    const match = PREFIX.exec(req.url ?? '');
    if (!match) return { ok: false, status: 404, error: 'not_found', message: 'Not a server path' };
    const principal = await this.principalOf(req);
    if (!principal)
      return {
        ok: false,
        status: 401,
        error: 'unauthorized',
        message: 'Sign in to reach this server',
        login: true,
      };
    if (!principal.scopes.has('access:servers')) {
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'This needs the "access:servers" scope',
      };
    }
    if (
      principal.oauth &&
      (principal.user.safeName !== match[1] ||
        principal.serverName !== this.routeFor(match[1]!, match[2])?.serverName)
    ) {
      // A token a jupyterhub-singleuser server was given for its user reaches that server only
      // (never a server shared with that user).
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'This token is for another server',
      };
    }
    if (principal.user.safeName !== match[1]) return this.checkShared(req, match, principal);
    if (req.method !== 'GET' && req.method !== 'HEAD' && crossOrigin(req)) {
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'Cross-origin request refused',
      };
    }
    const route = this.routeFor(match[1]!, match[2]);
    if (route && route.userId !== principal.user.id) {
      // The path's name is the caller's, but the server is another account's (one deleted
      // and registered again): the owner is the account, never the name.
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'This server belongs to another user',
      };
    }
    if (!route) {
      const named = match[2] && (await this.compute.hasServer(principal.user.id, match[2]));
      return {
        ok: false,
        status: 503,
        error: 'server_not_running',
        message: named
          ? `Your server "${match[2]}" is not running`
          : 'Your default server is not running',
        home: true,
      };
    }
    return { ok: true, route, principal };
  }

  /**
   * Someone else's server: open to those it is shared with (RACM `access` on its Server
   * resource) and to a platform admin who opened it as admin (adminAccess.ts), authenticated
   * as themselves; upstream it is reached with the server's secret, as for its owner. Asked on every request, never cached, so a share taken back refuses the
   * next request. A server not shared with the caller, running or not, is "another user's".
   */
  private async checkShared(
    req: http.IncomingMessage,
    match: RegExpExecArray,
    principal: Principal,
  ): Promise<Verdict> {
    const route = this.routeFor(match[1]!, match[2]);
    const shared =
      route &&
      (await mayOnServer(this.hub.db, principal.user.id, route.userId, route.serverName, 'access'));
    this.hub.events.emit('racmCheck', { outcome: shared ? 'allowed' : 'denied', via: 'proxy' });
    // An admin who opened the server as admin (recorded then), while that access lasts.
    const asAdmin =
      route &&
      !shared &&
      principal.user.admin &&
      (await adminMayAccess(this.hub.db, principal.user.id, route.serverId));
    if (!route || !(shared || asAdmin))
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: route
          ? 'This server belongs to another user'
          : 'This server belongs to another user, or is not running',
      };
    if (req.method !== 'GET' && req.method !== 'HEAD' && crossOrigin(req))
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'Cross-origin request refused',
      };
    // Only a share is checked again when access changes; an admin's access ends at expiry.
    return { ok: true, route, principal, shared: Boolean(shared) };
  }

  /**
   * Access to shared servers changed (a share taken back or left, a group membership gone):
   * close at once every WebSocket of someone who may no longer reach the server it goes to.
   */
  async recheckShared(): Promise<void> {
    this.accessGeneration++;
    await Promise.all([...this.sharedSockets].map((entry) => this.recheckSocket(entry)));
  }

  private async recheckSocket(entry: {
    userId: number;
    route: ProxyRoute;
    close: () => void;
  }): Promise<void> {
    // A failed check closes too: better a reconnect than access nobody can confirm.
    const still = await mayOnServer(
      this.hub.db,
      entry.userId,
      entry.route.userId,
      entry.route.serverName,
      'access',
    ).catch(() => false);
    if (still) return;
    this.hub.log.info(
      { user: entry.userId, server: entry.route.serverId },
      'share taken back: closing a WebSocket',
    );
    entry.close();
  }

  /**
   * JupyterHub's longest-prefix rule: `/user/<name>/<segment>/…` goes to the named server
   * `<segment>` when it has a route, else to the default server.
   */
  private routeFor(safeName: string, segment: string | undefined): ProxyRoute | undefined {
    const named = segment ? this.compute.routes.lookup(safeName, segment) : undefined;
    return named ?? this.compute.routes.lookup(safeName, '');
  }

  private upstreamOf(route: ProxyRoute): Upstream {
    let upstream = this.upstreams.get(route);
    if (!upstream) {
      const url = new URL(route.url);
      upstream = { host: url.hostname, port: Number(url.port || 80), hostHeader: url.host };
      this.upstreams.set(route, upstream);
    }
    return upstream;
  }

  private upstreamHeaders(
    req: http.IncomingMessage,
    route: ProxyRoute,
    target: Upstream,
    upgrade: boolean,
  ): string[] {
    return upstreamHeaderList(
      req.rawHeaders,
      route.authorization ?? hubTokenHeader(req),
      req.socket.remoteAddress,
      upgrade,
      target.hostHeader,
    );
  }

  /** Express-compatible handler for /user/… HTTP requests. */
  handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    // `/user/<name>` is the default server's root: with the slash, as JupyterHub redirects.
    const bare = BARE_USER_PATH.exec(req.url ?? '');
    if (bare && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(302, { location: `${bare[1]}/${bare[2] ?? ''}` }).end();
      return;
    }
    const verdict = await this.check(req).catch((err) => {
      this.hub.log.error({ err: String(err) }, 'proxy auth failed');
      return {
        ok: false as const,
        status: 503,
        error: 'unavailable',
        message: 'The hub cannot check your credentials right now',
      };
    });
    if (!verdict.ok) return this.refuse(req, res, verdict);
    const { route } = verdict;
    this.touched.add(route.serverId);
    const target = this.upstreamOf(route);
    const upstream = http.request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: this.upstreamHeaders(req, route, target, false),
      agent: this.agent,
    });
    upstream.on('response', (answer) => {
      // The raw list goes out as it came (case, order, repeated Set-Cookie), minus hop-by-hop.
      res.writeHead(
        answer.statusCode ?? 502,
        responseHeaderList(answer.rawHeaders, this.hub.config.userServerCors),
      );
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      this.hub.log.warn({ server: route.serverId, err: err.message }, 'upstream error');
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad_gateway', message: 'Your server did not answer' }));
      } else res.destroy();
    });
    // The client went away before the answer was through: drop the upstream exchange too
    // (its connection cannot be reused half-read).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    // A request without a body (every GET) has been read completely by now: end it at once
    // instead of piping an empty stream.
    if (req.complete && req.readableLength === 0) upstream.end();
    else req.pipe(upstream);
  };

  private refuse(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    verdict: Extract<Verdict, { ok: false }>,
  ): void {
    const wantsHtml = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    if (wantsHtml && verdict.login) {
      // On a user's host, the hub hands its login over; on the hub's, it signs in.
      if (this.userOrigin) {
        const { location, setCookie } = startHandoff(this.userOrigin, req.url ?? '/');
        res.writeHead(302, { location, 'set-cookie': setCookie }).end();
      } else {
        const location = `/hub/login?next=${encodeURIComponent(req.url ?? '/')}`;
        res.writeHead(302, { location }).end();
      }
      return;
    }
    if (wantsHtml && verdict.home) {
      res.writeHead(302, { location: `${this.userOrigin?.hubOrigin ?? ''}/hub/home` }).end();
      return;
    }
    res.writeHead(verdict.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: verdict.error, message: verdict.message }));
  }

  /** The server's 'upgrade' handler: authenticate first, then splice the two sockets. */
  handleUpgrade = async (
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> => {
    socket.on('error', () => socket.destroy());
    const generation = this.accessGeneration;
    let verdict: Verdict;
    try {
      verdict = await this.check(req);
      if (verdict.ok && crossOrigin(req)) {
        verdict = {
          ok: false,
          status: 403,
          error: 'forbidden',
          message: 'Cross-origin WebSocket refused',
        };
      }
    } catch {
      verdict = { ok: false, status: 503, error: 'unavailable', message: 'unavailable' };
    }
    if (!verdict.ok) {
      socket.end(
        `HTTP/1.1 ${verdict.status} ${http.STATUS_CODES[verdict.status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    // Each WebSocket holds two sockets and an upstream connection: a user holds only so many.
    const release = this.hub.limits.webSocketsPerUser.acquire(`user:${verdict.principal.user.id}`);
    if (!release) {
      socket.end(
        'HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    socket.on('close', release);
    const { route } = verdict;
    this.touched.add(route.serverId);
    const target = this.upstreamOf(route);
    const upstream = net.connect({ host: target.host, port: target.port });
    // Kernel messages are small and latency-bound: never let Nagle hold them back.
    upstream.setNoDelay(true);
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    upstream.on('connect', () => {
      const headers = this.upstreamHeaders(req, route, target, true);
      let request = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) request += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${request}\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', close);
    upstream.on('close', close);
    socket.on('close', close);
    if (verdict.shared) {
      const entry = { userId: verdict.principal.user.id, route, close };
      this.sharedSockets.add(entry);
      socket.on('close', () => this.sharedSockets.delete(entry));
      // Access changed between the check and now: the recheck may have missed this one.
      if (generation !== this.accessGeneration) void this.recheckSocket(entry);
    }
    const activity = setInterval(() => this.touched.add(route.serverId), 60_000);
    activity.unref();
    socket.on('close', () => clearInterval(activity));
  };

  private async flushActivity(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched.clear();
    await touchServers(this.hub.db, ids).catch((err) =>
      this.hub.log.warn({ err: String(err) }, 'activity flush failed'),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.flusher);
    await this.flushActivity();
    this.agent.destroy();
  }
}
