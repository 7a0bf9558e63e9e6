/**
 * Pages as data, like the API's routes: each declares its path, who may see it and how it
 * renders; one router authenticates the caller exactly as the API does, sends strangers to
 * sign in, refuses non-admins an admin page, and sends every page with the same CSP.
 * A new page (an admin page included) is one declaration, a body and, if needed, a script.
 */
import express, { type Request } from 'express';
import { authenticate } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import type { Hub } from '../hub.ts';
import { html } from './html.ts';
import { type PageContent, sendPage } from './layout.ts';

interface Context<C> {
  hub: Hub;
  req: Request;
  caller: C;
}

export type PageDef =
  | {
      path: string;
      /** Shown to anyone, signed in or not. */
      access: 'anyone';
      render(context: Context<Principal | null>): PageContent | Promise<PageContent>;
    }
  | {
      path: string;
      /** `user`: any signed-in user; `admin`: platform admins only. */
      access: 'user' | 'admin';
      render(context: Context<Principal>): PageContent | Promise<PageContent>;
    };

export const loginUrl = (next: string) => `/hub/login?next=${encodeURIComponent(next)}`;

export function buildPageRouter(hub: Hub, pages: readonly PageDef[]): express.Router {
  const router = express.Router();
  for (const def of pages) {
    router.get(def.path, async (req, res) => {
      const caller = await authenticate(hub, req);
      if (def.access === 'anyone') {
        await sendPage(res, await def.render({ hub, req, caller }));
        return;
      }
      if (!caller) {
        res.redirect(303, loginUrl(req.originalUrl));
        return;
      }
      if (def.access === 'admin' && !caller.user.admin) {
        await sendPage(
          res,
          {
            title: 'Not allowed',
            body: html`<div class="card"><h1>Not allowed</h1>
              <div class="error" role="alert">This page is for platform administrators.</div>
              <a class="button" href="/hub/home">Home</a></div>`,
          },
          403,
        );
        return;
      }
      await sendPage(res, await def.render({ hub, req, caller }));
    });
  }
  return router;
}
