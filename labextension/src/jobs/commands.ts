/**
 * The Jobs commands. The notebook toolbar, the File menu, the file browser's context menu, the
 * panel's buttons and the palette all run these. Every failure is shown in an error dialog.
 */
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { type ReadonlyPartialJSONObject, UUID } from '@lumino/coreutils';
import { Cancelled, confirm, run } from '../dialogs.js';
import { CommandIDs, type IJob, type IServersClient, type IUserClient } from '../tokens.js';
import { showRunJobDialog } from './dialog.js';
import { isActive, jobTitle } from './format.js';
import type { JobsModel } from './model.js';
import { jobsIcon } from './panel.js';
import { parameterCellOf } from './parameters.js';
import { browserPathOf, type IWorkspaceMapping } from './paths.js';
import { runJobDefaults } from './run-form.js';

export interface IJobsCommandsOptions {
  commands: CommandRegistry;
  model: JobsModel;
  users: IUserClient;
  servers: IServersClient;
  trans: TranslationBundle;
  openPanel: () => void;
  /** Ask the hub now and follow what moves (after a submission, a cancel). */
  poll: () => void;
  /** The workspace's place in the file browser (the `workspaceFolder` setting). */
  workspaceFolder: () => string;
  /** The browser path of the current notebook, or null. */
  currentNotebook: () => string | null;
  /** The browser path of the notebook selected in the file browser, or null. */
  selectedNotebook: () => string | null;
  /** Save the notebook at this path if it is open with unsaved changes (the job runs the file). */
  saveIfDirty: (path: string) => Promise<void>;
  /** A notebook's JSON: as the editor shows it when open, else as saved. */
  readNotebook: (path: string) => Promise<unknown>;
  /** Open a file in JupyterLab. */
  openFile: (path: string) => Promise<void>;
  /** Show a folder in the file browser. */
  showFolder: (path: string) => Promise<void>;
}

