/** Browser pages: login (password and single sign-on), logout, and the home page. */
import express, { type Request } from 'express';
import { checkLogin, startSession } from '../accounts/routes.ts';
import { authenticate } from '../auth/authenticate.ts';
import { deleteSession, SESSION_COOKIE } from '../auth/sessions.ts';
import { XSRF_COOKIE } from '../auth/xsrf.ts';
import { HttpError } from '../http/errors.ts';
import { safeNext } from '../http/redirect.ts';
import type { Hub } from '../hub.ts';
import { homePage } from './home.ts';
import { escapeHtml, page } from './layout.ts';
import { signupPage } from './signup.ts';

function loginForm(hub: Hub, req: Request, next: string, error?: string): string {
  // A first visit has no _xsrf cookie yet; the page's script fills the field from the new one.
  const xsrf = escapeHtml(String(req.cookies?.[XSRF_COOKIE] ?? ''));
  const sso = hub.config.oidc
    ? `<p class="muted">or</p><a class="button secondary" href="/hub/oauth/login?next=${encodeURIComponent(next)}">Sign in with ${escapeHtml(hub.config.oidc.name)}</a>`
    : '';
  return page(
    'Sign in',
    `<div class="card"><h1>Sign in to Orrery</h1>
    ${error ? `<div class="error" role="alert">${escapeHtml(error)}</div>` : ''}
    <form method="post" action="/hub/login?next=${encodeURIComponent(next)}">
      <input type="hidden" name="_xsrf" value="${xsrf}" data-xsrf>
      <label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>${sso}
    <p class="muted">No account? <a href="/hub/signup">Register</a></p></div>
    <script>/* the _xsrf cookie may be new on this response */
      const m = document.cookie.match(/(?:^|; )_xsrf=([^;]+)/); if (m) document.querySelector('[data-xsrf]').value = decodeURIComponent(m[1]);</script>`,
  );
}

export function pageRoutes(hub: Hub): express.Router {
  const router = express.Router();
  router.get('/hub/login', (req, res) => {
    res.type('html').send(loginForm(hub, req, safeNext(req.query.next)));
  });
  router.post('/hub/login', async (req, res) => {
    const next = safeNext(req.query.next ?? req.body?.next);
    const { username, password } = (req.body ?? {}) as Record<string, unknown>;
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      username.length > 64 ||
      password.length > 256
    ) {
      res
        .status(400)
        .type('html')
        .send(loginForm(hub, req, next, 'Enter a username and a password'));
      return;
    }
    try {
      const user = await checkLogin(hub, req, username, password);
      await startSession(hub, req, res, user);
      res.redirect(303, next);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      res
        .status(err.status)
        .set(err.headers)
        .type('html')
        .send(loginForm(hub, req, next, err.message));
    }
  });
  router.get('/hub/logout', async (req, res) => {
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (typeof cookie === 'string') await deleteSession(hub.db, cookie);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/hub/login');
  });
  router.get('/hub/home', async (req, res) => {
    const caller = await authenticate(hub, req);
    if (!caller) {
      res.redirect(303, `/hub/login?next=${encodeURIComponent('/hub/home')}`);
      return;
    }
    res.type('html').send(homePage(caller));
  });
  router.get('/hub/signup', (_req, res) => {
    res.type('html').send(signupPage(hub.config.requireApproval, hub.config.openRegistration));
  });
  router.get('/', (_req, res) => res.redirect(302, '/hub/home'));
  router.get('/hub', (_req, res) => res.redirect(302, '/hub/home'));
  router.get('/hub/', (_req, res) => res.redirect(302, '/hub/home'));
  return router;
}
