/**
 * Files as a feature module: volumes, sharing, the files API and quotas. Opening it makes the
 * root volumes' folders, registers the orrery.files RACM types and the account remover, and
 * listens for group membership changes (a share to a group reaches new members). Starting it
 * runs the sweeper (purge, usage rescan, quarantine).
 */
import { computeModule } from '../compute/module.ts';
import type { Compute } from '../compute/orchestrator.ts';
import { groupsModule } from '../groups/module.ts';
import type { Hub } from '../hub.ts';
import type { FeatureModule, ModuleDeps } from '../module.ts';
import { registerContext } from '../racm/store.ts';
import { viewsRootOf } from './config.ts';
import { filesInventory } from './inventory.ts';
import { VolumeMounter } from './mounts/index.ts';
import { filesRoutes } from './routes.ts';
import { ServerVolumes } from './serverVolumes.ts';
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

/** The RACM types whose privileges make the view. */
const VOLUME_TYPES = new Set(FILES_CONTEXT.resourceTypes.map((type) => type.name));

export const filesModule: FeatureModule<FilesService> = {
  name: 'files',
  routes: filesRoutes,
  async open({ hub, use }) {
    await registerContext(hub.db, FILES_CONTEXT);
    const files = new FilesService(hub.db, hub.config.files, undefined, (message, detail) =>
      hub.log.warn(detail, message),
    );
    await files.prepare();
    hub.accountRemovers.add('files', (removal) => files.removeAccount(removal));
    hub.accountRemovers.describe('files', (account) =>
      filesInventory(hub.db, hub.config.files, account),
    );
    use(groupsModule).onMembershipChanged((userIds) => files.volumes.viewChanged(userIds));
    const servers = serverVolumes(hub, files, use);
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> = Promise.resolve();
    let reconciling: Promise<unknown> = Promise.resolve();
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
        if (servers) {
          reconciling = servers
            .reconcile()
            .catch((err) => hub.log.warn({ err: String(err) }, 'volume views not reconciled'));
        }
      },
      async close() {
        if (timer) clearInterval(timer);
        await Promise.all([running, reconciling, servers?.close()]);
      },
    };
  },
};

/**
 * Volumes in Docker servers (serverVolumes.ts), when this hub runs them and can mount: as root
 * (the views are bind mounts made on the host; not root, servers keep the named workspace and
 * get no view, as before, and the start says so).
 */
function serverVolumes(
  hub: Hub,
  files: FilesService,
  use: ModuleDeps['use'],
): ServerVolumes | undefined {
  let compute: Compute;
  try {
    compute = use(computeModule);
  } catch {
    return undefined; // a hub composed without compute
  }
  const hosts = compute.volumeHosts;
  if (!hosts || hosts.domains.size === 0) return undefined;
  if (process.getuid?.() !== 0) {
    hub.log.warn(
      'volumes are not mounted in Docker servers: the hub is not root, so it cannot make the ' +
        'views; servers keep their named workspace volume',
    );
    return undefined;
  }
  const viewsRoot = viewsRootOf(hub.config.files, hub.config.stateDir);
  const mounter = new VolumeMounter({
    viewsRoot,
    stageRoot: `${viewsRoot}-stage`,
    sourceRoots: () => [
      ...hub.config.files.rootVolumes.map((root) => root.path),
      ...files.volumes.dataHostPaths(),
    ],
    hosts: hosts.all,
  });
  const servers = new ServerVolumes(hub.db, files, mounter, hosts, hub.log);
  files.onViewChanged((userIds) => servers.viewChanged(userIds));
  // Privileges on volumes changed through the generic RACM routes: applied before they answer.
  hub.accessChanges.add('files', async (change) => {
    if (change && VOLUME_TYPES.has(change.resourceType)) await servers.refreshAll();
  });
  hub.accountRemovers.add('volume-views', async (removal) => {
    await servers.forget(removal.userId);
    // The account's volumes went with it (and the shares it gave): gone from others' servers too.
    await servers.refreshAll();
  });
  compute.useVolumes(servers);
  return servers;
}
