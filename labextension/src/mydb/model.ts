/**
 * State of the MyDB panel and the actions on it: the SQL and its context, the last result,
 * the schema browser, batch jobs and the history. Talks to the hub only through
 * `IMyDBClient` and `IUserClient`, so unit tests run it against the in-memory hub.
 *
 * Actions reject with `HubError`; a failed query is also kept in `error`, with the line and
 * column of PostgreSQL's position, for the panel to show. Routes a hub does not serve yet
 * (batch, history, import/export) make their feature `unavailable` instead of an error.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError, HubQueryError, hubFailureOf, type IHubFailure } from '../api.js';
import type {
  ExportFormat,
  HubId,
  IBatchQuery,
  IHistoryEntry,
  IImportResult,
  IMyDBClient,
  IMyDBContext,
  IMyDBTable,
  ImportFormat,
  IQuickQueryRequest,
  ISavedResult,
  IUserClient,
} from '../tokens.js';
import { type NotebookSource, notebookCode } from './notebook.js';
import { type IQueryResult, toResult } from './result.js';

export const DEFAULT_CONTEXT = 'mydb';

/** Limits and defaults, from schema/mydb.json. */
export interface IMyDBSettings {
  maxRows: number;
  timeoutSeconds: number;
  maxPlotPoints: number;
  historyLimit: number;
  defaultContext: string;
  /** Keep one hub session per panel (temp tables and SET persist between runs). */
  useSession: boolean;
  batchPollSeconds: number;
}

export const DEFAULT_SETTINGS: IMyDBSettings = {
  maxRows: 500_000,
  timeoutSeconds: 60,
  maxPlotPoints: 20_000,
  historyLimit: 100,
  defaultContext: DEFAULT_CONTEXT,
  useSession: false,
  batchPollSeconds: 5,
};

export interface IMyDBError extends IHubFailure {
  /** PostgreSQL's 1-based character position in the SQL, and its line and column. */
  position: number | null;
  line: number | null;
  column: number | null;
}

/** Features whose routes some hubs do not serve yet. */
export type Feature = 'batch' | 'history' | 'into' | 'tables';

/** The line and column (1-based) of a 1-based character position in `text`. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, position - 1));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/** True when the hub (or the Jupyter server's proxy) has no such route at all. */
export function isMissingRoute(e: unknown): boolean {
  return (
    e instanceof HubError &&
    (e.status === 404 || e.status === 405) &&
    /^(No API route|The hub proxy does not forward)/.test(e.message)
  );
}

