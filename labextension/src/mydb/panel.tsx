/**
 * The MyDB panel: the schema browser on the left; on the right the toolbar (context, Run,
 * Submit, Save to MyDB, Plot, Open in notebook), the SQL editor, and tabs for the result
 * grid, the plot, the history and the batch queries. Every button runs a command
 * (commands.ts); this module only draws the model.
 */
import type { CodeEditorWrapper, IEditorServices } from '@jupyterlab/codeeditor';
import { type IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, tableRowsIcon } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import { BoxPanel, Panel, SplitPanel, TabPanel } from '@lumino/widgets';
import * as React from 'react';
import { CommandIDs, type IMyDBTable } from '../tokens.js';
import { createSqlEditor, showPosition } from './editor.js';
import { ResultGrid } from './grid.js';
import type { MyDBModel } from './model.js';
import {
  type IPlotRequest,
  type PlotKind,
  plotSpec,
  type SkyProjection,
  skyColumns,
  VEGALITE_MIME,
} from './plots.js';

export interface IMyDBPanelOptions {
  model: MyDBModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  editorServices: IEditorServices;
  rendermime: IRenderMimeRegistry | null;
}

/** Redraws a React view whenever the model changes. */
abstract class ModelView extends ReactWidget {
  constructor(protected readonly model: MyDBModel) {
    super();
    model.changed.connect(() => this.update(), this);
  }
}

type Exec = (id: CommandIDs, args?: Record<string, string | number | boolean>) => void;

function execOf(commands: CommandRegistry): Exec {
  return (id, args = {}) => {
    void commands.execute(id, args);
  };
}

// ---------------------------------------------------------------------------
// Toolbar
// ---------------------------------------------------------------------------

class Toolbar extends ModelView {
  constructor(
    model: MyDBModel,
    private readonly exec: Exec,
    private readonly trans: TranslationBundle,
  ) {
    super(model);
    this.addClass('jp-OrreryMyDB-toolbar');
  }

