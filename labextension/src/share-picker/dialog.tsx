/**
 * The parts both share dialogs (a volume's, a server's) are made of: the dialog body, which
 * keeps Enter in its forms from closing the dialog; the picker, a "share with" field completed
 * with users and groups beside the dialog's own access control; the list of shares with a
 * Revoke each; the code made last, to copy; the live codes with a Revoke each.
 */
import { Clipboard } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { ISignal } from '@lumino/signaling';
import * as React from 'react';
import type { IHubFailure } from '../api.js';
import { type AnySharee, type ShareCandidate, shareeKey } from './model.js';

/** Lumino's message type, named through the widget (its package is not a dependency here). */
type Message = Parameters<ReactWidget['processMessage']>[0];

/** A share dialog's body: re-rendered whenever its model changes. */
export class ShareDialogBody extends ReactWidget {
  constructor(
    private readonly changed: ISignal<unknown, void>,
    private readonly view: () => React.ReactElement,
    className?: string,
  ) {
    super();
    this.addClass('jp-OrreryShare');
    if (className) this.addClass(className);
  }

  /**
   * Enter in the dialog's fields would close the dialog (JupyterLab's dialog listens in the
   * capture phase). Stopped on the way down, in the document's capture phase, it reaches only
   * the field, whose form submits it as forms do: Enter in "share with" shares.
   */
  private readonly keepEnter = (event: KeyboardEvent): void => {
    const target = event.target;
    if (event.key === 'Enter' && target instanceof Element && this.node.contains(target)) {
      if (target.closest('form.jp-OrreryShare-form')) event.stopPropagation();
    }
  };

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    document.addEventListener('keydown', this.keepEnter, true);
  }

  protected override onBeforeDetach(msg: Message): void {
    document.removeEventListener('keydown', this.keepEnter, true);
    super.onBeforeDetach(msg);
  }

  protected render(): React.ReactElement {
    return <UseSignal signal={this.changed}>{() => this.view()}</UseSignal>;
  }
}

/** What every part of a dialog is given: whether an action runs, how to run one, the words. */
export interface IDialogPart {
  busy: boolean;
  run: (action: () => Promise<unknown>) => void;
  trans: TranslationBundle;
}

/**
 * `busy` while an action runs, and `run` to start one. A failure is the model's `error`,
 * shown by the dialog, so it is not rethrown here.
 */
export function useBusy(): [boolean, (action: () => Promise<unknown>) => void] {
  const [busy, setBusy] = React.useState(false);
  const run = (action: () => Promise<unknown>) => {
    setBusy(true);
    action()
      .catch(() => undefined)
      .finally(() => setBusy(false));
  };
  return [busy, run];
}

/**
 * The "share with" form: a user or group name completed from the hub, the dialog's access
 * control (`children`), and Share. Enter in the field shares too.
 */
export function SharePicker(
  props: IDialogPart & {
    candidates: (text: string) => Promise<ShareCandidate[]>;
    /** Share with what the text names, given the completions offered for it. */
    share: (text: string, offered: readonly ShareCandidate[]) => Promise<void>;
    /** The completions' list id, unique in the page. */
    listId: string;
    children?: React.ReactNode;
  },
): React.ReactElement {
  const { trans } = props;
  const [who, setWho] = React.useState('');
  const [offered, setOffered] = React.useState<ShareCandidate[]>([]);

  const onWho = (text: string) => {
    setWho(text);
    props
      .candidates(text)
      .then(setOffered)
      .catch(() => setOffered([]));
  };

  return (
    <form
      className="jp-OrreryShare-form"
      onSubmit={(e) => {
        e.preventDefault();
        props.run(async () => {
          await props.share(who, offered);
          setWho('');
          setOffered([]);
        });
      }}
    >
      <input
        className="jp-mod-styled jp-OrreryShare-who"
        list={props.listId}
        placeholder={trans.__('User or group')}
        aria-label={trans.__('Share with user or group')}
        value={who}
        onChange={(e) => onWho(e.target.value)}
      />
      <datalist id={props.listId}>
        {offered.map((c) => (
          <option key={c.kind === 'user' ? `u:${c.name}` : `g:${c.id}`} value={c.label} />
        ))}
      </datalist>
      {props.children}
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept"
        disabled={props.busy || !who.trim()}
      >
        {trans.__('Share')}
      </button>
    </form>
  );
}

/** The refusal of the last action, if any. */
export function ShareError(props: { error: IHubFailure | null }): React.ReactElement | null {
  if (!props.error) return null;
  return (
    <div className="jp-OrreryGroups-error" role="alert">
      {props.error.message}
    </div>
  );
}

/** One share as the list shows it. */
export interface ISharesListItem {
  /** `user:bob`, `group:7`: the row's key and its `data-sharee`. */
  key: string;
  name: string;
  /** What the share allows (read-only, use, …). */
  badge: string;
  /** More `data-` attributes of the row (a volume's `data-access`). */
  data?: Record<string, string>;
  revoke: () => Promise<unknown>;
}

/** The list's rows for a model's shares; `rowOf` says how the dialog describes one. */
export function shareItems<TShare, TSharee extends AnySharee>(
  model: {
    shares: readonly TShare[];
    shareeOf(share: TShare): TSharee;
    revoke(sharee: TSharee): Promise<void>;
  },
  rowOf: (share: TShare) => Pick<ISharesListItem, 'name' | 'badge' | 'data'>,
): ISharesListItem[] {
  return model.shares.map((share) => {
    const sharee = model.shareeOf(share);
    return { ...rowOf(share), key: shareeKey(sharee), revoke: () => model.revoke(sharee) };
  });
}

