/**
 * XSRF protection, as JupyterHub does it: a random `_xsrf` cookie readable by
 * the page, echoed in an `X-XSRFToken` header (or an `_xsrf` form field) on
 * every state-changing request that does not carry an API token.
 */
import type { RequestHandler } from 'express';
import { HttpError } from '../http/errors.ts';
import { tokenFromHeader } from './authenticate.ts';
import { newSecret, sameSecret } from './secrets.ts';

export const XSRF_COOKIE = '_xsrf';
export const XSRF_HEADER = 'X-XSRFToken';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function xsrf(secureCookies: boolean): RequestHandler {
  return (req, res, next) => {
    let cookie: unknown = req.cookies?.[XSRF_COOKIE];
    if (typeof cookie !== 'string' || cookie.length < 16) {
      cookie = newSecret();
      res.cookie(XSRF_COOKIE, cookie, {
        sameSite: 'lax',
        secure: secureCookies || req.secure,
        path: '/',
      });
      // A request that arrived without the cookie cannot have echoed it.
      (req as { xsrfFresh?: boolean }).xsrfFresh = true;
    }
    if (SAFE_METHODS.has(req.method) || tokenFromHeader(req.get('authorization'))) return next();
    const sent =
      req.get(XSRF_HEADER) ?? (req.body as Record<string, unknown> | undefined)?.[XSRF_COOKIE];
    if (
      (req as { xsrfFresh?: boolean }).xsrfFresh ||
      typeof sent !== 'string' ||
      !sameSecret(sent, cookie as string)
    ) {
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
