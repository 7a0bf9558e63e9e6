/**
 * The "Share this server…" dialog: share with a user or a group (completed from the hub), with
 * or without start/stop; the current shares with a Revoke each; share codes that expire: make
 * one (its link is what you send; the hub shows it once), revoke live ones.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import {
  CODE_EXPIRIES,
  canManage,
  type ServerShareCandidate,
  type ServerShareModel,
  serverLabel,
  serverShareeKey,
  shareeOfShare,
} from './model.js';

/** Lumino's message type, named through the widget (its package is not a dependency here). */
type Message = Parameters<ReactWidget['processMessage']>[0];

class ShareServerBody extends ReactWidget {
  constructor(
    private readonly model: ServerShareModel,
    private readonly trans: TranslationBundle,
  ) {
    super();
    this.addClass('jp-OrreryShare');
    this.addClass('jp-OrreryServerShare');
  }

  /** Enter in the "share with" field shares instead of closing the dialog. */
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
    return (
      <UseSignal signal={this.model.changed}>
        {() => <ShareServerView model={this.model} trans={this.trans} />}
      </UseSignal>
    );
  }
}

function ShareServerView(props: {
  model: ServerShareModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  const [who, setWho] = React.useState('');
  const [manage, setManage] = React.useState(false);
  const [candidates, setCandidates] = React.useState<ServerShareCandidate[]>([]);
  const [seconds, setSeconds] = React.useState(24 * 3600);
  const [codeManage, setCodeManage] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [copied, setCopied] = React.useState(false);

  const run = (action: () => Promise<unknown>) => {
    setBusy(true);
    action()
      .catch(() => undefined)
      .finally(() => setBusy(false));
  };

  const onWho = (text: string) => {
    setWho(text);
    model
      .candidates(text)
      .then(setCandidates)
      .catch(() => setCandidates([]));
  };

  const expiryLabel = (s: number) =>
    s < 48 * 3600 ? trans.__('%1 hours', s / 3600) : trans.__('%1 days', s / 86400);

  return (
    <div className="jp-OrreryShare-body">
      <div className="jp-OrreryGroups-meta">
        {trans.__(
          'Whoever you share with works in this server as you: your files, kernels and tokens. Share with people you would give your files to.',
        )}
      </div>
      <form
        className="jp-OrreryShare-form"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            await model.share(model.shareeOfText(who, candidates), manage);
            setWho('');
            setCandidates([]);
          });
        }}
      >
        <input
          className="jp-mod-styled jp-OrreryShare-who"
          list="jp-OrreryServerShare-candidates"
          placeholder={trans.__('User or group')}
          aria-label={trans.__('Share with user or group')}
          value={who}
          onChange={(e) => onWho(e.target.value)}
        />
        <datalist id="jp-OrreryServerShare-candidates">
          {candidates.map((c) => (
            <option key={`${c.kind}:${c.name}`} value={c.label} />
          ))}
        </datalist>
        <label className="jp-OrreryServerShare-manage">
          <input type="checkbox" checked={manage} onChange={(e) => setManage(e.target.checked)} />
          {trans.__('may start and stop it')}
        </label>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={busy || !who.trim()}
        >
          {trans.__('Share')}
        </button>
      </form>
      {model.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {model.error.message}
        </div>
      )}
      <h3 className="jp-OrreryGroups-sectionTitle">{trans.__('Shared with')}</h3>
      <ul className="jp-OrreryGroups-list jp-OrreryShare-shares">
        {model.shares.length === 0 && (
          <li className="jp-OrreryGroups-empty">{trans.__('Nobody yet.')}</li>
        )}
        {model.shares.map((s) => {
          const sharee = shareeOfShare(s);
          const name = s.user ? s.user.name : trans.__('%1 (group)', s.group?.name ?? '');
          return (
            <li
              key={serverShareeKey(sharee)}
              className="jp-OrreryGroups-item jp-OrreryShare-share"
              data-sharee={serverShareeKey(sharee)}
            >
              <span className="jp-OrreryGroups-name">{name}</span>
              <span className="jp-OrreryGroups-badge jp-OrreryGroups-badge-role">
                {canManage(s) ? trans.__('use, start, stop') : trans.__('use')}
              </span>
              <button
                type="button"
                className="jp-mod-styled jp-mod-reject"
                disabled={busy}
                aria-label={trans.__('Revoke %1', name)}
                onClick={() => run(() => model.revoke(sharee))}
              >
                {trans.__('Revoke')}
              </button>
            </li>
          );
        })}
      </ul>
      <h3 className="jp-OrreryGroups-sectionTitle">{trans.__('Share codes')}</h3>
      <div className="jp-OrreryGroups-meta">
        {trans.__(
          'Send the link: whoever opens it signed in can accept the share until it expires. Revoking a code keeps the shares it made.',
        )}
      </div>
      <div className="jp-OrreryShare-form">
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Code expires after')}
          value={seconds}
          onChange={(e) => setSeconds(Number(e.target.value))}
        >
          {CODE_EXPIRIES.map((s) => (
            <option key={s} value={s}>
              {expiryLabel(s)}
            </option>
          ))}
        </select>
        <label className="jp-OrreryServerShare-manage">
          <input
            type="checkbox"
            checked={codeManage}
            onChange={(e) => setCodeManage(e.target.checked)}
          />
          {trans.__('may start and stop it')}
        </label>
        <button
          type="button"
          className="jp-mod-styled jp-OrreryServerShare-makeCode"
          disabled={busy}
          onClick={() =>
            run(async () => {
              setCopied(false);
              await model.createCode(seconds, codeManage);
            })
          }
        >
          {trans.__('Make share code')}
        </button>
      </div>
      {model.lastCode && (
        <div className="jp-OrreryShare-code">
          <input
            className="jp-mod-styled jp-OrreryServerShare-link"
            readOnly
            aria-label={trans.__('Share link')}
            value={model.lastCode.accept_url}
          />
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => {
              Clipboard.copyToSystem(model.lastCode?.accept_url ?? '');
              setCopied(true);
            }}
          >
            {copied ? trans.__('Copied') : trans.__('Copy')}
          </button>
          <div className="jp-OrreryGroups-meta">
            {trans.__(
              'Shown once: copy it now. Valid until %1.',
              new Date(model.lastCode.expires_at).toLocaleString(),
            )}
          </div>
        </div>
      )}
      <ul className="jp-OrreryGroups-list jp-OrreryShare-links">
        {model.codes.map((c) => (
          <li key={c.id} className="jp-OrreryGroups-item" data-code-id={String(c.id)}>
            <span className="jp-OrreryGroups-meta">
              {trans.__(
                'Code #%1, used %2 times, until %3',
                c.id,
                c.exchange_count,
                new Date(c.expires_at).toLocaleString(),
              )}
            </span>
            <button
              type="button"
              className="jp-mod-styled jp-mod-reject"
              disabled={busy}
              onClick={() => run(() => model.revokeCode(c.id))}
            >
              {trans.__('Revoke')}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Open the dialog; resolves when it is closed. The model is loaded first (a failure rejects). */
export async function showShareServerDialog(
  model: ServerShareModel,
  trans: TranslationBundle,
): Promise<void> {
  await model.refresh();
  await showDialog({
    title: trans.__('Share %1', serverLabel(model.owner, model.server)),
    body: new ShareServerBody(model, trans),
    buttons: [Dialog.okButton({ label: trans.__('Close') })],
  });
}
