/**
 * The login hand-off to a user's own host (ORRERY_USER_ORIGIN), as JupyterHub does with
 * `subdomain_host`: the hub's session cookie never leaves the hub's host.
 *  1. alice's host, without its cookie, sends the browser to the hub's `/hub/user-login?next=…`;
 *  2. the hub, seeing alice's session, issues a one-use code for alice's host only and sends
 *     the browser to `<alice's host>/hub/user-login/callback?code=…`;
 *  3. alice's host trades the code for its own cookie and goes on to `next` (a path on it).
 */
import type http from 'node:http';
import express from 'express';
import { findUserById } from '../accounts/store.ts';
import { HttpError } from '../http/errors.ts';
import { safeNext } from '../http/redirect.ts';
import type { Hub } from '../hub.ts';
import { authenticate } from './authenticate.ts';
import type { Principal } from './principal.ts';
import { effectiveScopes } from './scopes.ts';
import { SESSION_COOKIE } from './sessions.ts';
import { hostSessionUser, issueCode, redeemCode } from './userHostSessions.ts';
import {
  HANDOFF_CALLBACK,
  HANDOFF_START,
  HOST_COOKIE,
  type HostDecision,
  ownerOfPath,
  type UserOrigin,
} from './userOrigin.ts';

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
    // Only ever a code for the caller's own host: an admin's login never reaches bob's host.
    if (owner !== caller.user.safeName)
      throw new HttpError(403, 'This server belongs to another user');
    const host = origin.hostFor(owner);
    const code = await issueCode(hub.db, session, caller.user.id, host, next);
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
  const redeemed =
    req.method === 'GET' && code
      ? await redeemCode(hub.db, code, origin.hostFor(owner))
      : undefined;
  if (!redeemed) {
    writeJson(
      res,
      400,
      {
        error: 'bad_request',
        message: 'This sign-in link was used already, has expired, or is for another host',
      },
      headers,
    );
    return;
  }
  const secure = origin.protocol === 'https:' ? '; Secure' : '';
  res.writeHead(303, {
    ...headers,
    'set-cookie': `${HOST_COOKIE}=${redeemed.cookie}; Path=/; Max-Age=${redeemed.seconds}; HttpOnly; SameSite=Lax${secure}`,
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
