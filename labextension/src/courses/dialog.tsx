/**
 * One small form dialog for the Course panel (new course, distribute, grade, submit): fields
 * described as data, values handed back as strings. `askForm` keeps asking until `check`
 * accepts the values or the user cancels, showing its refusal above the fields; what the hub
 * then answers is the command's to show.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

export interface IField {
  key: string;
  label: string;
  kind: 'text' | 'textarea' | 'datetime' | 'select';
  /** For `select`: value and label of each choice. */
  choices?: { value: string; label: string }[];
  placeholder?: string;
  help?: string;
}

type Values = Record<string, string>;

class FormBody extends ReactWidget implements Dialog.IBodyWidget<Values> {
  private values: Values;

  constructor(
    private readonly fields: IField[],
    values: Values,
    private readonly error: string | null,
    private readonly testid: string,
  ) {
    super();
    this.values = { ...values };
    this.addClass('jp-OrreryCourses-dialog');
  }

  getValue(): Values {
    return { ...this.values };
  }

  protected render(): React.ReactElement {
    return (
      <Form
        fields={this.fields}
        initial={this.values}
        error={this.error}
        testid={this.testid}
        onChange={(v) => {
          this.values = v;
        }}
      />
    );
  }
}

function Form(props: {
  fields: IField[];
  initial: Values;
  error: string | null;
  testid: string;
  onChange: (values: Values) => void;
}): React.ReactElement {
  const [values, setValues] = React.useState(props.initial);
  const set = (key: string) => (e: { target: { value: string } }) => {
    const next = { ...values, [key]: e.target.value };
    setValues(next);
    props.onChange(next);
  };
  return (
    <form
      className="jp-OrreryCourses-form"
      onSubmit={(e) => e.preventDefault()}
      data-testid={props.testid}
    >
      {props.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {props.error}
        </div>
      )}
      {props.fields.map((f) => {
        const id = `${props.testid}-${f.key}`;
        const common = {
          id,
          className: 'jp-mod-styled',
          value: values[f.key] ?? '',
          onChange: set(f.key),
          'data-testid': id,
        };
        return (
          <div key={f.key} className="jp-OrreryCourses-field">
            <label htmlFor={id}>{f.label}</label>
            {f.kind === 'select' ? (
              <select {...common}>
                {(f.choices ?? []).map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            ) : f.kind === 'textarea' ? (
              <textarea {...common} rows={3} placeholder={f.placeholder} />
            ) : (
              <input
                {...common}
                type={f.kind === 'datetime' ? 'datetime-local' : 'text'}
                placeholder={f.placeholder}
              />
            )}
            {f.help && <span className="jp-OrreryGroups-meta">{f.help}</span>}
          </div>
        );
      })}
    </form>
  );
}

/**
 * Ask for the fields until `check(values)` returns (its answer is returned) or the user
 * cancels (null). What `check` throws is shown in the dialog, which opens again.
 */
export async function askForm<T>(options: {
  title: string;
  fields: IField[];
  initial: Values;
  okLabel: string;
  testid: string;
  trans: TranslationBundle;
  check: (values: Values) => T;
}): Promise<T | null> {
  let values = options.initial;
  let error: string | null = null;
  for (;;) {
    const r = await showDialog({
      title: options.title,
      body: new FormBody(options.fields, values, error, options.testid),
      buttons: [
        Dialog.cancelButton({ label: options.trans.__('Cancel') }),
        Dialog.okButton({ label: options.okLabel }),
      ],
      focusNodeSelector: 'input, textarea, select',
    });
    if (!r.button.accept || !r.value) {
      return null;
    }
    values = r.value;
    try {
      return options.check(values);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
  }
}
