/** The hub's OAuth 2 provider for users' servers (jupyterhub-singleuser), as a feature module. */
import { routesModule } from '../module.ts';
import { oauthRoutes } from './routes.ts';

export const oauthModule = routesModule('oauth', oauthRoutes);
