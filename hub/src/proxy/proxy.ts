/**
 * The authenticated reverse proxy for /user/<safe name>/<server>/…: HTTP and WebSocket.
 * Every request is authenticated and checked against the owner before any upstream
 * connection opens; the upstream Jupyter server accepts only requests that carry the
 * server's secret, which only the proxy adds. The hub's session cookie is not forwarded.
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
import type { Compute } from '../compute/orchestrator.ts';
import type { ProxyRoute } from '../compute/routeTable.ts';
import { touchServers } from '../compute/store.ts';
import type { Hub } from '../hub.ts';
import { AuthCache } from './authCache.ts';

const PREFIX = /^\/user\/([a-z0-9-]+)\/([a-z0-9][a-z0-9-]*)(\/|$)/;
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
];
const HOP_BY_HOP_SET = new Set(HOP_BY_HOP);

type Verdict =
  | { ok: true; route: ProxyRoute; principal: Principal }
  | { ok: false; status: number; error: string; message: string; login?: boolean; home?: boolean };

/** Remove the hub's session cookie: a user's server has no business holding it. */
function stripSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part && !part.startsWith(`${SESSION_COOKIE}=`));
  return kept.length ? kept.join('; ') : undefined;
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

export class ServerProxy {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly cache = new AuthCache();
  private readonly perConnection = new WeakMap<
    object,
    { credential: string; principal: Principal | null; expires: number }
  >();
  private readonly touched = new Set<number>();
  private readonly flusher: NodeJS.Timeout;

  constructor(
    private readonly hub: Hub,
    private readonly compute: Compute,
  ) {
    // Activity is batched: one UPDATE every few seconds instead of one per request.
    this.flusher = setInterval(() => void this.flushActivity(), 5000);
    this.flusher.unref();
  }

  static matches(url: string | undefined): boolean {
    return PREFIX.test(url ?? '');
  }

  /**
   * The caller, from a hub API token or else the session cookie. JupyterLab may send its own
   * server's token in Authorization; that is not a hub credential and is ignored here (the
   * proxy replaces it upstream anyway).
   */
  private async principalOf(req: http.IncomingMessage): Promise<Principal | null> {
    const cookies = parseCookies(req.headers.cookie ?? '');
    const bearer = tokenFromHeader(req.headers.authorization);
    const token = isHubToken(bearer) ? bearer : undefined;
    const credential = token ?? cookies[SESSION_COOKIE];
    if (!credential) return null;
    // A browser sends many requests on one keep-alive connection with the same credential.
    const remembered = this.perConnection.get(req.socket);
    if (remembered && remembered.credential === credential && remembered.expires > Date.now())
      return remembered.principal;
    const principal = await this.lookup(credential, token, cookies);
    this.perConnection.set(req.socket, { credential, principal, expires: Date.now() + 10_000 });
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
    if (principal.user.safeName !== match[1]) {
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'This server belongs to another user',
      };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && crossOrigin(req)) {
      return {
        ok: false,
        status: 403,
        error: 'forbidden',
        message: 'Cross-origin request refused',
      };
    }
    const route = this.compute.routes.lookup(match[1]!, match[2]!);
    if (!route) {
      return {
        ok: false,
        status: 503,
        error: 'server_not_running',
        message: `Your server "${match[2]}" is not running`,
        home: true,
      };
    }
    return { ok: true, route, principal };
  }

  /** Upstream headers in one pass: no hop-by-hop (except for upgrades), no hub cookie, the server's secret. */
  private upstreamHeaders(
    req: http.IncomingMessage,
    route: ProxyRoute,
    upgrade: boolean,
  ): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {};
    for (const name in req.headers) {
      if (name === 'cookie' || name === 'authorization' || (!upgrade && HOP_BY_HOP_SET.has(name)))
        continue;
      headers[name] = req.headers[name];
    }
    const cookie = stripSessionCookie(req.headers.cookie);
    if (cookie) headers.cookie = cookie;
    headers.authorization = route.authorization;
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    headers['x-forwarded-proto'] = 'http';
    return headers;
  }

  /** Express-compatible handler for /user/… HTTP requests. */
  handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
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
    const target = new URL(route.url);
    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: this.upstreamHeaders(req, route, false),
      agent: this.agent,
    });
    upstream.on('response', (answer) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const name in answer.headers)
        if (!HOP_BY_HOP_SET.has(name)) headers[name] = answer.headers[name];
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      this.hub.log.warn({ server: route.serverId, err: err.message }, 'upstream error');
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad_gateway', message: 'Your server did not answer' }));
      } else res.destroy();
    });
    req.on('aborted', () => upstream.destroy());
    req.pipe(upstream);
  };

  private refuse(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    verdict: Extract<Verdict, { ok: false }>,
  ): void {
    const wantsHtml = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    if (wantsHtml && verdict.login) {
      res
        .writeHead(302, { location: `/hub/login?next=${encodeURIComponent(req.url ?? '/')}` })
        .end();
      return;
    }
    if (wantsHtml && verdict.home) {
      res.writeHead(302, { location: '/hub/home' }).end();
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
    const { route } = verdict;
    this.touched.add(route.serverId);
    const target = new URL(route.url);
    const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
    // Kernel messages are small and latency-bound: never let Nagle hold them back.
    upstream.setNoDelay(true);
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    upstream.on('connect', () => {
      const headers = this.upstreamHeaders(req, route, true);
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [name, value] of Object.entries(headers)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
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
