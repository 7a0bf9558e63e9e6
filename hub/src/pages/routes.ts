/** Browser pages: the page table, sign in and out, and the pages' static files. */
import express from 'express';
import type { Hub } from '../hub.ts';
import { pageAssets } from './assets.ts';
import { homePage } from './home.ts';
import { loginPage, loginRoute } from './login.ts';
import { buildPageRouter, type PageDef } from './page.ts';
import { logoutPage, signOutRoute } from './signOut.ts';
import { signupPage } from './signup.ts';

/** Every page the hub serves; tests walk this table (CSP, no inline script). */
export const pages: readonly PageDef[] = [loginPage, logoutPage, homePage, signupPage];

/** /hub/static/<name>: cached for a year when the URL names the current version, else revalidated. */
function staticRoutes(hub: Hub): express.Router {
  const router = express.Router();
  const send = async (name: string, req: express.Request, res: express.Response) => {
    const asset = (await pageAssets()).get(name);
    if (!asset) {
      res.status(404).type('text').send('Not found');
      return;
    }
    const current = req.query.v === asset.version;
    res
      .set('Cache-Control', current ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(asset.type)
      .send(asset.body);
  };
  router.get('/hub/static/:name', (req, res) => send(req.params.name, req, res));
  router.get('/favicon.ico', (req, res) => send('favicon.svg', req, res));
  // Fail at start, not at the first visitor, when the assets are missing or do not bundle.
  pageAssets().catch((err: unknown) => hub.log.error({ err }, 'page assets unavailable'));
  return router;
}

export function pageRoutes(hub: Hub): express.Router {
  const router = express.Router();
  router.use(staticRoutes(hub));
  router.use(loginRoute(hub));
  router.use(signOutRoute(hub));
  router.use(buildPageRouter(hub, pages));
  router.get('/', (_req, res) => res.redirect(302, '/hub/home'));
  router.get('/hub', (_req, res) => res.redirect(302, '/hub/home'));
  router.get('/hub/', (_req, res) => res.redirect(302, '/hub/home'));
  return router;
}
