/**
 * The login hand-off to a user's own host (ORRERY_USER_ORIGIN), as JupyterHub does with
 * `subdomain_host`: the hub's session cookie never leaves the hub's host.
 *  1. alice's host, without its cookie, gives the browser a random state (a cookie for the
 *     callback's path) and sends it to the hub's `/hub/user-login?next=…&state=…`;
 *  2. the hub, seeing alice's session, issues a one-use code for alice's host and that state
 *     only, and sends the browser to `<alice's host>/hub/user-login/callback?code=…`;
 *  3. alice's host trades the code (with the state cookie) for its own cookie and goes on to
 *     `next` (a path on it).
 * The state keeps anyone from handing their own code to someone else's browser (a login
 * planted on the attacker's host, as OAuth's `state` does).
 */
import type http from 'node:http';
import express from 'express';
import { findUserById } from '../accounts/store.ts';
import { HttpError } from '../http/errors.ts';
import { safeNext } from '../http/redirect.ts';
import type { Hub } from '../hub.ts';
import { authenticate } from './authenticate.ts';
import { parseCookieHeader } from './cookies.ts';
import type { Principal } from './principal.ts';
import { effectiveScopes } from './scopes.ts';
import { newSecret } from './secrets.ts';
import { SESSION_COOKIE } from './sessions.ts';
import { hostSessionUser, issueCode, redeemCode } from './userHostSessions.ts';
import {
  HANDOFF_CALLBACK,
  HANDOFF_START,
  HOST_COOKIE,
  type HostDecision,
  ownerOfPath,
  STATE_COOKIE,
  type UserOrigin,
} from './userOrigin.ts';

/** How long a browser may take to sign in at the hub and come back. */
const STATE_SECONDS = 600;
const STATE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Step 1, on a user's host: where to send a browser without the host's cookie, and the state
 * cookie to give it.
 */
export function startHandoff(
  origin: UserOrigin,
  path: string,
): { location: string; setCookie: string } {
  const state = newSecret();
  const next = encodeURIComponent(path);
  return {
    location: `${origin.hubOrigin}${HANDOFF_START}?next=${next}&state=${state}`,
    setCookie: `${STATE_COOKIE}=${state}; Path=${HANDOFF_CALLBACK}; Max-Age=${STATE_SECONDS}; HttpOnly; SameSite=Lax${secureFlag(origin)}`,
  };
}

const secureFlag = (origin: UserOrigin) => (origin.protocol === 'https:' ? '; Secure' : '');

/** The hub's side: `/hub/user-login?next=/user/<caller>/…` issues a code for the caller's host. */
export function handoffRoutes(hub: Hub, origin: UserOrigin): express.Router {
  const router = express.Router();
  router.get(HANDOFF_START, async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const caller = await authenticate(hub, req);
    const session: unknown = req.cookies?.[SESSION_COOKIE];
    if (caller?.via !== 'session' || typeof session !== 'string') {
      res.redirect(303, `/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    const next = safeNext(req.query.next, '');
    const owner = ownerOfPath(next);
    if (owner === undefined) throw new HttpError(400, 'next must be a path of one of your servers');
    const state = req.query.state;
    if (typeof state !== 'string' || !STATE.test(state))
      throw new HttpError(400, 'Open your server from its own address to sign in to it');
    // Only ever a code for the caller's own host: an admin's login never reaches bob's host.
    if (owner !== caller.user.safeName)
      throw new HttpError(403, 'This server belongs to another user');
    const host = origin.hostFor(owner);
    const code = await issueCode(hub.db, session, caller.user.id, { host, next, state });
    if (!code) throw new HttpError(401, 'Sign in again');
    res.redirect(303, `${origin.originFor(owner)}${HANDOFF_CALLBACK}?code=${code}`);
  });
  return router;
}

/** Answer a request that is neither the hub's nor the proxy's: the callback, a redirect, a refusal. */
export async function answerByHost(
  hub: Hub,
  origin: UserOrigin,
  decision: Exclude<HostDecision, { kind: 'hub' | 'proxy' }>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  if (decision.kind === 'redirect') {
    res.writeHead(302, { location: decision.location }).end();
    return;
  }
  if (decision.kind === 'refuse') {
    writeJson(res, decision.status, { error: decision.error, message: decision.message });
    return;
  }
  try {
    await handleCallback(hub, origin, decision.owner, req, res);
  } catch (err) {
    hub.log.error({ err: String(err) }, 'login hand-off failed');
    if (!res.headersSent)
      writeJson(res, 503, {
        error: 'unavailable',
        message: 'The hub cannot sign you in right now',
      });
  }
}

function writeJson(
  res: http.ServerResponse,
  status: number,
  body: { error: string; message: string },
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The user host's side: trade `?code=` for this host's cookie and go on to `next`. */
async function handleCallback(
  hub: Hub,
  origin: UserOrigin,
  owner: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  // The code is in this URL: keep it out of caches and of the next page's Referer.
  const headers = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };
  const code = new URL(req.url ?? '/', 'http://host.invalid').searchParams.get('code');
  const state = parseCookieHeader(req.headers.cookie)[STATE_COOKIE];
  const redeemed =
    req.method === 'GET' && code && state
      ? await redeemCode(hub.db, code, origin.hostFor(owner), state)
      : undefined;
  if (!redeemed) {
    writeJson(
      res,
      400,
      {
        error: 'bad_request',
        message:
          'This sign-in link was used already, has expired, or is for another host or browser',
      },
      headers,
    );
    return;
  }
  const secure = secureFlag(origin);
  res.writeHead(303, {
    ...headers,
    'set-cookie': [
      `${HOST_COOKIE}=${redeemed.cookie}; Path=/; Max-Age=${redeemed.seconds}; HttpOnly; SameSite=Lax${secure}`,
      `${STATE_COOKIE}=; Path=${HANDOFF_CALLBACK}; Max-Age=0; HttpOnly; SameSite=Lax${secure}`,
    ],
    location: redeemed.next,
  });
  res.end();
}

/** Who a host cookie signs in on `host`: only ever access to that user's own servers. */
export async function hostPrincipal(
  hub: Hub,
  cookie: string,
  host: string,
): Promise<Principal | null> {
  const userId = await hostSessionUser(hub.db, cookie, host);
  if (userId === undefined) return null;
  const user = await findUserById(hub.db, userId);
  if (!user?.approved) return null;
  return { user, scopes: effectiveScopes(['access:servers'], user.admin), via: 'session' };
}
