/**
 * The Run-as-job dialog's body: the fields of `IRunJobValues`, prefilled from `IRunJobDefaults`.
 * `showRunJobDialog` keeps asking until the values make a valid request or the user cancels.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import {
  type IRunJobDefaults,
  type IRunJobValues,
  type RunRequest,
  runRequest,
} from './run-form.js';

class RunJobBody extends ReactWidget implements Dialog.IBodyWidget<IRunJobValues> {
  private values: IRunJobValues;

  constructor(
    private readonly defaults: IRunJobDefaults,
    values: IRunJobValues,
    private readonly error: string | null,
    private readonly trans: TranslationBundle,
  ) {
    super();
    this.values = { ...values };
    this.addClass('jp-OrreryJobs-dialog');
  }

  getValue(): IRunJobValues {
    return { ...this.values };
  }

  protected render(): React.ReactElement {
    return (
      <RunJobForm
        defaults={this.defaults}
        initial={this.values}
        error={this.error}
        trans={this.trans}
        onChange={(values) => {
          this.values = values;
        }}
      />
    );
  }
}

function RunJobForm(props: {
  defaults: IRunJobDefaults;
  initial: IRunJobValues;
  error: string | null;
  trans: TranslationBundle;
  onChange: (values: IRunJobValues) => void;
}): React.ReactElement {
  const { defaults, trans } = props;
  const [values, setValues] = React.useState(props.initial);
  const set = (key: keyof IRunJobValues) => (e: { target: { value: string } }) => {
    const next = { ...values, [key]: e.target.value };
    setValues(next);
    props.onChange(next);
  };
  const options = (list: string[]) =>
    list.map((o) => (
      <option key={o} value={o}>
        {o}
      </option>
    ));
  return (
    <form className="jp-OrreryJobs-form" onSubmit={(e) => e.preventDefault()}>
      <div className="jp-OrreryJobs-notebook" data-testid="orrery-job-notebook">
        {defaults.notebook}
      </div>
      {props.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {props.error}
        </div>
      )}
      <label>
        {trans.__('Domain')}
        <select
          className="jp-mod-styled"
          value={values.domain}
          onChange={set('domain')}
          data-testid="orrery-job-domain"
        >
          {options(defaults.domains)}
        </select>
      </label>
      <label>
        {trans.__('Image')}
        <select
          className="jp-mod-styled"
          value={values.image}
          onChange={set('image')}
          data-testid="orrery-job-image"
        >
          {options(defaults.images)}
        </select>
      </label>
      <label>
        {trans.__('Working folder (in your workspace)')}
        <input
          className="jp-mod-styled"
          value={values.workingDir}
          onChange={set('workingDir')}
          placeholder={trans.__('the top of your workspace')}
          data-testid="orrery-job-workdir"
        />
      </label>
      <label>
        {trans.__('Parameters (name = value, one a line)')}
        <textarea
          className="jp-mod-styled jp-OrreryJobs-parameters"
          rows={Math.min(10, Math.max(3, values.parameters.split('\n').length + 1))}
          value={values.parameters}
          onChange={set('parameters')}
          spellCheck={false}
          data-testid="orrery-job-parameters"
        />
        <span className="jp-OrreryGroups-meta">
          {defaults.hasParameterCell
            ? trans.__('From the cell tagged "parameters"; only changed values are sent.')
            : trans.__(
                'This notebook has no cell tagged "parameters": values given here are set in a cell at its top.',
              )}
        </span>
      </label>
      <label>
        {trans.__('Sweep (optional: one parameter set a line, or a JSON list)')}
        <textarea
          className="jp-mod-styled jp-OrreryJobs-parameters"
          rows={Math.min(10, Math.max(2, values.sweep.split('\n').length + 1))}
          value={values.sweep}
          onChange={set('sweep')}
          spellCheck={false}
          placeholder={'n = 1; label = "a"\nn = 2; label = "b"'}
          data-testid="orrery-job-sweep"
        />
        <span className="jp-OrreryGroups-meta">
          {trans.__(
            'One job per set, each with the parameters above and its own set on top. Empty: one job.',
          )}
        </span>
      </label>
      <div className="jp-OrreryJobs-row">
        <label>
          {trans.__('CPUs')}
          <input
            className="jp-mod-styled"
            inputMode="decimal"
            value={values.cpus}
            onChange={set('cpus')}
            data-testid="orrery-job-cpus"
          />
        </label>
        <label>
          {trans.__('Memory (MiB)')}
          <input
            className="jp-mod-styled"
            inputMode="numeric"
            value={values.memoryMb}
            onChange={set('memoryMb')}
            data-testid="orrery-job-memory"
          />
        </label>
        <label>
          {trans.__('Time limit (minutes)')}
          <input
            className="jp-mod-styled"
            inputMode="numeric"
            value={values.timeLimitMinutes}
            onChange={set('timeLimitMinutes')}
            placeholder={trans.__("the domain's longest")}
            data-testid="orrery-job-time-limit"
          />
        </label>
      </div>
    </form>
  );
}

/**
 * Ask for a notebook job's settings; resolves to the request (one job, or a sweep), or null if
 * cancelled. A value the form refuses shows the dialog again with the message and the values
 * as typed.
 */
export async function showRunJobDialog(
  defaults: IRunJobDefaults,
  trans: TranslationBundle,
  idempotencyKey: string,
): Promise<RunRequest | null> {
  let values = defaults.values;
  let error: string | null = null;
  for (;;) {
    const result = await showDialog({
      title: trans.__('Run as job'),
      body: new RunJobBody(defaults, values, error, trans),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Run') })],
      focusNodeSelector: 'textarea',
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    values = result.value;
    try {
      return runRequest(defaults, values, idempotencyKey);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
  }
}
