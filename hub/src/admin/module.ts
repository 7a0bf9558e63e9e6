/**
 * The admin pages (registrations, users, servers, images and domains, activity) as a feature
 * module: pages on the page layer (pages/page.ts, admins only), whose buttons POST to
 * actions.ts. Servers are listed and stopped when the hub is composed with compute.
 */
import express from 'express';
import { computeModule } from '../compute/module.ts';
import type { Compute } from '../compute/orchestrator.ts';
import type { FeatureModule } from '../module.ts';
import { buildPageRouter, type PageDef } from '../pages/page.ts';
import { adminActions } from './actions.ts';
import { activityPage } from './activity.ts';
import { computePage } from './compute.ts';
import { serversPage } from './servers.ts';
import { deleteUserPage, registrationsPage, usersPage } from './users.ts';

/** The admin pages of a hub with (or without) compute; tests walk them (CSP, no inline script). */
export function adminPages(compute: Compute | null): PageDef[] {
  return [
    registrationsPage,
    usersPage,
    deleteUserPage,
    serversPage(compute),
    computePage,
    activityPage,
  ];
}

export const adminModule: FeatureModule = {
  name: 'admin',
  routes: [],
  async open({ hub, use, has }) {
    const compute = has(computeModule) ? use(computeModule) : null;
    const router = express.Router();
    router.use(adminActions(hub, compute));
    router.use(buildPageRouter(hub, adminPages(compute)));
    router.get('/hub/admin', (_req, res) => res.redirect(302, '/hub/admin/users'));
    return { service: undefined, pages: router };
  },
};
