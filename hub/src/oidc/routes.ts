/**
 * Single sign-on with an external OpenID Connect provider:
 *   GET /hub/oauth/login?next=...  remembers a new sign-in and sends the browser to the provider;
 *   GET /hub/oauth/callback        checks the provider's answer, finds or creates the account,
 *                                  starts a session and goes to `next` (on the hub only).
 * Refusals are HttpErrors: a page for browsers, `{error, message}` JSON for everyone else.
 */
import express, { type ErrorRequestHandler, type Request } from 'express';
import { startSession } from '../accounts/routes.ts';
import { recordFor } from '../activity/record.ts';
import { sameSecret } from '../auth/secrets.ts';
import type { OidcConfig } from '../config.ts';
import { HttpError } from '../http/errors.ts';
import { RateLimiter } from '../http/rateLimit.ts';
import { safeNext } from '../http/redirect.ts';
import type { Hub } from '../hub.ts';
import { clip } from '../log.ts';
import { html } from '../pages/html.ts';
import { sendPage } from '../pages/layout.ts';
import { OidcClient } from './client.ts';
import { accountFor } from './link.ts';
import { PendingLogins } from './pending.ts';

export const OIDC_LOGIN_PATH = '/hub/oauth/login';
export const OIDC_CALLBACK_PATH = '/hub/oauth/callback';
/** HttpOnly cookie holding the key of the sign-in in progress. */
export const OIDC_COOKIE = 'orrery-oidc';
const COOKIE_PATH = '/hub/oauth/';
/** Time a user has at the provider before the sign-in must be started again. */
const PENDING_SECONDS = 10 * 60;
const PENDING_CAPACITY = 10_000;

export function oidcRoutes(hub: Hub, settings: OidcConfig): express.Router {
  const client = new OidcClient(settings, `${hub.config.publicUrl}${OIDC_CALLBACK_PATH}`);
  const pending = new PendingLogins(PENDING_SECONDS * 1000, PENDING_CAPACITY);
  // Each start holds memory until it expires, so starts are limited per address like password logins.
  const starts = new RateLimiter(
    hub.config.loginAttemptsPerAddress,
    hub.config.loginWindowSeconds * 1000,
  );
  const cookieOptions = {
    httpOnly: true,
    // The provider sends the browser back with a top-level GET, which carries lax cookies.
    sameSite: 'lax' as const,
    secure: hub.config.secureCookies,
    path: COOKIE_PATH,
  };

  const router = express.Router();

  router.get(OIDC_LOGIN_PATH, async (req, res) => {
    starts.check(`addr:${req.ip}`, 'Too many sign-in attempts from your address');
    const { login, url } = await client.start(safeNext(req.query.next));
    const key = pending.put(login);
    res.cookie(OIDC_COOKIE, key, { ...cookieOptions, maxAge: PENDING_SECONDS * 1000 });
    res.set('Cache-Control', 'no-store');
    res.redirect(303, url.href);
  });

  router.get(OIDC_CALLBACK_PATH, async (req, res) => {
    const key: unknown = req.cookies?.[OIDC_COOKIE];
    const login = typeof key === 'string' ? pending.take(key) : undefined;
    res.clearCookie(OIDC_COOKIE, cookieOptions);
    res.set('Cache-Control', 'no-store');
    const { error, state } = req.query;
    if (error !== undefined) {
      throw error === 'access_denied'
        ? new HttpError(403, `You did not allow ${settings.name} to sign you in`)
        : new HttpError(400, `${settings.name} could not sign you in (${clip(error, 60)})`);
    }
    if (!login) {
      throw new HttpError(
        400,
        'This sign-in has expired or was already used; start again from the sign-in page',
      );
    }
    if (typeof state !== 'string' || !sameSecret(state, login.state)) {
      throw new HttpError(
        400,
        'The answer from the provider does not belong to the sign-in you started; start again from the sign-in page',
        { logMessage: 'OIDC callback state mismatch' },
      );
    }
    const signedIn = await client.finish(callbackUrl(client.redirectUri, req), login);
    const { user } = await accountFor(hub, req, {
      provider: settings.name,
      subject: signedIn.subject,
      profile: signedIn.profile,
    });
    if (!user.approved) {
      throw new HttpError(403, 'Your account is waiting for an administrator’s approval');
    }
    await recordFor(hub.db, req, {
      type: 'user.login',
      userId: user.id,
      payload: { method: 'oidc', provider: settings.name },
    });
    await startSession(hub, req, res, user);
    res.redirect(303, safeNext(login.next));
  });

  router.use(refusalPage(hub));
  return router;
}

/** The URL the provider sent the browser to, on the hub's public origin (openid-client checks it). */
function callbackUrl(redirectUri: string, req: Request): URL {
  const url = new URL(redirectUri);
  url.search = new URL(req.originalUrl, 'http://hub.invalid').search;
  return url;
}

/** Browsers get a readable page with a way back; API clients fall through to the JSON error writer. */
function refusalPage(hub: Hub): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (!(err instanceof HttpError) || res.headersSent || req.accepts(['json', 'html']) !== 'html')
      return next(err);
    const fields = {
      method: req.method,
      path: clip(req.path, 120),
      status: err.status,
      reason: err.reason,
      detail: clip(err.logMessage ?? err.message, 300),
    };
    if (err.status >= 500) hub.log.warn(fields, 'single sign-on unavailable');
    else hub.log.info(fields, 'request refused');
    res.set(err.headers);
    sendPage(
      res,
      {
        title: 'Sign-in failed',
        body: html`<div class="card"><h1>Sign-in failed</h1>
          <div class="error" role="alert">${err.message}</div>
          <a class="button" href="/hub/login">Back to sign in</a></div>`,
      },
      err.status,
    ).catch(next);
  };
}
