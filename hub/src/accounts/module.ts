/** Accounts and their credentials (registration, login, sessions, API tokens) as a feature module. */
import { tokenRoutes } from '../auth/routes.ts';
import { routesModule } from '../module.ts';
import { accountRoutes } from './routes.ts';

export const accountsModule = routesModule('accounts', [...accountRoutes, ...tokenRoutes]);
