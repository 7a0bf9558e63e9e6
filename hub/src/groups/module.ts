/** Groups and science domains as a feature module; its routes call the GroupsService. */
import type { FeatureModule } from '../module.ts';
import { groupRoutes } from './routes.ts';
import { GroupsService } from './service.ts';

export const groupsModule: FeatureModule<GroupsService> = {
  name: 'groups',
  routes: groupRoutes,
  async open({ hub }) {
    const { maxGroupsPerUser, maxPendingInvitationsPerUser } = hub.config;
    return {
      service: new GroupsService(
        hub.db,
        { maxGroupsPerUser, maxPendingInvitationsPerUser },
        hub.accessChanges,
      ),
    };
  },
};
