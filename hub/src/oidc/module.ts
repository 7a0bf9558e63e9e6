/** Single sign-on as a feature module: its pages are mounted only when a provider is configured. */
import type { FeatureModule } from '../module.ts';
import { oidcRoutes } from './routes.ts';

export const oidcModule: FeatureModule = {
  name: 'oidc',
  routes: [],
  async open({ hub }) {
    const oidc = hub.config.oidc;
    return { service: undefined, ...(oidc ? { pages: oidcRoutes(hub, oidc) } : {}) };
  },
};
