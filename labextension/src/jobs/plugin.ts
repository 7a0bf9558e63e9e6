/**
 * Batch jobs in JupyterLab: "Run as job" on notebooks (toolbar, File menu, file browser), the
 * Jobs sidebar with live status and logs, and a notification when a job ends. Only wires: the
 * rules are in the model, the poller and the run form.
 */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { browserClock } from '../clock.js';
import { CommandIDs, IJobsClient, IServersClient, IUserClient, PluginIDs } from '../tokens.js';
import { JOBS_PALETTE_COMMANDS, registerJobsCommands } from './commands.js';
import { jobTitle } from './format.js';
import { JobsModel } from './model.js';
import { JobsPanel } from './panel.js';
import { JobsPoller } from './poller.js';

/** Settings of schema/jobs.json, with their defaults. */
interface IJobsSettings {
  pollInterval: number;
  workspaceFolder: string;
  notifyOnEnd: boolean;
}

const DEFAULTS: IJobsSettings = { pollInterval: 3, workspaceFolder: '', notifyOnEnd: true };

export const jobsPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.jobs,
  description: 'Orrery batch jobs: run notebooks as jobs, follow them in the right sidebar.',
  autoStart: true,
  requires: [IJobsClient, IUserClient, IServersClient],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    ILayoutRestorer,
    ITranslator,
    INotebookTracker,
    IDefaultFileBrowser,
  ],
  activate: (
    app: JupyterFrontEnd,
    client: IJobsClient,
    users: IUserClient,
    servers: IServersClient,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    notebooks: INotebookTracker | null,
    browser: IDefaultFileBrowser | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    let settings: IJobsSettings = { ...DEFAULTS };
    const model = new JobsModel(client, users);
    const poller = new JobsPoller({
      model,
      intervalSeconds: settings.pollInterval,
      clock: browserClock,
    });
    const panel = new JobsPanel({ model, commands: app.commands, trans });
    app.shell.add(panel, 'right', { rank: 620 });
    restorer?.add(panel, panel.id);

    const notebookAt = (path: string) => notebooks?.find((p) => p.context.path === path) ?? null;
    const selected = (): string | null => {
      const item = browser?.selectedItems().next();
      return item && !item.done && item.value.type === 'notebook' ? item.value.path : null;
    };

    registerJobsCommands({
      commands: app.commands,
      model,
      users,
      servers,
      trans,
      openPanel: () => app.shell.activateById(panel.id),
      poll: () => void poller.kick(),
      workspaceFolder: () => settings.workspaceFolder,
      currentNotebook: () => notebooks?.currentWidget?.context.path ?? null,
      selectedNotebook: selected,
      saveIfDirty: async (path) => {
        const open = notebookAt(path);
        if (open?.context.model.dirty) {
          await open.context.save();
        }
      },
      // An open notebook is read as it stands in the editor (it is saved before the job is
      // sent); one only on disk is read from there.
      readNotebook: async (path) =>
        notebookAt(path)?.context.model.toJSON() ??
        (await app.serviceManager.contents.get(path, { content: true, type: 'notebook' })).content,
      openFile: async (path) => {
        await app.commands.execute('docmanager:open', { path });
      },
      showFolder: async (path) => {
        await app.commands.execute('filebrowser:go-to-path', { path });
      },
    });
    for (const command of JOBS_PALETTE_COMMANDS) {
      palette?.addItem({ command, category: trans.__('Orrery') });
    }

    // A job that ends while I look elsewhere: say how it ended, with the way to its results.
    model.ended.connect((_, job) => {
      if (!settings.notifyOnEnd) {
        return;
      }
      const actions = [
        ...(job.output_notebook && job.started_at
          ? [
              {
                label: trans.__('Open notebook'),
                callback: () =>
                  void app.commands.execute(CommandIDs.openJobNotebook, { id: job.id }),
              },
            ]
          : []),
        {
          label: trans.__('Show log'),
          callback: () => void app.commands.execute(CommandIDs.showJobLog, { id: job.id }),
        },
      ];
      const what = `${jobTitle(job)} (#${job.id})`;
      if (job.status === 'succeeded') {
        Notification.success(trans.__('Job %1 succeeded.', what), { autoClose: 8000, actions });
      } else if (job.status === 'cancelled') {
        Notification.info(trans.__('Job %1 was cancelled.', what), { autoClose: 5000, actions });
      } else {
        const why = job.status === 'timed_out' ? trans.__('reached its time limit') : job.message;
        Notification.error(trans.__('Job %1 ended: %2', what, why ?? job.status), {
          autoClose: false,
          actions,
        });
      }
    });

    // The list on start (jobs submitted before this page was opened go on being followed).
    app.restored.then(() => poller.kick()).catch(() => undefined);

    settingRegistry
      ?.load(PluginIDs.jobs)
      .then((s) => {
        const read = () => {
          settings = { ...DEFAULTS, ...(s.composite as Partial<IJobsSettings>) };
          poller.intervalSeconds = settings.pollInterval;
        };
        read();
        s.changed.connect(read);
      })
      .catch((e: Error) => console.error('orrery: cannot load the Jobs settings', e));
  },
};
