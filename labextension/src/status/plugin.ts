import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { CommandIDs, IUserClient, PluginIDs } from '../tokens.js';
import { IdentityModel } from './model.js';
import { SignedInStatus } from './widget.js';

/** "Orrery: alice" in the status bar. */
export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.status,
  description: 'Shows in the status bar who is signed in to the Orrery hub.',
  autoStart: true,
  requires: [IUserClient],
  optional: [IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: IUserClient,
    statusBar: IStatusBar | null,
    translator: ITranslator | null,
  ): void => {
    if (!statusBar) {
      return;
    }
    const trans = (translator ?? nullTranslator).load('orrery');
    const model = new IdentityModel(client);
    const item = new SignedInStatus(model, trans, () => {
      void model.refresh();
      if (app.commands.hasCommand(CommandIDs.openGroups)) {
        void app.commands.execute(CommandIDs.openGroups);
      }
    });
    statusBar.registerStatusItem(PluginIDs.status, { item, align: 'left', rank: 50 });
    void app.restored.then(() => model.refresh());
  },
};
