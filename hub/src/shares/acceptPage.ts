/**
 * The page a share code's accept_url opens: signed in, the user sees whose server the code
 * shares and with what, and accepts with a POST (the XSRF middleware checks its token), as
 * JupyterHub's /hub/accept-share. Accepted, they go to the server, or home when it is stopped.
 */
import express from 'express';
import { authenticate } from '../auth/authenticate.ts';
import type { Hub } from '../hub.ts';
import { html } from '../pages/html.ts';
import { sendPage } from '../pages/layout.ts';
import { buildPageRouter, loginUrl, type PageDef } from '../pages/page.ts';
import type { SharesService } from './service.ts';
import { serverFullName } from './store.ts';

const codeOf = (value: unknown) =>
  typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;

function acceptSharePage(shares: SharesService): PageDef {
  return {
    path: '/hub/accept-share',
    access: 'user',
    async render({ req }) {
      const code = codeOf(req.query.code);
      const found = code ? await shares.peek(code).catch(() => undefined) : undefined;
      if (!code || !found)
        return {
          title: 'Share code',
          body: html`<div class="card"><h1>This share code does not work</h1>
            <div class="error" role="alert">It does not exist, was revoked or has expired. Ask for a new one.</div>
            <a class="button" href="/hub/home">Home</a></div>`,
        };
      const full = serverFullName(found.owner, found.server);
      const what = found.actions.includes('manage')
        ? 'use it, and start and stop it'
        : 'use it while it runs';
      return {
        title: 'Accept a shared server',
        script: 'forms',
        body: html`<div class="card"><h1>Accept a shared server</h1>
          <p><strong>${found.owner}</strong> shares the server <strong id="shared-server">${full}</strong> with you: you may ${what}.</p>
          <p class="muted">Whoever uses a server acts as its owner inside it (files, kernels, their tokens). The code expires ${found.expiresAt.toISOString()}.</p>
          <form method="post" action="/hub/accept-share"><input type="hidden" name="_xsrf"><input type="hidden" name="code" value="${code}">
          <button type="submit" id="accept">Accept</button> <a class="button secondary" href="/hub/home">Not now</a></form></div>`,
      };
    },
  };
}

export function acceptShareRoutes(hub: Hub, shares: SharesService): express.Router {
  const router = express.Router();
  router.use(buildPageRouter(hub, [acceptSharePage(shares)]));
  router.post('/hub/accept-share', async (req, res, next) => {
    try {
      const caller = await authenticate(hub, req);
      const code = codeOf(req.body?.code);
      if (!caller) {
        res.redirect(303, loginUrl(`/hub/accept-share?code=${encodeURIComponent(code ?? '')}`));
        return;
      }
      if (!code) {
        res.redirect(303, '/hub/accept-share');
        return;
      }
      const share = await shares
        .redeem({ user: caller.user, admin: false, address: req.ip ?? null }, code)
        .catch(() => undefined);
      if (!share) {
        await sendPage(
          res,
          {
            title: 'Share code',
            body: html`<div class="card"><h1>This share code does not work</h1>
              <div class="error" role="alert">It does not exist, was revoked, has expired, or shares your own server.</div>
              <a class="button" href="/hub/home">Home</a></div>`,
          },
          404,
        );
        return;
      }
      res.redirect(303, share.server.ready ? share.server.url : '/hub/home');
    } catch (err) {
      next(err);
    }
  });
  return router;
}
