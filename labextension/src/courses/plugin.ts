/**
 * Courses in JupyterLab: the Course panel in the right sidebar (next to the file browser it
 * works with), its commands in the palette and the Orrery menu, and a periodic refresh while
 * the panel is visible. Only wires: the rules are in the model, the forms and the paths.
 */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { browserClock } from '../clock.js';
import { PanelRefresher } from '../refresher.js';
import { ICoursesClient, IUserClient, PluginIDs } from '../tokens.js';
import { COURSES_PALETTE_COMMANDS, registerCoursesCommands } from './commands.js';
import { CoursesModel } from './model.js';
import { CoursesPanel } from './panel.js';

/** Settings of schema/courses.json, with their defaults. */
interface ICoursesSettings {
  refreshInterval: number;
  workspaceFolder: string;
}

const DEFAULTS: ICoursesSettings = { refreshInterval: 30, workspaceFolder: '' };

export const coursesPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.courses,
  description:
    'Orrery courses in the right sidebar: roster, distribute, submit, collect, feedback.',
  autoStart: true,
  requires: [ICoursesClient, IUserClient],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer, ITranslator, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    client: ICoursesClient,
    users: IUserClient,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    browser: IDefaultFileBrowser | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    let settings: ICoursesSettings = { ...DEFAULTS };
    const model = new CoursesModel(client, users);
    const panel = new CoursesPanel({
      model,
      commands: app.commands,
      trans,
      now: () => new Date(),
    });
    app.shell.add(panel, 'right', { rank: 630 });
    restorer?.add(panel, panel.id);

    const contents = app.serviceManager.contents;
    registerCoursesCommands({
      commands: app.commands,
      model,
      trans,
      openPanel: () => app.shell.activateById(panel.id),
      currentFolder: () => browser?.model.path ?? '',
      selectedCSV: () => {
        const item = browser?.selectedItems().next();
        return item && !item.done && item.value.type === 'file' && /\.csv$/i.test(item.value.path)
          ? item.value.path
          : null;
      },
      workspaceFolder: () => settings.workspaceFolder,
      readText: async (path) => {
        const file = await contents.get(path, { content: true, type: 'file', format: 'text' });
        return String(file.content ?? '');
      },
      saveText: async (path, text) => {
        await contents.save(path, { type: 'file', format: 'text', content: text });
      },
      showFolder: async (path) => {
        await app.commands.execute('filebrowser:go-to-path', { path });
      },
      openFile: async (path) => {
        await app.commands.execute('docmanager:open', { path });
      },
    });
    for (const command of COURSES_PALETTE_COMMANDS) {
      palette?.addItem({ command, category: trans.__('Orrery') });
    }

    // Refresh on start, then every `refreshInterval` seconds while the panel is visible; a
    // failure is kept in model.error, which the panel shows.
    const refresher = new PanelRefresher({ panel, model, clock: browserClock });
    const schedule = () => refresher.every(settings.refreshInterval);
    app.restored
      .then(() => model.refresh().catch(() => undefined))
      .then(schedule)
      .catch(() => undefined);
    settingRegistry
      ?.load(PluginIDs.courses)
      .then((s) => {
        const read = () => {
          settings = { ...DEFAULTS, ...(s.composite as Partial<ICoursesSettings>) };
          schedule();
        };
        read();
        s.changed.connect(read);
      })
      .catch((e: Error) => console.error('orrery: cannot load the Courses settings', e));
  },
};
