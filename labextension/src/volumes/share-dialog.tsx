/**
 * The Share… dialog of one volume: share with a user or a group (completed from the hub),
 * read-only or read-write; the current shares with a Revoke each; invite codes: make one with
 * an expiry, copy it (the hub shows a code once), revoke live ones. Every action goes through
 * the `ShareModel`; its failures are shown inside the dialog.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import type { ShareAccess, Sharee } from '../tokens.js';
import { volumeLabel } from './paths.js';
import { type ShareCandidate, type ShareModel, shareeKey, shareeOf } from './share-model.js';

/** Lumino's message type, named through the widget (its package is not a dependency here). */
type Message = Parameters<ReactWidget['processMessage']>[0];

/** Expiries offered for invite codes, in hours. */
const EXPIRIES = [24, 24 * 7, 24 * 30, 24 * 90];

class ShareBody extends ReactWidget {
  constructor(
    private readonly model: ShareModel,
    private readonly trans: TranslationBundle,
  ) {
    super();
    this.addClass('jp-OrreryShare');
  }

  /**
   * Enter in the dialog's fields would close the dialog (JupyterLab's dialog listens in the
   * capture phase). Stopped on the way down, in the document's capture phase, it reaches only
   * the field, whose form submits it as forms do: Enter in "share with" shares.
   */
  private readonly keepEnter = (event: KeyboardEvent): void => {
    const target = event.target;
    if (event.key === 'Enter' && target instanceof Element && this.node.contains(target)) {
      if (target.closest('form.jp-OrreryShare-form')) {
        event.stopPropagation();
      }
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
        {() => <ShareView model={this.model} trans={this.trans} />}
      </UseSignal>
    );
  }
}

function ShareView(props: { model: ShareModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  const [who, setWho] = React.useState('');
  const [access, setAccess] = React.useState<ShareAccess>('read');
  const [candidates, setCandidates] = React.useState<ShareCandidate[]>([]);
  const [hours, setHours] = React.useState(24 * 7);
  const [busy, setBusy] = React.useState(false);
  const [copied, setCopied] = React.useState(false);

  const run = (action: () => Promise<unknown>) => {
    setBusy(true);
    // A failure is kept in model.error, shown below.
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

  const shareeOfText = (): Sharee => {
    const picked = candidates.find((c) => c.label === who.trim());
    return picked?.kind === 'group' ? { group: picked.id } : { user: who };
  };

  const expiryLabel = (h: number) =>
    h < 48 ? trans.__('%1 hours', h) : trans.__('%1 days', h / 24);

  return (
    <div className="jp-OrreryShare-body">
      <form
        className="jp-OrreryShare-form"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            await model.share(shareeOfText(), access);
            setWho('');
            setCandidates([]);
          });
        }}
      >
        <input
          className="jp-mod-styled jp-OrreryShare-who"
          list="jp-OrreryShare-candidates"
          placeholder={trans.__('User or group')}
          aria-label={trans.__('Share with user or group')}
          value={who}
          onChange={(e) => onWho(e.target.value)}
        />
        <datalist id="jp-OrreryShare-candidates">
          {candidates.map((c) => (
            <option key={c.kind === 'user' ? `u:${c.name}` : `g:${c.id}`} value={c.label} />
          ))}
        </datalist>
        <select
          className="jp-mod-styled jp-OrreryShare-access"
          aria-label={trans.__('Access')}
          value={access}
          onChange={(e) => setAccess(e.target.value as ShareAccess)}
        >
          <option value="read">{trans.__('read-only')}</option>
          <option value="read_write">{trans.__('read-write')}</option>
        </select>
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
          const sharee = shareeOf(s);
          const name = s.user ?? trans.__('%1 (group)', s.group?.name ?? '');
          return (
            <li
              key={shareeKey(sharee)}
              className="jp-OrreryGroups-item jp-OrreryShare-share"
              data-sharee={shareeKey(sharee)}
              data-access={s.access}
            >
              <span className="jp-OrreryGroups-name">{name}</span>
              <span className="jp-OrreryGroups-badge jp-OrreryGroups-badge-role">
                {s.access === 'read' ? trans.__('read-only') : trans.__('read-write')}
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
      <h3 className="jp-OrreryGroups-sectionTitle">{trans.__('Invite codes')}</h3>
      <div className="jp-OrreryGroups-meta">
        {trans.__(
          'Whoever redeems a code gets read-only access; revoking a code keeps the shares it made.',
        )}
      </div>
      <div className="jp-OrreryShare-form">
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Code expires after')}
          value={hours}
          onChange={(e) => setHours(Number(e.target.value))}
        >
          {EXPIRIES.map((h) => (
            <option key={h} value={h}>
              {expiryLabel(h)}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="jp-mod-styled"
          disabled={busy}
          onClick={() =>
            run(async () => {
              setCopied(false);
              await model.createCode(hours);
            })
          }
        >
          {trans.__('Make invite code')}
        </button>
      </div>
      {model.lastCode && (
        <div className="jp-OrreryShare-code">
          <input
            className="jp-mod-styled"
            readOnly
            aria-label={trans.__('Invite code')}
            value={model.lastCode.code}
          />
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => {
              Clipboard.copyToSystem(model.lastCode?.code ?? '');
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
        {model.links.map((l) => (
          <li key={l.id} className="jp-OrreryGroups-item" data-link-id={String(l.id)}>
            <span className="jp-OrreryGroups-meta">
              {trans.__(
                'Code #%1 by %2, until %3',
                l.id,
                l.created_by ?? '?',
                new Date(l.expires_at).toLocaleString(),
              )}
            </span>
            <button
              type="button"
              className="jp-mod-styled jp-mod-reject"
              disabled={busy}
              onClick={() => run(() => model.revokeCode(l.id))}
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
export async function showShareDialog(model: ShareModel, trans: TranslationBundle): Promise<void> {
  await model.refresh();
  await showDialog({
    title: trans.__('Share %1', volumeLabel(model.volume)),
    body: new ShareBody(model, trans),
    buttons: [Dialog.okButton({ label: trans.__('Close') })],
  });
}
