/**
 * XSRF protection for cookie-authenticated state changes (requests without an API token):
 *  - the `_xsrf` cookie (readable by the hub's pages, Path=/hub/ so pages under /user/ do not
 *    see it) must be echoed in an `X-XSRFToken` header or an `_xsrf` form field;
 *  - its value is bound to the session: `<nonce>.<HMAC(session cookie, nonce)>`, so a cookie
 *    planted by another page or a sibling host ("cookie tossing") does not pass, since whoever
 *    plants it does not know the HttpOnly session cookie;
 *  - the browser's own account of where the request comes from must name a hub page
 *    (requestSource.ts).
 * Without a session the value is bound to nothing: a plain double-submit token.
 */
import { createHmac } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from '../http/errors.ts';
import { tokenFromHeader } from './authenticate.ts';
import { refusedSource } from './requestSource.ts';
import { newSecret, sameSecret } from './secrets.ts';
import { SESSION_COOKIE } from './sessions.ts';

export const XSRF_COOKIE = '_xsrf';
export const XSRF_HEADER = 'X-XSRFToken';
export const XSRF_COOKIE_PATH = '/hub/';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const OAUTH_TOKEN_PATH = '/hub/api/oauth2/token';

const macOf = (session: string, nonce: string) =>
  createHmac('sha256', session).update(nonce).digest('base64url');

/** A new XSRF token for the session whose cookie value is `session` ('' for none). */
export function newXsrfToken(session: string): string {
  const nonce = newSecret();
  return `${nonce}.${macOf(session, nonce)}`;
}

/** Whether `token` was made for the session whose cookie value is `session`. */
export function xsrfTokenFits(token: string, session: string): boolean {
  const dot = token.indexOf('.');
  if (dot < 16) return false;
  return sameSecret(token.slice(dot + 1), macOf(session, token.slice(0, dot)));
}

/** Set a fresh `_xsrf` cookie for a session (at login, so the new session's pages can post). */
export function setXsrfCookie(res: Response, secure: boolean, session: string): string {
  const token = newXsrfToken(session);
  res.cookie(XSRF_COOKIE, token, { sameSite: 'lax', secure, path: XSRF_COOKIE_PATH });
  return token;
}

const sessionOf = (req: Request): string => {
  const cookie: unknown = req.cookies?.[SESSION_COOKIE];
  return typeof cookie === 'string' ? cookie : '';
};

export function xsrf(secureCookies: boolean): RequestHandler {
  return (req, res, next) => {
    // A request with an API token is no page's: it is never checked (a browser does not add
    // the header by itself), and it gets no cookie, whose HMAC every API call would pay for.
    if (tokenFromHeader(req.get('authorization'))) return next();
    const session = sessionOf(req);
    const cookie: unknown = req.cookies?.[XSRF_COOKIE];
    // A request whose cookie is missing or made for another session cannot have echoed a
    // valid token: it gets one for the next request, and an unsafe one is refused.
    const fits = typeof cookie === 'string' && xsrfTokenFits(cookie, session);
    // Only where the cookie is sent: a request for /favicon.ico arrives without it, and
    // answering it with a new one would replace the cookie the hub's page has just read.
    if (!fits && req.path.startsWith(XSRF_COOKIE_PATH))
      setXsrfCookie(res, secureCookies || req.secure, session);
    if (SAFE_METHODS.has(req.method)) return next();
    // The OAuth token endpoint is called by servers, never by a browser's page: the client's
    // secret in the body is its proof, and no cookie counts there.
    if (req.method === 'POST' && req.path === OAUTH_TOKEN_PATH) return next();
    const refused = refusedSource({
      host: req.get('host'),
      secFetchSite: req.get('sec-fetch-site'),
      origin: req.get('origin'),
      referer: req.get('referer'),
    });
    if (refused) return next(new HttpError(403, `Refused a change to the hub: ${refused}`));
    const sent =
      req.get(XSRF_HEADER) ?? (req.body as Record<string, unknown> | undefined)?.[XSRF_COOKIE];
    if (!fits || typeof sent !== 'string' || !sameSecret(sent, cookie as string)) {
      return next(
        new HttpError(
          403,
          `XSRF check failed: send the ${XSRF_COOKIE} cookie's value in the ${XSRF_HEADER} header`,
        ),
      );
    }
    next();
  };
}
