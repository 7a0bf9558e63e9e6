import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { browserClock } from '../clock.js';
import { PanelRefresher } from '../refresher.js';
import type { IVolumeRef } from '../tokens.js';
import { CommandIDs, IFilesClient, IGroupsClient, IUserClient, PluginIDs } from '../tokens.js';
import { PALETTE_COMMANDS, registerVolumesCommands } from './commands.js';
import { VolumesModel } from './model.js';
import { VolumesPanel } from './panel.js';
import { volumeOfPath } from './paths.js';
import { showShareDialog } from './share-dialog.js';
import { ShareModel } from './share-model.js';
import { StorageStatus } from './status.js';
import { UsageWatcher } from './usage-watcher.js';

/** Settings of schema/volumes.json, with their defaults. */
interface IVolumesSettings {
  refreshInterval: number;
  usageInterval: number;
}

const DEFAULTS: IVolumesSettings = { refreshInterval: 60, usageInterval: 300 };

/** The root volume the status bar shows. */
const STATUS_ROOT = 'Storage';

/** Read the `data-*` attributes of the panel row a context menu was opened on. */
function contextArgs(app: JupyterFrontEnd): Record<string, string> {
  const node = app.contextMenuHitTest((n) =>
    n.classList.contains('jp-OrreryVolumes-contextTarget'),
  );
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(node?.dataset ?? {})) {
    if (v !== undefined) {
      args[k] = v;
    }
  }
  return args;
}

/** The volume of the one folder selected in the file browser, or null. */
function folderVolume(browser: IDefaultFileBrowser | null): IVolumeRef | null {
  const item = browser?.selectedItems().next();
  if (!item || item.done || item.value.type !== 'directory') {
    return null;
  }
  return volumeOfPath(item.value.path);
}

/** The Volumes sidebar panel, its commands, the Share dialog and the Storage status item. */
export const volumesPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.volumes,
  description: 'Orrery volumes in the left sidebar: create, share, usage against quota.',
  autoStart: true,
  requires: [IFilesClient, IUserClient, IGroupsClient],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    ILayoutRestorer,
    ITranslator,
    IStatusBar,
    IDefaultFileBrowser,
  ],
  activate: (
    app: JupyterFrontEnd,
    client: IFilesClient,
    users: IUserClient,
    groups: IGroupsClient,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    statusBar: IStatusBar | null,
    browser: IDefaultFileBrowser | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    const model = new VolumesModel(client, users);
    let settings: IVolumesSettings = { ...DEFAULTS };
    const panel = new VolumesPanel({ model, commands: app.commands, trans });
    app.shell.add(panel, 'left', { rank: 610 });
    restorer?.add(panel, panel.id);

    const openPanel = () => app.shell.activateById(panel.id);
    registerVolumesCommands({
      commands: app.commands,
      model,
      trans,
      openPanel,
      share: async (ref) => {
        const me = model.user?.name ?? (await users.currentUser()).name;
        await showShareDialog(new ShareModel(client, users, groups, ref, me), trans);
        // Sharing changes nothing in my list, but a redeemed code elsewhere may have: reload.
        await model.refresh().catch(() => undefined);
      },
      contextArgs: () => contextArgs(app),
      folderVolume: () => folderVolume(browser),
    });
    for (const command of PALETTE_COMMANDS) {
      palette?.addItem({ command, category: trans.__('Orrery') });
    }
    // Context menus, added here rather than in the schema so that each sits next to what its
    // command reads: the panel's rows (`data-*` of the row) and the file browser's folders
    // (the item shows only on a folder inside a volume's mount: the command's isVisible).
    const rowItems: [CommandIDs, string][] = [
      [CommandIDs.shareVolume, "[data-may-share='true']"],
      [CommandIDs.renameVolume, "[data-mine='true']"],
      [CommandIDs.describeVolume, "[data-mine='true']"],
      [CommandIDs.deleteVolume, "[data-mine='true']"],
    ];
    rowItems.forEach(([command, filter], rank) => {
      app.contextMenu.addItem({
        command,
        args: { fromContextMenu: true },
        selector: `.jp-OrreryVolumes-volume${filter}`,
        rank,
      });
    });
    if (browser) {
      app.contextMenu.addItem({
        command: CommandIDs.shareFolderVolume,
        selector: '.jp-DirListing-item[data-isdir="true"]',
        rank: 60,
      });
    }

    // The Storage usage in the status bar, asked every `usageInterval` seconds.
    let watcher: UsageWatcher | null = null;
    const startWatcher = async () => {
      if (!statusBar) {
        return;
      }
      const me = (await users.currentUser()).name;
      watcher?.dispose();
      watcher = new UsageWatcher({
        client,
        user: me,
        root: STATUS_ROOT,
        intervalSeconds: settings.usageInterval,
        clock: browserClock,
      });
      if (!item) {
        item = new StorageStatus(watcher, trans, openPanel);
        statusBar.registerStatusItem(PluginIDs.storageStatus, {
          item,
          align: 'left',
          rank: 60,
        });
      } else {
        item.setWatcher(watcher);
      }
      // Volume changes made here move the usage: ask again after each refresh of the panel.
      await watcher.start();
    };
    let item: StorageStatus | null = null;
    model.changed.connect(() => {
      if (model.loaded && !model.loading) {
        const shown = watcher?.usage;
        const fresh = model.usageOf(STATUS_ROOT);
        if (watcher && fresh && shown && fresh.used_bytes !== shown.used_bytes) {
          void watcher.check();
        }
      }
    });

    // Refresh on start, then every `refreshInterval` seconds while the panel is visible.
    const refresher = new PanelRefresher({ panel, model, clock: browserClock });
    const schedule = () => refresher.every(settings.refreshInterval);
    app.restored
      .then(() => model.refresh().catch(() => undefined))
      .then(schedule)
      .then(() => startWatcher())
      .catch((e: Error) => console.error('orrery: cannot watch the Storage usage', e));

    settingRegistry
      ?.load(PluginIDs.volumes)
      .then((s) => {
        const read = () => {
          const before = settings.usageInterval;
          settings = { ...DEFAULTS, ...(s.composite as Partial<IVolumesSettings>) };
          schedule();
          if (watcher && before !== settings.usageInterval) {
            void startWatcher();
          }
        };
        read();
        s.changed.connect(read);
      })
      .catch((e: Error) => console.error('orrery: cannot load the Volumes settings', e));
  },
};
