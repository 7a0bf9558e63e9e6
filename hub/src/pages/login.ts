/** The sign-in page: password form (a plain POST with the XSRF field) and single sign-on. */
import express from 'express';
import { checkLogin, startSession } from '../accounts/routes.ts';
import { HttpError } from '../http/errors.ts';
import { safeNext } from '../http/redirect.ts';
import type { Hub } from '../hub.ts';
import { html } from './html.ts';
import { type PageContent, sendPage } from './layout.ts';
import type { PageDef } from './page.ts';

function loginContent(hub: Hub, next: string, error?: string): PageContent {
  const action = `/hub/login?next=${encodeURIComponent(next)}`;
  const sso =
    hub.config.oidc &&
    html`<p class="muted">or</p><a class="button secondary" href="/hub/oauth/login?next=${encodeURIComponent(next)}">Sign in with ${hub.config.oidc.name}</a>`;
  return {
    title: 'Sign in',
    // The _xsrf cookie may be new on this very response: client/forms.ts fills the field.
    script: 'forms',
    body: html`<div class="card"><h1>Sign in to Orrery</h1>
    ${error && html`<div class="error" role="alert">${error}</div>`}
    <form method="post" action="${action}">
      <input type="hidden" name="_xsrf">
      <label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>${sso}
    <p class="muted">No account? <a href="/hub/signup">Register</a></p></div>`,
  };
}

export const loginPage: PageDef = {
  path: '/hub/login',
  access: 'anyone',
  render: ({ hub, req }) => loginContent(hub, safeNext(req.query.next)),
};

export function loginRoute(hub: Hub): express.Router {
  const router = express.Router();
  router.post('/hub/login', async (req, res) => {
    const next = safeNext(req.query.next ?? req.body?.next);
    const { username, password } = (req.body ?? {}) as Record<string, unknown>;
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      username.length > 64 ||
      password.length > 256
    ) {
      await sendPage(res, loginContent(hub, next, 'Enter a username and a password'), 400);
      return;
    }
    try {
      const user = await checkLogin(hub, req, username, password);
      await startSession(hub, req, res, user);
      res.redirect(303, next);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      res.set(err.headers);
      await sendPage(res, loginContent(hub, next, err.message), err.status);
    }
  });
  return router;
}
