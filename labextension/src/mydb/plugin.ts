import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { CommandIDs, IMyDBClient, IUserClient, PluginIDs } from '../tokens.js';
import { MYDB_PALETTE_COMMANDS, registerMyDBCommands } from './commands.js';
import { DEFAULT_SETTINGS, type IMyDBSettings, MyDBModel } from './model.js';
import { MyDBPanel } from './panel.js';

/** Insert `code` as a new cell below the active one of the current notebook (or a new one). */
async function insertCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  code: string,
): Promise<void> {
  let panel: NotebookPanel | null = tracker?.currentWidget ?? null;
  if (!panel) {
    panel = (await app.commands.execute('notebook:create-new', {
      kernelName: 'python3',
    })) as NotebookPanel;
  }
  await panel.context.ready;
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const active = notebook.activeCell;
  const empty =
    active && active.model.type === 'code' && active.model.sharedModel.getSource().trim() === '';
  if (!empty) {
    NotebookActions.insertBelow(notebook);
  }
  const cell = notebook.activeCell;
  if (!cell) {
    throw new Error('The notebook has no cell to write into.');
  }
  if (cell.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  notebook.activeCell?.model.sharedModel.setSource(code);
}

/** The MyDB panel in the main area, its commands, settings and batch polling. */
export const mydbPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.mydb,
  description: 'Orrery MyDB: a SQL editor, results, plots, history and batch queries.',
  autoStart: true,
  requires: [IMyDBClient, IUserClient, IEditorServices],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    ILayoutRestorer,
    ITranslator,
    IRenderMimeRegistry,
    INotebookTracker,
  ],
  activate: (
    app: JupyterFrontEnd,
    client: IMyDBClient,
    users: IUserClient,
    editorServices: IEditorServices,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    rendermime: IRenderMimeRegistry | null,
    notebooks: INotebookTracker | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    const model = new MyDBModel(client, users);
    let panel: MyDBPanel | null = null;
    let trackPanel: (p: MyDBPanel) => void = () => undefined;

    const openPanel = (): MyDBPanel => {
      if (!panel || panel.isDisposed) {
        panel = new MyDBPanel({ model, commands: app.commands, trans, editorServices, rendermime });
        app.shell.add(panel, 'main');
        trackPanel(panel);
        // A failed first load shows in a dialog; the panel stays usable for a retry.
        void app.commands.execute(CommandIDs.refreshMyDB);
        model.refreshHistory().catch(() => undefined);
        model.refreshBatches().catch(() => undefined);
      }
      app.shell.activateById(panel.id);
      return panel;
    };

    registerMyDBCommands({
      commands: app.commands,
      model,
      trans,
      openPanel,
      insertCell: (code) => insertCell(app, notebooks, code),
    });
    for (const command of MYDB_PALETTE_COMMANDS) {
      palette?.addItem({ command, category: trans.__('Orrery') });
    }
    // Reopen the panel after a reload if it was open.
    const tracker = new WidgetTracker<MyDBPanel>({ namespace: 'orrery-mydb' });
    void restorer?.restore(tracker, { command: CommandIDs.openMyDB, name: () => 'mydb' });
    trackPanel = (p) => void tracker.add(p);

    // Follow queued and running batch queries while the panel is open.
    const poll = () => {
      if (panel && !panel.isDisposed && model.batchesPending) {
        model.refreshBatches().catch(() => undefined);
      }
      window.setTimeout(poll, Math.max(1, model.settings.batchPollSeconds) * 1000);
    };
    window.setTimeout(poll, DEFAULT_SETTINGS.batchPollSeconds * 1000);

    settingRegistry
      ?.load(PluginIDs.mydb)
      .then((s) => {
        const read = () => model.configure(s.composite as Partial<IMyDBSettings>);
        read();
        s.changed.connect(read);
      })
      .catch((e: Error) => console.error('orrery: cannot load the MyDB settings', e));
  },
};