/** MyDB table names: what the hub accepts for `into`, `table` and imports. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function checkTableName(name: string): string {
  const n = name.trim();
  if (!TABLE_NAME.test(n)) {
    throw new HubError(
      400,
      'invalid_input',
      'A table name is a letter or _ then letters, digits or _ (at most 63).',
    );
  }
  return n;
}

export class MyDBModel {
  constructor(
    private readonly client: IMyDBClient,
    private readonly users: IUserClient,
    settings: Partial<IMyDBSettings> = {},
  ) {
    this._settings = { ...DEFAULT_SETTINGS, ...settings };
    this._context = this._settings.defaultContext;
    this._session = `lab-${Math.random().toString(36).slice(2, 12)}`;
  }

  private _settings: IMyDBSettings;
  private _user: string | null = null;
  private _contexts: IMyDBContext[] = [];
  private _context: string;
  private _tables = new Map<string, IMyDBTable[]>();
  private _sql = '';
  private _result: IQueryResult | null = null;
  private _resultSource: { sql: string; context: string } | null = null;
  private _running = false;
  private _error: IMyDBError | null = null;
  private _history: IHistoryEntry[] = [];
  private _batches: IBatchQuery[] = [];
  private _unavailable = new Set<Feature>();
  private _session: string;
  private _runSeq = 0;
  private _changed = new Signal<this, void>(this);
  private _sqlChanged = new Signal<this, string>(this);

  /** Emitted after any change of state. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  /** Emitted when the SQL is set from outside the editor (history, schema browser). */
  get sqlChanged(): ISignal<this, string> {
    return this._sqlChanged;
  }
  get settings(): IMyDBSettings {
    return this._settings;
  }
  get user(): string | null {
    return this._user;
  }
  get contexts(): readonly IMyDBContext[] {
    return this._contexts;
  }
  get context(): string {
    return this._context;
  }
  get sql(): string {
    return this._sql;
  }
  get result(): IQueryResult | null {
    return this._result;
  }
  /** The SQL and context that made the result. */
  get resultSource(): { sql: string; context: string } | null {
    return this._resultSource;
  }
  get running(): boolean {
    return this._running;
  }
  get error(): IMyDBError | null {
    return this._error;
  }
  get history(): readonly IHistoryEntry[] {
    return this._history;
  }
  get batches(): readonly IBatchQuery[] {
    return this._batches;
  }
  /** Tables of a context, once loaded. */
  tables(context: string = this._context): readonly IMyDBTable[] | undefined {
    return this._tables.get(context);
  }
  /** False once the hub answered that it has no route for the feature. */
  available(feature: Feature): boolean {
    return !this._unavailable.has(feature);
  }

  configure(settings: Partial<IMyDBSettings>): void {
    this._settings = { ...this._settings, ...settings };
    if (settings.defaultContext && this._contexts.length === 0) {
      this._context = settings.defaultContext;
    }
    this._changed.emit();
  }

  /** Set by the editor as the user types (no signal back to the editor). */
  setSql(sql: string): void {
    this._sql = sql;
  }

  /** Replace the SQL from outside the editor. */
  loadSql(sql: string, context?: string): void {
    this._sql = sql;
    if (context !== undefined) {
      this._context = context;
    }
    this._sqlChanged.emit(sql);
    this._changed.emit();
  }

  private async me(): Promise<string> {
    if (this._user === null) {
      this._user = (await this.users.currentUser()).name;
    }
    return this._user;
  }

  /** Who I am, the contexts and the current context's tables. */
  async refresh(): Promise<void> {
    await this.me();
    this._contexts = await this.client.contexts();
    if (!this._contexts.some((c) => c.name === this._context)) {
      this._context = this._contexts[0]?.name ?? DEFAULT_CONTEXT;
    }
    this._tables.clear();
    this._changed.emit();
    await this.loadTables(this._context);
  }

  async setContext(name: string): Promise<void> {
    this._context = name;
    this._changed.emit();
    if (!this._tables.has(name)) {
      await this.loadTables(name);
    }
  }

  async loadTables(context: string): Promise<readonly IMyDBTable[]> {
    const tables = await this.client.tables(context);
    this._tables.set(context, tables);
    this._changed.emit();
    return tables;
  }

  /**
   * Names for the editor's completion: every loaded context's tables with their columns,
   * by bare name (the context's schema is on the search path) and as `schema.table`.
   */
  completionSchema(): Record<string, string[]> {
    const schema: Record<string, string[]> = {};
    for (const [context, tables] of this._tables) {
      const prefix = this._contexts.find((c) => c.name === context)?.schema;
      for (const t of tables) {
        const columns = t.columns.map((c) => c.name);
        if (context === this._context || context === DEFAULT_CONTEXT) {
          schema[t.name] = columns;
        }
        if (prefix) {
          schema[`${prefix}.${t.name}`] = columns;
        }
      }
    }
    return schema;
  }

  private request(sql: string, context: string): IQuickQueryRequest {
    const body: IQuickQueryRequest = {
      sql,
      max_rows: this._settings.maxRows,
      timeout_seconds: this._settings.timeoutSeconds,
    };
    // Left out when default, so that hubs from before contexts and sessions accept it.
    if (context !== DEFAULT_CONTEXT) {
      body.context = context;
    }
    if (this._settings.useSession) {
      body.session = this._session;
    }
    return body;
  }

  private requireSql(sql: string): string {
    if (!sql.trim()) {
      throw new HubError(400, 'invalid_input', 'Write a query first.');
    }
    return sql;
  }

  private fail(e: unknown, sql: string): never {
    const error = hubFailureOf(e);
    const position = e instanceof HubQueryError ? e.position : null;
    const at = position !== null ? lineAndColumn(sql, position) : null;
    this._error = { ...error, position, line: at?.line ?? null, column: at?.column ?? null };
    throw e;
  }

  /** Run a quick query (the editor's SQL unless given); the result replaces the last one. */
  async run(sql: string = this._sql, context: string = this._context): Promise<IQueryResult> {
    this.requireSql(sql);
    const seq = ++this._runSeq;
    this._running = true;
    this._error = null;
    this._changed.emit();
    try {
      const answer = await this.client.query(await this.me(), this.request(sql, context));
      const result = toResult(answer);
      if (seq === this._runSeq) {
        this._result = result;
        this._resultSource = { sql, context };
      }
      this.refreshHistory().catch(() => undefined);
      return result;
    } catch (e) {
      if (seq === this._runSeq) {
        this.fail(e, sql);
      }
      throw e;
    } finally {
      if (seq === this._runSeq) {
        this._running = false;
        this._changed.emit();
      }
    }
  }

  /** Run the query with `into`: its result becomes a new MyDB table. */
  async saveToMyDB(table: string, sql?: string, context?: string): Promise<ISavedResult> {
    const source =
      sql !== undefined ? { sql, context: context ?? this._context } : this._resultSource;
    const text = this.requireSql(source?.sql ?? this._sql);
    const name = checkTableName(table);
    const user = await this.me();
    try {
      const saved = await this.client.saveInto(user, {
        ...this.request(text, source?.context ?? this._context),
        into: name,
      });
      await this.loadTables(DEFAULT_CONTEXT);
      return saved;
    } catch (e) {
      this.noteMissing(e, 'into');
      this.fail(e, text);
    }
  }

  private noteMissing(e: unknown, feature: Feature): void {
    if (isMissingRoute(e)) {
      this._unavailable.add(feature);
      this._changed.emit();
    }
  }

  /** Submit the editor's SQL as a batch query into `table` (the hub names it if not given). */
  async submit(table?: string): Promise<IBatchQuery> {
    const sql = this.requireSql(this._sql);
    const body: { sql: string; context?: string; table?: string } = { sql, context: this._context };
    if (table?.trim()) {
      body.table = checkTableName(table);
    }
    try {
      const job = await this.client.submitBatch(await this.me(), body);
      this._batches = [job, ...this._batches.filter((b) => b.id !== job.id)];
      this._changed.emit();
      this.refreshHistory().catch(() => undefined);
      return job;
    } catch (e) {
      this.noteMissing(e, 'batch');
      this.fail(e, sql);
    }
  }

  /** Reload the batch jobs; when one has just finished, its table appears in MyDB. */
  async refreshBatches(): Promise<void> {
    try {
      const before = new Map(this._batches.map((b) => [b.id, b.status]));
      const { queries } = await this.client.listBatch(await this.me(), 50);
      this._batches = queries;
      this._unavailable.delete('batch');
      this._changed.emit();
      const done = queries.some((q) => q.status === 'finished' && before.get(q.id) !== 'finished');
      if (done && before.size > 0) {
        await this.loadTables(DEFAULT_CONTEXT);
      }
      // A batch query that changed status changed its history entry too.
      if (queries.some((q) => before.has(q.id) && before.get(q.id) !== q.status)) {
        this.refreshHistory().catch(() => undefined);
      }
    } catch (e) {
      this.noteMissing(e, 'batch');
      throw e;
    }
  }

  /** True while a job is queued or running (the plugin polls then). */
  get batchesPending(): boolean {
    return this._batches.some((b) => b.status === 'queued' || b.status === 'running');
  }

  async cancelBatch(id: HubId): Promise<IBatchQuery> {
    const job = await this.client.cancelBatch(await this.me(), id);
    this._batches = this._batches.map((b) => (b.id === job.id ? job : b));
    this._changed.emit();
    return job;
  }

  async refreshHistory(q?: string): Promise<void> {
    try {
      const { queries } = await this.client.history(await this.me(), {
        q,
        limit: this._settings.historyLimit,
      });
      this._history = queries;
      this._unavailable.delete('history');
    } catch (e) {
      this.noteMissing(e, 'history');
      throw e;
    } finally {
      this._changed.emit();
    }
  }

  /** Put a history entry's SQL and context back in the editor. */
  loadFromHistory(entry: Pick<IHistoryEntry, 'sql' | 'context'>): void {
    this.loadSql(entry.sql, entry.context);
  }

  /** Re-running is sending the same SQL and context again. */
  async rerun(entry: Pick<IHistoryEntry, 'sql' | 'context'>): Promise<IQueryResult> {
    this.loadFromHistory(entry);
    return this.run(entry.sql, entry.context);
  }

  async importTable(table: string, format: ImportFormat, file: Blob): Promise<IImportResult> {
    const name = checkTableName(table);
    try {
      const made = await this.client.importTable(await this.me(), name, format, file);
      await this.loadTables(DEFAULT_CONTEXT);
      return made;
    } catch (e) {
      this.noteMissing(e, 'tables');
      throw e;
    }
  }

  async exportTable(table: string, format: ExportFormat): Promise<Blob> {
    try {
      return await this.client.exportTable(await this.me(), table, format);
    } catch (e) {
      this.noteMissing(e, 'tables');
      throw e;
    }
  }

  async dropTable(table: string): Promise<void> {
    try {
      await this.client.dropTable(await this.me(), table);
    } catch (e) {
      this.noteMissing(e, 'tables');
      throw e;
    }
    await this.loadTables(DEFAULT_CONTEXT);
  }

  /** The SQL that shows a table of a context (the schema browser's "query this"). */
  selectFrom(table: string, limit = 100): string {
    const name = /^[a-z_][a-z0-9_]*$/.test(table) ? table : `"${table.replace(/"/g, '""')}"`;
    return `SELECT * FROM ${name} LIMIT ${limit}`;
  }

  /** The cell that loads the current result (or a table) as a DataFrame. */
  notebookCell(table?: string, context?: string): string {
    let source: NotebookSource;
    if (table !== undefined) {
      source = { kind: 'table', table, context: context ?? this._context };
    } else {
      const from = this._resultSource ?? {
        sql: this.requireSql(this._sql),
        context: this._context,
      };
      source = { kind: 'query', sql: from.sql, context: from.context };
    }
    return notebookCode(source);
  }
}
