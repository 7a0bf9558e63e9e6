/**
 * The MyDB commands: the panel's buttons, the Orrery menu and the palette all run these.
 * Missing arguments are asked for in dialogs; every failure is shown (a dialog, or the
 * panel's error line for a query, with the editor's cursor put at PostgreSQL's position).
 */
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import { messageOf } from '../api.js';
import { ask, Cancelled, confirm, pick, run as runWithMessage } from '../dialogs.js';
import { CommandIDs, type ExportFormat, type ImportFormat } from '../tokens.js';
import { isMissingRoute, type MyDBModel } from './model.js';
import type { MyDBPanel } from './panel.js';
import type { PlotKind, SkyProjection } from './plots.js';

export interface IMyDBCommandsOptions {
  commands: CommandRegistry;
  model: MyDBModel;
  trans: TranslationBundle;
  /** Opens (or reveals) the panel and answers it. */
  openPanel: () => MyDBPanel;
  /** Inserts a code cell into the active notebook (a new one if none is open). */
  insertCell: (code: string) => Promise<void>;
}

const str = (args: ReadonlyPartialJSONObject, key: string): string | undefined => {
  const v = args[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
};

/** The import dialog's body: a file, a table name and a format. */
class ImportBody
  extends Widget
  implements Dialog.IBodyWidget<{ file: File | null; table: string; format: ImportFormat }>
{
  constructor(trans: TranslationBundle) {
    super();
    this.addClass('jp-OrreryMyDB-importDialog');
    this.node.innerHTML = '';
    const row = (label: string, input: HTMLElement) => {
      const l = document.createElement('label');
      l.textContent = label;
      l.appendChild(input);
      this.node.appendChild(l);
    };
    const file = document.createElement('input');
    file.type = 'file';
    file.accept = '.csv,.xml,.vot,.votable,.fits,.fit';
    file.className = 'jp-OrreryMyDB-importFile';
    const table = document.createElement('input');
    table.className = 'jp-mod-styled jp-OrreryMyDB-importTable';
    const format = document.createElement('select');
    format.className = 'jp-mod-styled jp-OrreryMyDB-importFormat';
    for (const f of ['csv', 'votable', 'fits']) {
      format.appendChild(new Option(f, f));
    }
    file.addEventListener('change', () => {
      const name = file.files?.[0]?.name ?? '';
      const stem = name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_]/g, '_');
      if (!table.value && stem) {
        table.value = /^[A-Za-z_]/.test(stem) ? stem : `t_${stem}`;
      }
      if (/\.(xml|vot|votable)$/i.test(name)) {
        format.value = 'votable';
      } else if (/\.fits?$/i.test(name)) {
        format.value = 'fits';
      }
    });
    row(trans.__('File '), file);
    row(trans.__('New table '), table);
    row(trans.__('Format '), format);
    this.getValue = () => ({
      file: file.files?.[0] ?? null,
      table: table.value,
      format: format.value as ImportFormat,
    });
  }

  getValue: () => { file: File | null; table: string; format: ImportFormat };
}

