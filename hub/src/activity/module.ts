/** The activity log's search API as a feature module (every module records into the log). */
import { routesModule } from '../module.ts';
import { activityRoutes } from './routes.ts';

export const activityModule = routesModule('activity', activityRoutes);