  render(): JSX.Element {
    const { model, trans, exec } = this;
    const result = model.result;
    return (
      <div className="jp-OrreryMyDB-actions">
        <label>
          {trans.__('Context')}{' '}
          <select
            className="jp-OrreryMyDB-context"
            aria-label={trans.__('Context')}
            value={model.context}
            onChange={(e) => {
              void model.setContext(e.currentTarget.value).catch(() => undefined);
            }}
          >
            {(model.contexts.length ? model.contexts : [{ name: model.context }]).map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept jp-OrreryMyDB-run"
          disabled={model.running}
          title={trans.__('Run as a quick query (Shift-Enter)')}
          onClick={() => exec(CommandIDs.runQuery)}
        >
          {model.running ? trans.__('Running…') : trans.__('Run')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => exec(CommandIDs.submitBatch)}
        >
          {trans.__('Submit')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          disabled={!result}
          onClick={() => exec(CommandIDs.saveToMyDB)}
        >
          {trans.__('Save to MyDB')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          disabled={!result}
          onClick={() => exec(CommandIDs.plotResult)}
        >
          {trans.__('Plot')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => exec(CommandIDs.openInNotebook)}
        >
          {trans.__('Open in notebook')}
        </button>
      </div>
    );
  }
}

/** Above the grid: the last error (with PostgreSQL's line and column) or the result's size. */
class Status extends ModelView {
  constructor(
    model: MyDBModel,
    private readonly trans: TranslationBundle,
  ) {
    super(model);
    this.addClass('jp-OrreryMyDB-status');
  }

  render(): JSX.Element {
    const { model, trans } = this;
    const error = model.error;
    const result = model.result;
    return (
      <>
        {error ? (
          <div className="jp-OrreryMyDB-error" role="alert">
            {error.line !== null ? (
              <strong>{trans.__('Line %1, column %2: ', error.line, error.column ?? 1)}</strong>
            ) : null}
            {error.message}
          </div>
        ) : null}
        {result ? (
          <div className="jp-OrreryMyDB-summary">
            {trans.__('%1 rows', result.rowCount.toLocaleString())}
            {result.elapsedMs !== null ? trans.__(' in %1 ms', result.elapsedMs) : ''}
            {result.truncated ? (
              <span className="jp-OrreryMyDB-truncated">
                {trans.__(' — cut at the row cap: submit a batch query for all rows')}
              </span>
            ) : null}
          </div>
        ) : null}
      </>
    );
  }
}

// ---------------------------------------------------------------------------
// Schema browser
// ---------------------------------------------------------------------------

const KIND_GROUPS: { label: string; kinds: string[] }[] = [
  { label: 'Tables', kinds: ['table', 'materialized_view'] },
  { label: 'Views', kinds: ['view'] },
  { label: 'Functions', kinds: ['function'] },
];

class SchemaBrowser extends ModelView {
  private open = new Set<string>();

  constructor(
    model: MyDBModel,
    private readonly exec: Exec,
    private readonly trans: TranslationBundle,
  ) {
    super(model);
    this.addClass('jp-OrreryMyDB-schema');
  }

  private toggle(key: string, onOpen?: () => void): void {
    if (this.open.has(key)) {
      this.open.delete(key);
    } else {
      this.open.add(key);
      onOpen?.();
    }
    this.update();
  }

  private table(context: string, t: IMyDBTable): JSX.Element {
    const key = `${context}/${t.name}`;
    const { exec, trans } = this;
    const isOpen = this.open.has(key);
    return (
      <li key={key} className="jp-OrreryMyDB-table" data-context={context} data-table={t.name}>
        <div className="jp-OrreryMyDB-row">
          <button
            type="button"
            className="jp-OrreryMyDB-twisty"
            aria-expanded={isOpen}
            onClick={() => this.toggle(key)}
          >
            {isOpen ? '▾' : '▸'} {t.name}
          </button>
          <span className="jp-OrreryMyDB-tableActions">
            <button
              type="button"
              title={trans.__('Query this table')}
              onClick={() => {
                this.model.loadSql(this.model.selectFrom(t.name), context);
              }}
            >
              SQL
            </button>
            <button
              type="button"
              title={trans.__('Open in a notebook as a DataFrame')}
              onClick={() => exec(CommandIDs.openInNotebook, { table: t.name, context })}
            >
              nb
            </button>
            {context === 'mydb' ? (
              <>
                <button
                  type="button"
                  title={trans.__('Export…')}
                  onClick={() => exec(CommandIDs.exportTable, { table: t.name })}
                >
                  ⤓
                </button>
                <button
                  type="button"
                  title={trans.__('Drop…')}
                  onClick={() => exec(CommandIDs.dropTable, { table: t.name })}
                >
                  ✕
                </button>
              </>
            ) : null}
          </span>
        </div>
        {isOpen ? (
          <>
            {t.description ? (
              <div className="jp-OrreryMyDB-description">{t.description}</div>
            ) : null}
            <ul className="jp-OrreryMyDB-columns">
              {t.columns.map((c) => (
                <li key={c.name} className="jp-OrreryMyDB-column" title={c.description ?? ''}>
                  <span className="jp-OrreryMyDB-columnName">{c.name}</span>{' '}
                  <span className="jp-OrreryMyDB-columnType">{c.type}</span>
                  {c.unit ? <span className="jp-OrreryMyDB-unit"> [{c.unit}]</span> : null}
                  {c.description ? (
                    <span className="jp-OrreryMyDB-columnDescription"> {c.description}</span>
                  ) : null}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </li>
    );
  }

  render(): JSX.Element {
    const { model, trans, exec } = this;
    return (
      <>
        <div className="jp-OrreryMyDB-schemaHeader">
          <span>{trans.__('Schema')}</span>
          <button
            type="button"
            title={trans.__('Import a table…')}
            onClick={() => exec(CommandIDs.importTable)}
          >
            {trans.__('Import')}
          </button>
          <button
            type="button"
            title={trans.__('Refresh')}
            onClick={() => exec(CommandIDs.refreshMyDB)}
          >
            ⟳
          </button>
        </div>
        <ul className="jp-OrreryMyDB-contexts">
          {model.contexts.map((c) => {
            const key = `context:${c.name}`;
            const isOpen =
              this.open.has(key) ||
              (c.name === model.context && !this.open.has(`closed:${c.name}`));
            const tables = model.tables(c.name);
            return (
              <li key={c.name} className="jp-OrreryMyDB-contextNode" data-context={c.name}>
                <button
                  type="button"
                  className="jp-OrreryMyDB-twisty"
                  aria-expanded={isOpen}
                  title={c.description}
                  onClick={() => {
                    if (isOpen) {
                      this.open.delete(key);
                      this.open.add(`closed:${c.name}`);
                      this.update();
                    } else {
                      this.open.delete(`closed:${c.name}`);
                      this.toggle(key, () => {
                        if (!tables) {
                          void model.loadTables(c.name).catch(() => undefined);
                        }
                      });
                    }
                  }}
                >
                  {isOpen ? '▾' : '▸'} {c.name} <span className="jp-OrreryMyDB-kind">{c.kind}</span>
                </button>
                {isOpen ? (
                  tables === undefined ? (
                    <div className="jp-OrreryMyDB-muted">{trans.__('Loading…')}</div>
                  ) : tables.length === 0 ? (
                    <div className="jp-OrreryMyDB-muted">{trans.__('No tables yet.')}</div>
                  ) : (
                    KIND_GROUPS.map((g) => {
                      const members = tables.filter((t) => g.kinds.includes(t.kind as string));
                      return members.length ? (
                        <div key={g.label} className="jp-OrreryMyDB-kindGroup">
                          <div className="jp-OrreryMyDB-kindLabel">{trans.__(g.label)}</div>
                          <ul>{members.map((t) => this.table(c.name, t))}</ul>
                        </div>
                      ) : null;
                    })
                  )
                ) : null}
              </li>
            );
          })}
        </ul>
      </>
    );
  }
}

// ---------------------------------------------------------------------------
// History and batch queries
// ---------------------------------------------------------------------------

class HistoryView extends ModelView {
  private query = '';

  constructor(
    model: MyDBModel,
    private readonly exec: Exec,
    private readonly trans: TranslationBundle,
  ) {
    super(model);
    this.addClass('jp-OrreryMyDB-history');
    this.title.label = trans.__('History');
  }

  render(): JSX.Element {
    const { model, trans, exec } = this;
    if (!model.available('history')) {
      return (
        <div className="jp-OrreryMyDB-muted">
          {trans.__('This hub keeps no query history yet.')}
        </div>
      );
    }
    return (
      <>
        <input
          className="jp-mod-styled jp-OrreryMyDB-historySearch"
          placeholder={trans.__('Search the SQL of past queries')}
          defaultValue={this.query}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              this.query = e.currentTarget.value;
              void model.refreshHistory(this.query).catch(() => undefined);
            }
          }}
        />
        <ul>
          {model.history.map((h) => (
            <li
              key={`${h.kind}-${h.id}`}
              className="jp-OrreryMyDB-historyEntry"
              data-status={h.status}
            >
              <button
                type="button"
                className="jp-OrreryMyDB-historySql"
                title={trans.__('Load into the editor')}
                onClick={() => exec(CommandIDs.loadFromHistory, { sql: h.sql, context: h.context })}
              >
                {h.sql}
              </button>
              <span className="jp-OrreryMyDB-muted">
                {h.kind} · {h.context} · {h.status}
                {h.row_count !== null ? ` · ${h.row_count} rows` : ''}
                {h.duration_ms !== null ? ` · ${h.duration_ms} ms` : ''} ·{' '}
                {new Date(h.submitted_at).toLocaleString()}
                {h.table ? ` · → ${h.table}` : ''}
              </span>
              {h.error ? <div className="jp-OrreryMyDB-error">{h.error}</div> : null}
              <button
                type="button"
                className="jp-mod-styled"
                onClick={() =>
                  exec(CommandIDs.rerunFromHistory, { sql: h.sql, context: h.context })
                }
              >
                {trans.__('Run again')}
              </button>
            </li>
          ))}
        </ul>
      </>
    );
  }
}

class BatchView extends ModelView {
  constructor(
    model: MyDBModel,
    private readonly exec: Exec,
    private readonly trans: TranslationBundle,
  ) {
    super(model);
    this.addClass('jp-OrreryMyDB-batches');
    this.title.label = trans.__('Batch queries');
  }

  render(): JSX.Element {
    const { model, trans, exec } = this;
    if (!model.available('batch')) {
      return (
        <div className="jp-OrreryMyDB-muted">{trans.__('This hub runs no batch queries yet.')}</div>
      );
    }
    if (model.batches.length === 0) {
      return (
        <div className="jp-OrreryMyDB-muted">
          {trans.__('No batch query yet: write one and press Submit.')}
        </div>
      );
    }
    return (
      <table className="jp-OrreryMyDB-batchTable">
        <thead>
          <tr>
            <th>#</th>
            <th>{trans.__('Status')}</th>
            <th>{trans.__('Table')}</th>
            <th>{trans.__('Rows')}</th>
            <th>{trans.__('SQL')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {model.batches.map((b) => (
            <tr key={b.id} data-status={b.status} className="jp-OrreryMyDB-batch">
              <td>{b.id}</td>
              <td>
                {b.status}
                {b.queue_position !== null ? trans.__(' (#%1 in queue)', b.queue_position) : ''}
              </td>
              <td>{b.table}</td>
              <td>{b.row_count ?? ''}</td>
              <td className="jp-OrreryMyDB-batchSql" title={b.sql}>
                {b.sql}
                {b.error ? (
                  <div className="jp-OrreryMyDB-error">
                    {b.error.position ? trans.__('At character %1: ', b.error.position) : ''}
                    {b.error.message}
                  </div>
                ) : null}
              </td>
              <td>
                {b.status === 'queued' || b.status === 'running' ? (
                  <button
                    type="button"
                    className="jp-mod-styled"
                    onClick={() => exec(CommandIDs.cancelBatch, { id: b.id })}
                  >
                    {trans.__('Cancel')}
                  </button>
                ) : b.status === 'finished' ? (
                  <button
                    type="button"
                    className="jp-mod-styled"
                    onClick={() => model.loadSql(model.selectFrom(b.table), 'mydb')}
                  >
                    {trans.__('Query it')}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
}

// ---------------------------------------------------------------------------
// Plot
// ---------------------------------------------------------------------------

interface IPlotChoice {
  kind: PlotKind;
  x: string;
  y: string;
  projection: SkyProjection;
}

class PlotControls extends ModelView {
  constructor(
    model: MyDBModel,
    private readonly choice: () => IPlotChoice,
    private readonly choose: (c: Partial<IPlotChoice>) => void,
    private readonly trans: TranslationBundle,
  ) {
    super(model);
    this.addClass('jp-OrreryMyDB-plotControls');
  }

  render(): JSX.Element {
    const { trans } = this;
    const c = this.choice();
    const numeric =
      this.model.result?.columns.filter((col) => col.numeric).map((col) => col.name) ?? [];
    const select = (
      label: string,
      value: string,
      values: string[],
      on: (v: string) => void,
      cls: string,
    ) => (
      <label>
        {label}{' '}
        <select
          className={cls}
          aria-label={label}
          value={value}
          onChange={(e) => on(e.currentTarget.value)}
        >
          {values.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
    );
    return (
      <>
        {select(
          trans.__('Plot'),
          c.kind,
          ['sky', 'scatter', 'histogram'],
          (v) => this.choose({ kind: v as PlotKind }),
          'jp-OrreryMyDB-plotKind',
        )}
        {select(
          c.kind === 'sky' ? 'RA' : 'x',
          c.x,
          numeric,
          (v) => this.choose({ x: v }),
          'jp-OrreryMyDB-plotX',
        )}
        {c.kind !== 'histogram'
          ? select(
              c.kind === 'sky' ? 'Dec' : 'y',
              c.y,
              numeric,
              (v) => this.choose({ y: v }),
              'jp-OrreryMyDB-plotY',
            )
          : null}
        {c.kind === 'sky'
          ? select(
              trans.__('Projection'),
              c.projection,
              ['mollweide', 'aitoff'],
              (v) => this.choose({ projection: v as SkyProjection }),
              'jp-OrreryMyDB-plotProjection',
            )
          : null}
      </>
    );
  }
}

class PlotView extends BoxPanel {
  private readonly output = new Panel();
  private readonly controls: PlotControls;
  private choice: IPlotChoice = { kind: 'sky', x: '', y: '', projection: 'mollweide' };

  constructor(
    private readonly model: MyDBModel,
    private readonly rendermime: IRenderMimeRegistry | null,
    private readonly trans: TranslationBundle,
  ) {
    super({ direction: 'top-to-bottom' });
    this.addClass('jp-OrreryMyDB-plot');
    this.title.label = trans.__('Plot');
    this.controls = new PlotControls(
      model,
      () => this.choice,
      (c) => void this.plot(c).catch(() => undefined),
      trans,
    );
    this.output.addClass('jp-OrreryMyDB-plotOutput');
    this.addWidget(this.controls);
    this.addWidget(this.output);
    BoxPanel.setStretch(this.output, 1);
  }

  /** A sensible first plot for the current result: the sky when it has RA/Dec. */
  private defaults(): IPlotChoice {
    const result = this.model.result;
    const numeric = result?.columns.filter((c) => c.numeric).map((c) => c.name) ?? [];
    const sky = result ? skyColumns(result) : null;
    if (sky) {
      return { ...this.choice, kind: 'sky', x: sky.ra, y: sky.dec };
    }
    return {
      ...this.choice,
      kind: numeric.length > 1 ? 'scatter' : 'histogram',
      x: numeric[0] ?? '',
      y: numeric[1] ?? numeric[0] ?? '',
    };
  }

  /** Draw a plot of the current result with these choices (the rest as before or default). */
  async plot(request: Partial<IPlotChoice> = {}, fresh = false): Promise<void> {
    const result = this.model.result;
    if (!result) {
      throw new Error(this.trans.__('Run a query first.'));
    }
    this.choice = { ...(fresh || !this.choice.x ? this.defaults() : this.choice), ...request };
    this.controls.update();
    if (!this.choice.x) {
      throw new Error(this.trans.__('The result has no numeric column to plot.'));
    }
    if (!this.rendermime?.mimeTypes.includes(VEGALITE_MIME)) {
      throw new Error(
        this.trans.__('This JupyterLab has no Vega-Lite renderer (@jupyterlab/vega5-extension).'),
      );
    }
    // The tab may have just been shown: let Lumino lay it out before measuring it.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const plotRequest: IPlotRequest = {
      ...this.choice,
      maxPoints: this.model.settings.maxPlotPoints,
      width: Math.max(320, this.node.clientWidth - 60),
    };
    const spec = plotSpec(result, plotRequest);
    const renderer = this.rendermime.createRenderer(VEGALITE_MIME);
    for (const w of [...this.output.widgets]) {
      w.dispose();
    }
    this.output.addWidget(renderer);
    await renderer.renderModel(new MimeModel({ data: { [VEGALITE_MIME]: spec as never } }));
    this.output.node.dataset['plot'] = this.choice.kind;
  }
}

// ---------------------------------------------------------------------------
// The panel
// ---------------------------------------------------------------------------

export class MyDBPanel extends SplitPanel {
  readonly editor: CodeEditorWrapper;
  readonly grid = new ResultGrid();
  private readonly tabs = new TabPanel();
  private readonly plotView: PlotView;
  private readonly resultsTab = new Panel();

  constructor(private readonly options: IMyDBPanelOptions) {
    super({ orientation: 'horizontal' });
    const { model, trans, commands } = options;
    const exec = execOf(commands);
    this.id = 'orrery-mydb';
    this.addClass('jp-OrreryMyDB');
    this.title.label = trans.__('MyDB');
    this.title.caption = trans.__('Orrery MyDB: SQL on your tables and the catalogs');
    this.title.icon = tableRowsIcon;
    this.title.closable = true;

    const schema = new SchemaBrowser(model, exec, trans);
    const right = new BoxPanel({ direction: 'top-to-bottom' });
    const toolbar = new Toolbar(model, exec, trans);
    this.editor = createSqlEditor(options.editorServices, model, () => exec(CommandIDs.runQuery));
    const work = new SplitPanel({ orientation: 'vertical' });
    this.resultsTab.title.label = trans.__('Results');
    this.resultsTab.addClass('jp-OrreryMyDB-results');
    this.resultsTab.addWidget(new Status(model, trans));
    this.resultsTab.addWidget(this.grid);
    this.plotView = new PlotView(model, options.rendermime, trans);
    this.tabs.addWidget(this.resultsTab);
    this.tabs.addWidget(this.plotView);
    this.tabs.addWidget(new HistoryView(model, exec, trans));
    this.tabs.addWidget(new BatchView(model, exec, trans));
    this.tabs.addClass('jp-OrreryMyDB-tabs');
    work.addWidget(this.editor);
    work.addWidget(this.tabs);
    work.setRelativeSizes([1, 2]);
    right.addWidget(toolbar);
    right.addWidget(work);
    BoxPanel.setStretch(work, 1);
    this.addWidget(schema);
    this.addWidget(right);
    this.setRelativeSizes([1, 3]);

    let shown: unknown = null;
    let shownError: unknown = null;
    model.changed.connect(() => {
      if (model.result !== shown) {
        shown = model.result;
        this.grid.setResult(model.result);
        this.tabs.currentWidget = this.resultsTab;
      }
      if (model.error !== shownError) {
        shownError = model.error;
        if (shownError) {
          this.tabs.currentWidget = this.resultsTab;
        }
      }
    }, this);
  }

  /** Plot the current result and show the plot tab. */
  async plot(request: Partial<IPlotChoice> = {}): Promise<void> {
    this.tabs.currentWidget = this.plotView;
    await this.plotView.plot(request, Object.keys(request).length === 0);
  }

  showTab(which: 'results' | 'history' | 'batch'): void {
    this.tabs.currentIndex = { results: 0, history: 2, batch: 3 }[which];
  }

  /** Move the editor's cursor to the last error's position. */
  showErrorPosition(): void {
    const e = this.options.model.error;
    if (e?.line) {
      showPosition(this.editor, e.line, e.column ?? 1);
    }
  }
}
