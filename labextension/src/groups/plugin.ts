import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { browserClock } from '../clock.js';
import { PanelRefresher } from '../refresher.js';
import { IGroupsClient, type InvitableRole, IUserClient, PluginIDs } from '../tokens.js';
import { PALETTE_COMMANDS, registerGroupsCommands } from './commands.js';
import { GroupsModel } from './model.js';
import { GroupsPanel } from './panel.js';

/** Settings of schema/groups.json, with their defaults. */
interface IGroupsSettings {
  refreshInterval: number;
  defaultInviteRole: InvitableRole;
  showDomains: boolean;
}

const DEFAULTS: IGroupsSettings = {
  refreshInterval: 60,
  defaultInviteRole: 'MEMBER',
  showDomains: true,
};

/** Read the `data-*` attributes of the panel row a context menu was opened on. */
function contextArgs(app: JupyterFrontEnd): Record<string, string> {
  const node = app.contextMenuHitTest((n) => n.classList.contains('jp-OrreryGroups-contextTarget'));
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(node?.dataset ?? {})) {
    if (v !== undefined) {
      args[k] = v;
    }
  }
  return args;
}

/** The Groups sidebar panel, its commands and its periodic refresh. */
export const groupsPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.groups,
  description: 'Orrery groups, invitations and science domains in the left sidebar.',
  autoStart: true,
  requires: [IGroupsClient, IUserClient],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: IGroupsClient,
    users: IUserClient,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    const model = new GroupsModel(client, users);
    let settings: IGroupsSettings = { ...DEFAULTS };
    const panel = new GroupsPanel({
      model,
      commands: app.commands,
      trans,
      settings: () => settings,
    });

    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);

    registerGroupsCommands({
      commands: app.commands,
      model,
      trans,
      openPanel: () => app.shell.activateById(panel.id),
      defaultInviteRole: () => settings.defaultInviteRole,
      contextArgs: () => contextArgs(app),
    });
    for (const command of PALETTE_COMMANDS) {
      palette?.addItem({ command, category: trans.__('Orrery') });
    }

    // Refresh on start, then every `refreshInterval` seconds while the panel is visible.
    const refresher = new PanelRefresher({ panel, model, clock: browserClock });
    const schedule = () => refresher.every(settings.refreshInterval);
    // A failed first load is kept in model.error and shown at the top of the panel.
    app.restored.then(() => model.refresh().catch(() => undefined)).then(schedule);

    settingRegistry
      ?.load(PluginIDs.groups)
      .then((s) => {
        const read = () => {
          settings = { ...DEFAULTS, ...(s.composite as Partial<IGroupsSettings>) };
          schedule();
          panel.update();
        };
        read();
        s.changed.connect(read);
      })
      .catch((e: Error) => console.error('orrery: cannot load the Groups settings', e));
  },
};
