/** The browser pages (sign-in, sign-up, home) as a feature module, mounted after the API. */
import type { FeatureModule } from '../module.ts';
import { pageRoutes } from './routes.ts';

export const pagesModule: FeatureModule = {
  name: 'pages',
  routes: [],
  async open({ hub }) {
    return { service: undefined, pages: pageRoutes(hub) };
  },
};