/** Save a blob as a download in the browser. */
function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function registerMyDBCommands(options: IMyDBCommandsOptions): void {
  const { commands, model, trans } = options;

  /** A route this hub does not serve yet is said as such, not as its 404. */
  const failure = (e: unknown): string =>
    isMissingRoute(e)
      ? trans.__('This hub does not offer this yet (%1).', messageOf(e))
      : messageOf(e);
  const run = (title: string, action: () => Promise<unknown>) =>
    runWithMessage(title, action, failure);

  commands.addCommand(CommandIDs.openMyDB, {
    label: trans.__('Open MyDB'),
    caption: trans.__('SQL on your MyDB and the catalogs'),
    execute: () => {
      options.openPanel();
    },
  });

  commands.addCommand(CommandIDs.refreshMyDB, {
    label: trans.__('Refresh MyDB Contexts and Tables'),
    execute: () => run(trans.__('Could not load MyDB'), () => model.refresh()),
  });

  commands.addCommand(CommandIDs.runQuery, {
    label: trans.__('Run MyDB Query'),
    caption: trans.__('Run the SQL as a quick query (Shift-Enter in the editor)'),
    execute: async (args) => {
      const panel = options.openPanel();
      const sql = str(args, 'sql');
      const context = str(args, 'context');
      if (sql !== undefined) {
        model.loadSql(sql, context);
      } else if (context !== undefined) {
        await model.setContext(context);
      }
      try {
        await model.run();
      } catch {
        // The panel shows model.error; the cursor goes where PostgreSQL pointed.
        panel.showErrorPosition();
      }
    },
  });

  commands.addCommand(CommandIDs.saveToMyDB, {
    label: trans.__('Save Query Result to MyDB…'),
    caption: trans.__('Run the query again with its result into a new MyDB table'),
    execute: (args) =>
      run(trans.__('Could not save to MyDB'), async () => {
        const table =
          str(args, 'table') ?? (await ask(trans.__('Save to MyDB'), trans.__('New table name')));
        const saved = await model.saveToMyDB(table);
        Notification.success(
          trans.__('Saved %1 rows into MyDB table "%2".', saved.row_count, saved.table),
          {
            autoClose: 4000,
          },
        );
      }),
  });

  commands.addCommand(CommandIDs.submitBatch, {
    label: trans.__('Submit MyDB Batch Query…'),
    caption: trans.__('Queue the SQL as a batch query; its result goes into a MyDB table'),
    execute: (args) =>
      run(trans.__('Could not submit the batch query'), async () => {
        const table =
          str(args, 'table') ??
          (await ask(
            trans.__('Submit batch query'),
            trans.__('Result table (empty: named by the hub)'),
          ));
        const job = await model.submit(table);
        options.openPanel().showTab('batch');
        Notification.info(trans.__('Batch query %1 queued into "%2".', job.id, job.table), {
          autoClose: 4000,
        });
      }),
  });

  commands.addCommand(CommandIDs.cancelBatch, {
    label: trans.__('Cancel MyDB Batch Query…'),
    execute: (args) =>
      run(trans.__('Could not cancel the batch query'), async () => {
        const id =
          str(args, 'id') ??
          (await ask(trans.__('Cancel batch query'), trans.__('Batch query number')));
        await model.cancelBatch(id);
      }),
  });

  commands.addCommand(CommandIDs.plotResult, {
    label: trans.__('Plot MyDB Result'),
    caption: trans.__('Scatter, histogram or sky plot (Mollweide, Aitoff) of the result'),
    execute: (args) =>
      run(trans.__('Could not plot the result'), async () => {
        const request: Record<string, string> = {};
        for (const k of ['kind', 'x', 'y', 'projection']) {
          const v = str(args, k);
          if (v !== undefined) {
            request[k] = v;
          }
        }
        await options
          .openPanel()
          .plot(request as { kind?: PlotKind; x?: string; y?: string; projection?: SkyProjection });
      }),
  });

  commands.addCommand(CommandIDs.openInNotebook, {
    label: trans.__('Open MyDB Result in Notebook'),
    caption: trans.__('Insert a cell loading the result (or a table) as a pandas DataFrame'),
    execute: (args) =>
      run(trans.__('Could not open it in a notebook'), async () => {
        const code = model.notebookCell(str(args, 'table'), str(args, 'context'));
        await options.insertCell(code);
      }),
  });

  commands.addCommand(CommandIDs.loadFromHistory, {
    label: trans.__('Load MyDB Query from History'),
    execute: (args) => {
      const sql = str(args, 'sql');
      if (sql !== undefined) {
        model.loadFromHistory({ sql, context: str(args, 'context') ?? model.context });
      }
      options.openPanel().showTab('history');
      return run(trans.__('Could not load the history'), () => model.refreshHistory());
    },
  });

  commands.addCommand(CommandIDs.rerunFromHistory, {
    label: trans.__('Run Last MyDB Query Again'),
    caption: trans.__('Run a history entry again (the newest one unless given)'),
    execute: async (args) => {
      const panel = options.openPanel();
      const sql = str(args, 'sql');
      if (sql === undefined && model.history.length === 0) {
        await model.refreshHistory().catch(() => undefined);
      }
      const entry =
        sql !== undefined
          ? { sql, context: str(args, 'context') ?? model.context }
          : model.history[0];
      if (!entry) {
        await showErrorMessage(trans.__('Nothing to run again'), trans.__('The history is empty.'));
        return;
      }
      try {
        await model.rerun(entry);
      } catch {
        panel.showErrorPosition();
      }
    },
  });

  commands.addCommand(CommandIDs.importTable, {
    label: trans.__('Import Table into MyDB…'),
    caption: trans.__('Upload a CSV, VOTable or FITS file as a new MyDB table'),
    execute: () =>
      run(trans.__('Could not import the table'), async () => {
        const body = new ImportBody(trans);
        const r = await showDialog({
          title: trans.__('Import into MyDB'),
          body,
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Import') })],
        });
        if (!r.button.accept || !r.value) {
          throw new Cancelled();
        }
        const { file, table, format } = r.value;
        if (!file) {
          throw new Error(trans.__('Choose a file to import.'));
        }
        const made = await model.importTable(table, format, file);
        Notification.success(trans.__('Imported %1 rows into "%2".', made.row_count, made.table), {
          autoClose: 4000,
        });
      }),
  });

  commands.addCommand(CommandIDs.exportTable, {
    label: trans.__('Export MyDB Table…'),
    caption: trans.__('Download a MyDB table as CSV, VOTable, FITS or Parquet'),
    execute: (args) =>
      run(trans.__('Could not export the table'), async () => {
        const table = str(args, 'table') ?? (await ask(trans.__('Export'), trans.__('MyDB table')));
        let format = str(args, 'format') as ExportFormat | undefined;
        if (!format) {
          const formats: ExportFormat[] = ['csv', 'votable', 'fits', 'parquet'];
          format = await pick(
            trans.__('Export "%1" as', table),
            formats.map((f) => ({ label: f, value: f })),
            '',
          );
        }
        const blob = await model.exportTable(table, format);
        const extension = { csv: 'csv', votable: 'vot', fits: 'fits', parquet: 'parquet' }[format];
        download(blob, `${table}.${extension}`);
      }),
  });

  commands.addCommand(CommandIDs.dropTable, {
    label: trans.__('Drop MyDB Table…'),
    execute: (args) =>
      run(trans.__('Could not drop the table'), async () => {
        const table =
          str(args, 'table') ?? (await ask(trans.__('Drop table'), trans.__('MyDB table')));
        await confirm(
          trans.__('Drop table'),
          trans.__('Drop "%1" and all its rows? This cannot be undone.', table),
          trans.__('Drop'),
        );
        await model.dropTable(table);
      }),
  });
}

/** Commands shown in the palette under the "Orrery" category. */
export const MYDB_PALETTE_COMMANDS: readonly CommandIDs[] = [
  CommandIDs.openMyDB,
  CommandIDs.refreshMyDB,
  CommandIDs.runQuery,
  CommandIDs.submitBatch,
  CommandIDs.saveToMyDB,
  CommandIDs.plotResult,
  CommandIDs.openInNotebook,
  CommandIDs.importTable,
  CommandIDs.exportTable,
  CommandIDs.dropTable,
  CommandIDs.cancelBatch,
  CommandIDs.loadFromHistory,
  CommandIDs.rerunFromHistory,
];
