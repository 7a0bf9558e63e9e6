/**
 * Files as a feature module: volumes, sharing, the files API and quotas. Opening it makes the
 * root volumes' folders, registers the orrery.files RACM types and the account remover, and
 * listens for group membership changes (a share to a group reaches new members). Starting it
 * runs the sweeper (purge, usage rescan, quarantine).
 */
import { groupsModule } from '../groups/module.ts';
import type { FeatureModule } from '../module.ts';
import { registerContext } from '../racm/store.ts';
import { filesRoutes } from './routes.ts';
import { FilesService } from './service.ts';

export const FILES_CONTEXT = {
  name: 'orrery.files',
  description: 'Volumes of files',
  resourceTypes: [
    {
      name: 'UserVolume',
      description: 'A folder of files a user owns and shares',
      actions: ['read', 'write'],
      userCreatable: true,
    },
    {
      name: 'DataVolume',
      description: 'A read-only data set an operator registers',
      actions: ['read'],
    },
  ],
};

export const filesModule: FeatureModule<FilesService> = {
  name: 'files',
  routes: filesRoutes,
  async open({ hub, use }) {
    await registerContext(hub.db, FILES_CONTEXT);
    const files = new FilesService(hub.db, hub.config.files);
    await files.prepare();
    hub.accountRemovers.add('files', (removal) => files.removeAccount(removal));
    use(groupsModule).onMembershipChanged((userIds) => files.volumes.viewChanged(userIds));
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> = Promise.resolve();
    return {
      service: files,
      start() {
        const sweep = () => {
          running = files.sweeper
            .sweep()
            .catch((err) =>
              hub.log.warn({ err: String(err) }, 'files sweep failed; it runs again next time'),
            );
        };
        timer = setInterval(sweep, hub.config.files.sweepSeconds * 1000);
        timer.unref();
      },
      async close() {
        if (timer) clearInterval(timer);
        await running;
      },
    };
  },
};
