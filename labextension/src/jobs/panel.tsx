/**
 * The Jobs sidebar: my jobs, newest first, with status, place in the queue, estimated start and
 * duration, and each job's actions; below, the log of the job chosen, followed while it runs.
 * It renders the model and runs commands; it makes no request of its own.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  closeIcon,
  folderIcon,
  LabIcon,
  notebookIcon,
  ReactWidget,
  refreshIcon,
  runIcon,
  ToolbarButtonComponent,
  UseSignal,
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, type IJob } from '../tokens.js';
import { isActive, jobProgress, jobTitle, parametersText } from './format.js';
import type { JobLog, JobsModel } from './model.js';

const JOBS_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<path d="M4 4h16v3H4zM4 10.5h16v3H4zM4 17h10v3H4z"/>' +
  '<path d="M17 15.5l5 3-5 3z"/>' +
  '</g></svg>';

export const jobsIcon = new LabIcon({ name: 'orrery:jobs', svgstr: JOBS_SVG });

const LOG_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
  '<g class="jp-icon3" fill="#616161"><path d="M5 3h10l4 4v14H5zM8 10h8v1.5H8zM8 13.5h8V15H8zM8 17h5v1.5H8z"/></g></svg>';

export const logIcon = new LabIcon({ name: 'orrery:job-log', svgstr: LOG_SVG });

export interface IJobsPanelOptions {
  model: JobsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

export class JobsPanel extends ReactWidget {
  constructor(private readonly options: IJobsPanelOptions) {
    super();
    this.id = 'orrery-jobs';
    this.addClass('jp-OrreryJobs');
    this.title.icon = jobsIcon;
    this.title.caption = options.trans.__('Orrery Jobs');
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.options.model.changed}>
        {() => <JobsView {...this.options} />}
      </UseSignal>
    );
  }
}

type Exec = (id: CommandIDs, args?: Record<string, string | number>) => void;

function JobsView(props: IJobsPanelOptions): React.ReactElement {
  const { model, commands, trans } = props;
  const exec: Exec = (id, args = {}) => {
    void commands.execute(id, args);
  };
  const shown = model.log?.jobId ?? null;
  return (
    <div className="jp-OrreryGroups-body">
      <header className="jp-OrreryGroups-header">
        <h2 className="jp-OrreryGroups-title">{trans.__('Jobs')}</h2>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh')}
          enabled={!model.loading}
          onClick={() => exec(CommandIDs.refreshJobs)}
          dataset={{ 'data-testid': 'orrery-refresh-jobs' }}
        />
      </header>
      {model.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {model.error}
        </div>
      )}
      {!model.loaded && !model.error && (
        <div className="jp-OrreryGroups-empty">{trans.__('Loading…')}</div>
      )}
      {model.loaded && model.jobs.length === 0 && (
        <div className="jp-OrreryGroups-empty">
          {trans.__('No jobs yet. Run a notebook as a job from its toolbar or the File menu.')}
        </div>
      )}
      <ul className="jp-OrreryGroups-list jp-OrreryJobs-list">
        {model.jobs.map((job) => (
          <JobRow key={job.id} job={job} selected={job.id === shown} exec={exec} trans={trans} />
        ))}
      </ul>
      {model.log && (
        <LogView log={model.log} job={model.find(model.log.jobId)} exec={exec} trans={trans} />
      )}
    </div>
  );
}

function JobRow(props: {
  job: IJob;
  selected: boolean;
  exec: Exec;
  trans: TranslationBundle;
}): React.ReactElement {
  const { job, selected, exec, trans } = props;
  const args = { id: job.id };
  const params = parametersText(job);
  const ended = !isActive(job);
  return (
    <li
      className={`jp-OrreryGroups-item jp-OrreryJobs-job${selected ? ' jp-mod-selected' : ''}`}
      data-job-id={job.id}
      data-status={job.status}
    >
      <div className="jp-OrreryGroups-itemMain">
        <button
          type="button"
          className="jp-OrreryVolumes-select"
          title={job.notebook ?? job.command ?? ''}
          onClick={() => exec(CommandIDs.showJobLog, args)}
        >
          <span className="jp-OrreryGroups-name">{jobTitle(job)}</span>
        </button>
        <span
          className={`jp-OrreryGroups-badge jp-OrreryJobs-status jp-OrreryJobs-status-${job.status}`}
          data-testid="orrery-job-status"
        >
          {job.status.replace('_', ' ')}
        </span>
      </div>
      <div className="jp-OrreryGroups-meta" data-testid="orrery-job-progress">
        #{job.id} · {jobProgress(job, Date.now())}
      </div>
      {params && (
        <div className="jp-OrreryGroups-meta jp-OrreryJobs-params" title={params}>
          {params}
        </div>
      )}
      <div className="jp-OrreryJobs-actions">
        <ToolbarButtonComponent
          icon={logIcon}
          tooltip={trans.__('Show the log')}
          onClick={() => exec(CommandIDs.showJobLog, args)}
          dataset={{ 'data-testid': 'orrery-job-log' }}
        />
        {job.output_notebook && job.started_at && (
          <ToolbarButtonComponent
            icon={notebookIcon}
            tooltip={trans.__('Open the executed notebook')}
            onClick={() => exec(CommandIDs.openJobNotebook, args)}
            dataset={{ 'data-testid': 'orrery-job-open-notebook' }}
          />
        )}
        <ToolbarButtonComponent
          icon={folderIcon}
          tooltip={trans.__('Show the output folder')}
          onClick={() => exec(CommandIDs.openJobOutput, args)}
          dataset={{ 'data-testid': 'orrery-job-open-output' }}
        />
        {ended ? (
          <ToolbarButtonComponent
            icon={runIcon}
            tooltip={trans.__('Run again')}
            onClick={() => exec(CommandIDs.resubmitJob, args)}
            dataset={{ 'data-testid': 'orrery-job-resubmit' }}
          />
        ) : (
          <ToolbarButtonComponent
            icon={closeIcon}
            tooltip={trans.__('Cancel')}
            onClick={() => exec(CommandIDs.cancelJob, args)}
            dataset={{ 'data-testid': 'orrery-job-cancel' }}
          />
        )}
      </div>
    </li>
  );
}

function LogView(props: {
  log: JobLog;
  job: IJob | null;
  exec: Exec;
  trans: TranslationBundle;
}): React.ReactElement {
  const { log, job, exec, trans } = props;
  return (
    <section className="jp-OrreryGroups-section jp-OrreryJobs-log" data-testid="orrery-job-logs">
      <h3 className="jp-OrreryGroups-sectionTitle">
        {trans.__('Log of job %1', log.jobId)}
        {job ? ` (${jobTitle(job)})` : ''}
        {!log.complete && (
          <span className="jp-OrreryGroups-count" data-testid="orrery-job-following">
            {trans.__('following')}
          </span>
        )}
        <ToolbarButtonComponent
          icon={closeIcon}
          tooltip={trans.__('Close the log')}
          onClick={() => exec(CommandIDs.showJobLog, { id: -1 })}
        />
      </h3>
      {log.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {log.error}
        </div>
      )}
      <div className="jp-OrreryGroups-meta">stdout</div>
      <pre className="jp-OrreryJobs-stream" data-testid="orrery-job-stdout">
        {log.stdout}
      </pre>
      <div className="jp-OrreryGroups-meta">stderr</div>
      <pre className="jp-OrreryJobs-stream jp-mod-stderr" data-testid="orrery-job-stderr">
        {log.stderr}
      </pre>
    </section>
  );
}
