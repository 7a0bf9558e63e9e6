/**
 * The admin pages' buttons: plain form POSTs (the XSRF middleware has checked their token
 * before these run) that call the same services as the API: account flags (accounts/flags.ts),
 * account deletion (accounts/removal.ts), compute's stop and "open as admin"
 * (proxy/adminAccess.ts). Each answers with a redirect back to its page, saying what was done,
 * or with a page saying why not.
 */
import express, { type Request, type Response } from 'express';
import { type AccountFlags, updateAccountFlags } from '../accounts/flags.ts';
import { deleteAccount } from '../accounts/removal.ts';
import { authenticate } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';
import type { Compute } from '../compute/orchestrator.ts';
import { findServerOfOwner } from '../compute/store.ts';
import { Forbidden, NotFound } from '../errors.ts';
import { toHttpError } from '../http/errors.ts';
import type { Hub } from '../hub.ts';
import { html } from '../pages/html.ts';
import { sendPage } from '../pages/layout.ts';
import { loginUrl } from '../pages/page.ts';
import { openAsAdmin } from '../proxy/adminAccess.ts';
import { segment } from './layout.ts';

/** The flag each user action sets, and what the page then says. */
const FLAG_ACTIONS: Record<string, { flags: AccountFlags; done: string }> = {
  approve: { flags: { approved: true }, done: 'approved' },
  disable: { flags: { approved: false }, done: 'disabled' },
  'make-admin': { flags: { admin: true }, done: 'made_admin' },
  'unmake-admin': { flags: { admin: false }, done: 'unmade_admin' },
};

const back = (page: string, done: string, name: string) =>
  `/hub/admin/${page}?done=${done}&name=${segment(name)}`;

type Handler = (req: Request, res: Response, caller: Principal) => Promise<void>;

/**
 * Signed-in platform admins holding `scope` only; a refusal (theirs or the service's) is a
 * page saying why, with a way back to `page`.
 */
function asAdmin(hub: Hub, scope: Scope, page: string, handler: Handler): express.RequestHandler {
  return async (req, res) => {
    const caller = await authenticate(hub, req);
    if (!caller) {
      res.redirect(303, loginUrl(`/hub/admin/${page}`));
      return;
    }
    try {
      if (!caller.user.admin || !caller.scopes.has(scope))
        throw new Forbidden('not_admin', 'This page is for platform administrators.');
      await handler(req, res, caller);
    } catch (err) {
      const refusal = toHttpError(err);
      if (!refusal) throw err;
      await sendPage(
        res,
        {
          title: 'Not done',
          body: html`<div class="card"><h1>Not done</h1>
            <div class="error" role="alert">${refusal.message}</div>
            <a class="button" href="/hub/admin/${page}">Back</a></div>`,
        },
        refusal.status,
      );
    }
  };
}

/** "" for the default server's paths (`…/server/…`), else the named server's. */
const serverNameOf = (req: Request) => (req.params.server as string | undefined) ?? '';
const fullName = (owner: string, server: string) => `${owner}/${server}`;

export function adminActions(hub: Hub, compute: Compute | null): express.Router {
  const router = express.Router();
  router.post(
    '/hub/admin/users/:name/:action',
    asAdmin(hub, 'admin:users', 'users', async (req, res, caller) => {
      const name = String(req.params.name);
      const action = String(req.params.action);
      if (action === 'delete') {
        await deleteAccount(hub, req, name, caller.user.id);
        res.redirect(303, back('users', 'deleted', name));
        return;
      }
      const known = FLAG_ACTIONS[action];
      if (!known) throw new NotFound('action', `No action "${action}"`);
      await updateAccountFlags(hub, req, caller.user.id, name, known.flags);
      const page = req.body?.back === 'registrations' ? 'registrations' : 'users';
      res.redirect(303, back(page, known.done, name));
    }),
  );
  const serverAction: Handler = async (req, res, caller) => {
    if (!compute) throw new NotFound('compute', 'This hub runs no compute');
    const owner = String(req.params.name);
    const name = serverNameOf(req);
    if (req.params.action === 'open') {
      const { url } = await openAsAdmin(hub, req, caller.user, owner, name);
      res.redirect(303, `${url}lab`);
      return;
    }
    if (req.params.action !== 'stop')
      throw new NotFound('action', `No action "${req.params.action}"`);
    const server = await findServerOfOwner(hub.db, owner, name);
    if (!server) throw new NotFound('server', `${owner} has no server "${name}"`);
    await compute.stop(server, 'admin');
    res.redirect(303, back('servers', 'stopped', fullName(owner, name)));
  };
  router.post(
    '/hub/admin/servers/:name/server/:action',
    asAdmin(hub, 'admin:servers', 'servers', serverAction),
  );
  router.post(
    '/hub/admin/servers/:name/servers/:server/:action',
    asAdmin(hub, 'admin:servers', 'servers', serverAction),
  );
  return router;
}
