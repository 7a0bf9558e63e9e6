/**
 * Sharing: the "Share This Server…" command (in a hub-spawned server, whose token names it)
 * and the "Shared with me" sidebar. Only wiring: state lives in the models of model.ts.
 */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { isHubError } from '../api.js';
import { CommandIDs, IGroupsClient, ISharesClient, IUserClient, PluginIDs } from '../tokens.js';
import { showShareServerDialog } from './dialog.js';
import { ServerShareModel, SharedWithMeModel } from './model.js';
import { SharedServersPanel } from './panel.js';

export const sharingPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.sharing,
  description: 'Share this server with users, groups or by a code; the servers shared with me.',
  autoStart: true,
  requires: [ISharesClient, IUserClient, IGroupsClient],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: ISharesClient,
    users: IUserClient,
    groups: IGroupsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    // Who this server is: its token names its owner and server ("" the default server).
    let server: { owner: string; name: string } | null = null;
    let shared: SharedWithMeModel | null = null;
    let panel: SharedServersPanel | null = null;

    app.commands.addCommand(CommandIDs.shareServer, {
      label: trans.__('Share This Server…'),
      caption: trans.__('Share this server with users or groups, or by a code that expires'),
      isEnabled: () => server !== null,
      execute: async () => {
        if (!server) return;
        const model = new ServerShareModel(client, users, groups, server.owner, server.name);
        try {
          await showShareServerDialog(model, trans);
        } catch (e) {
          Notification.error(isHubError(e) ? e.message : String(e));
        }
      },
    });
    app.commands.addCommand(CommandIDs.refreshSharedServers, {
      label: trans.__('Refresh Servers Shared With Me'),
      execute: () => shared?.refresh(),
    });
    app.commands.addCommand(CommandIDs.openSharedServers, {
      label: trans.__('Servers Shared With Me'),
      execute: () => {
        if (panel) app.shell.activateById(panel.id);
      },
    });
    for (const command of [CommandIDs.shareServer, CommandIDs.openSharedServers])
      palette?.addItem({ command, category: trans.__('Orrery') });

    void users
      .currentUser()
      .then((me) => {
        if (me.token_server !== null && me.token_server !== undefined)
          server = { owner: me.name, name: me.token_server };
        app.commands.notifyCommandChanged(CommandIDs.shareServer);
        shared = new SharedWithMeModel(client, me.name);
        panel = new SharedServersPanel({
          model: shared,
          commands: app.commands,
          trans,
          open: (url) => window.open(url, '_blank', 'noopener'),
        });
        app.shell.add(panel, 'left', { rank: 620 });
        restorer?.add(panel, panel.id);
        return shared.refresh();
      })
      .catch((e: unknown) => console.warn('Orrery sharing: no hub user', e));
  },
};