/** "Shared with": each share with what it allows and a Revoke. */
export function SharesList(
  props: IDialogPart & { items: readonly ISharesListItem[] },
): React.ReactElement {
  const { trans } = props;
  return (
    <>
      <h3 className="jp-OrreryGroups-sectionTitle">{trans.__('Shared with')}</h3>
      <ul className="jp-OrreryGroups-list jp-OrreryShare-shares">
        {props.items.length === 0 && (
          <li className="jp-OrreryGroups-empty">{trans.__('Nobody yet.')}</li>
        )}
        {props.items.map((item) => (
          <li
            key={item.key}
            className="jp-OrreryGroups-item jp-OrreryShare-share"
            data-sharee={item.key}
            {...Object.fromEntries(
              Object.entries(item.data ?? {}).map(([name, value]) => [`data-${name}`, value]),
            )}
          >
            <span className="jp-OrreryGroups-name">{item.name}</span>
            <span className="jp-OrreryGroups-badge jp-OrreryGroups-badge-role">{item.badge}</span>
            <button
              type="button"
              className="jp-mod-styled jp-mod-reject"
              disabled={props.busy}
              aria-label={trans.__('Revoke %1', item.name)}
              onClick={() => props.run(item.revoke)}
            >
              {trans.__('Revoke')}
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The code made last, with Copy: the hub shows it once. */
function MadeCode(props: {
  /** What to copy (the code, or the link that carries it). */
  value: string;
  /** The field's accessible name and class. */
  label: string;
  className?: string;
  expiresAt: string;
  trans: TranslationBundle;
}): React.ReactElement {
  const { trans } = props;
  // What was copied last: a new code shows Copy again.
  const [copiedValue, setCopiedValue] = React.useState<string | null>(null);
  const copied = copiedValue === props.value;
  return (
    <div className="jp-OrreryShare-code">
      <input
        className={`jp-mod-styled${props.className ? ` ${props.className}` : ''}`}
        readOnly
        aria-label={props.label}
        value={props.value}
      />
      <button
        type="button"
        className="jp-mod-styled"
        onClick={() => {
          Clipboard.copyToSystem(props.value);
          setCopiedValue(props.value);
        }}
      >
        {copied ? trans.__('Copied') : trans.__('Copy')}
      </button>
      <div className="jp-OrreryGroups-meta">
        {trans.__(
          'Shown once: copy it now. Valid until %1.',
          new Date(props.expiresAt).toLocaleString(),
        )}
      </div>
    </div>
  );
}

/** The live codes, each described and with a Revoke. */
function CodesList(
  props: IDialogPart & {
    items: readonly { id: number; text: string; revoke: () => Promise<unknown> }[];
    /** The rows' `data-` attribute that carries the id (`code-id`, `link-id`). */
    idAttribute: string;
  },
): React.ReactElement {
  return (
    <ul className="jp-OrreryGroups-list jp-OrreryShare-links">
      {props.items.map((item) => (
        <li
          key={item.id}
          className="jp-OrreryGroups-item"
          {...{ [`data-${props.idAttribute}`]: String(item.id) }}
        >
          <span className="jp-OrreryGroups-meta">{item.text}</span>
          <button
            type="button"
            className="jp-mod-styled jp-mod-reject"
            disabled={props.busy}
            onClick={() => props.run(item.revoke)}
          >
            {props.trans.__('Revoke')}
          </button>
        </li>
      ))}
    </ul>
  );
}

/**
 * Codes that share with whoever holds them: a title and what a code does, the expiry to pick
 * (with the dialog's own control, `children`) and the button that makes one, the code made
 * last to copy, and the live codes with a Revoke each.
 */
export function CodesSection(
  props: IDialogPart & {
    title: string;
    note: string;
    /** Expiries offered, in the dialog's unit, and the one picked. */
    expiries: readonly number[];
    expiry: number;
    setExpiry: (value: number) => void;
    expiryLabel: (value: number) => string;
    makeLabel: string;
    makeClassName?: string;
    make: () => Promise<unknown>;
    /** The code made last, as MadeCode shows it. */
    made: { value: string; label: string; className?: string; expiresAt: string } | null;
    codes: readonly { id: number; text: string; revoke: () => Promise<unknown> }[];
    idAttribute: string;
    children?: React.ReactNode;
  },
): React.ReactElement {
  const { trans } = props;
  return (
    <>
      <h3 className="jp-OrreryGroups-sectionTitle">{props.title}</h3>
      <div className="jp-OrreryGroups-meta">{props.note}</div>
      <div className="jp-OrreryShare-form">
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Code expires after')}
          value={props.expiry}
          onChange={(e) => props.setExpiry(Number(e.target.value))}
        >
          {props.expiries.map((value) => (
            <option key={value} value={value}>
              {props.expiryLabel(value)}
            </option>
          ))}
        </select>
        {props.children}
        <button
          type="button"
          className={`jp-mod-styled${props.makeClassName ? ` ${props.makeClassName}` : ''}`}
          disabled={props.busy}
          onClick={() => props.run(props.make)}
        >
          {props.makeLabel}
        </button>
      </div>
      {props.made && <MadeCode {...props.made} trans={trans} />}
      <CodesList {...props} items={props.codes} />
    </>
  );
}
