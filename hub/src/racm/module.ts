/** RACM as a feature module: the hub's own resource contexts are registered when it opens. */
import type { FeatureModule } from '../module.ts';
import { registerCoreContexts } from './contexts.ts';
import { racmRoutes } from './routes.ts';

export const racmModule: FeatureModule = {
  name: 'racm',
  routes: racmRoutes,
  async open({ hub }) {
    await registerCoreContexts(hub.db);
    return { service: undefined };
  },
};