export function registerJobsCommands(options: IJobsCommandsOptions): void {
  const { commands, model, trans } = options;

  const me = async () => model.user?.name ?? (await options.users.currentUser()).name;
  const mapping = async (): Promise<IWorkspaceMapping> => ({
    user: await me(),
    workspaceFolder: options.workspaceFolder(),
  });

  /** The job named by `id`, loading the list if it is not known yet. */
  const jobArg = async (raw: ReadonlyPartialJSONObject): Promise<IJob> => {
    const id = raw['id'];
    if (typeof id !== 'number' && typeof id !== 'string') {
      throw new Error(trans.__('No job given.'));
    }
    if (!model.find(id)) {
      await model.refresh();
    }
    const job = model.find(id);
    if (!job) {
      throw new Error(trans.__('Job %1 is not among your jobs.', String(id)));
    }
    return job;
  };

  /** This server's image and domain, or null outside a hub server. */
  const thisServer = async () => {
    const user = await options.users.currentUser();
    if (user.token_server === null || user.token_server === undefined) {
      return null;
    }
    return options.servers.serverInfo(user.name, user.token_server).catch(() => null);
  };

  const notebookArg = (raw: ReadonlyPartialJSONObject): string | null => {
    if (typeof raw['path'] === 'string') {
      return raw['path'];
    }
    return raw['fromContextMenu'] === true
      ? options.selectedNotebook()
      : (options.currentNotebook() ?? options.selectedNotebook());
  };

  commands.addCommand(CommandIDs.runAsJob, {
    label: (raw) => (raw['toolbar'] ? '' : trans.__('Run as Job…')),
    caption: trans.__('Run this notebook as a batch job, with parameters, on a compute domain'),
    icon: (raw) => (raw['toolbar'] ? jobsIcon : undefined),
    isEnabled: (raw) => notebookArg(raw) !== null,
    execute: (raw) =>
      run(trans.__('Could not run the notebook as a job'), async () => {
        const path = notebookArg(raw);
        if (!path) {
          throw new Error(trans.__('Open or select a notebook first.'));
        }
        const [compute, server, content, where] = await Promise.all([
          options.servers.computeInfo(),
          thisServer(),
          options.readNotebook(path),
          mapping(),
        ]);
        const defaults = runJobDefaults({
          browserPath: path,
          mapping: where,
          compute,
          server,
          parameterCell: parameterCellOf(content),
        });
        const request = await showRunJobDialog(defaults, trans, UUID.uuid4());
        if (!request) {
          throw new Cancelled();
        }
        // Saved only now, so the dialog never waits on a save (through the collaboration
        // server, slow on a loaded machine); the job runs what the editor shows.
        await options.saveIfDirty(path);
        if ('sweep' in request) {
          const sweep = await model.submitSweep(request.sweep);
          options.openPanel();
          options.poll();
          Notification.info(
            trans.__('A sweep of %1 jobs (%2) is queued.', sweep.jobs.length, defaults.notebook),
            { autoClose: 4000 },
          );
          return;
        }
        const job = await model.submit(request.job);
        options.openPanel();
        options.poll();
        Notification.info(trans.__('Job %1 (%2) is queued.', job.id, jobTitle(job)), {
          autoClose: 4000,
        });
      }),
  });

  commands.addCommand(CommandIDs.openJobs, {
    label: trans.__('Show Orrery Jobs'),
    caption: trans.__('Open the Orrery jobs panel'),
    execute: () => {
      options.openPanel();
      options.poll();
    },
  });

  commands.addCommand(CommandIDs.refreshJobs, {
    label: trans.__('Refresh Orrery Jobs'),
    execute: () =>
      run(trans.__('Could not load your jobs'), async () => {
        await model.refresh();
        options.poll();
      }),
  });

  commands.addCommand(CommandIDs.showJobLog, {
    label: trans.__('Show Job Log'),
    execute: (raw) =>
      run(trans.__('Could not read the log'), async () => {
        if (raw['id'] === -1) {
          await model.showLog(null);
          return;
        }
        const job = await jobArg(raw);
        options.openPanel();
        await model.showLog(job.id);
        options.poll();
      }),
  });

  commands.addCommand(CommandIDs.openJobNotebook, {
    label: trans.__('Open Executed Notebook'),
    execute: (raw) =>
      run(trans.__('Could not open the executed notebook'), async () => {
        const job = await jobArg(raw);
        if (!job.output_notebook) {
          throw new Error(trans.__('Job %1 has no executed notebook.', job.id));
        }
        await options.openFile(browserPathOf(job.output_notebook, await mapping()));
      }),
  });

  commands.addCommand(CommandIDs.openJobOutput, {
    label: trans.__('Show Job Output Folder'),
    execute: (raw) =>
      run(trans.__('Could not show the output folder'), async () => {
        const job = await jobArg(raw);
        await options.showFolder(browserPathOf(job.output_folder, await mapping()));
      }),
  });

  commands.addCommand(CommandIDs.cancelJob, {
    label: trans.__('Cancel Job'),
    execute: (raw) =>
      run(trans.__('Could not cancel the job'), async () => {
        const job = await jobArg(raw);
        await confirm(
          trans.__('Cancel job %1', job.id),
          isActive(job)
            ? trans.__(
                'Cancel %1? A running job is stopped; what it wrote so far stays.',
                jobTitle(job),
              )
            : trans.__('Job %1 has already ended.', job.id),
          trans.__('Cancel job'),
          trans.__('Keep it'),
        );
        await model.cancel(job.id);
        options.poll();
      }),
  });

  commands.addCommand(CommandIDs.resubmitJob, {
    label: trans.__('Run Job Again'),
    execute: (raw) =>
      run(trans.__('Could not run the job again'), async () => {
        const job = await jobArg(raw);
        const made = await model.resubmit(job.id);
        options.poll();
        Notification.info(trans.__('Job %1 is queued (again from job %2).', made.id, job.id), {
          autoClose: 4000,
        });
      }),
  });
}

/** Commands shown in the palette under the "Orrery" category. */
export const JOBS_PALETTE_COMMANDS: readonly CommandIDs[] = [
  CommandIDs.runAsJob,
  CommandIDs.openJobs,
  CommandIDs.refreshJobs,
];
