/**
 * Signing out is a POST with the XSRF token, so no other site can sign a user out with a link
 * or an image. GET /hub/logout (JupyterLab's "Log Out" menu goes there) shows the button.
 */
import express from 'express';
import { deleteSession, SESSION_COOKIE } from '../auth/sessions.ts';
import type { Hub } from '../hub.ts';
import { html } from './html.ts';
import type { PageDef } from './page.ts';

/** A button that signs out; client/forms.ts fills in the token. */
export const signOutForm = (label: string) =>
  html`<form class="inline" method="post" action="/hub/logout"><input type="hidden" name="_xsrf"><button type="submit">${label}</button></form>`;

export const logoutPage: PageDef = {
  path: '/hub/logout',
  access: 'anyone',
  render: ({ caller }) => ({
    title: 'Sign out',
    script: 'forms',
    body: caller
      ? html`<div class="card"><h1>Sign out of Orrery?</h1>
        <p class="muted">Signed in as <strong>${caller.user.name}</strong>. Your servers keep running.</p>
        <form method="post" action="/hub/logout"><input type="hidden" name="_xsrf"><button type="submit">Sign out</button></form></div>`
      : html`<div class="card"><h1>You are signed out</h1><a class="button" href="/hub/login">Sign in</a></div>`,
  }),
};

/** POST /hub/logout: the XSRF middleware has checked the token before this runs. */
export function signOutRoute(hub: Hub): express.Router {
  const router = express.Router();
  router.post('/hub/logout', async (req, res) => {
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (typeof cookie === 'string') await deleteSession(hub.db, cookie);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/hub/login');
  });
  return router;
}
