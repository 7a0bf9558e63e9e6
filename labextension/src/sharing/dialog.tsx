/**
 * The "Share this server…" dialog: share with a user or a group (completed from the hub), with
 * or without start/stop; the current shares with a Revoke each; share codes that expire: make
 * one (its link is what you send; the hub shows it once), revoke live ones. The parts are
 * share-picker's.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import {
  CodesSection,
  ShareDialogBody,
  ShareError,
  SharePicker,
  SharesList,
  shareItems,
  useBusy,
} from '../share-picker/dialog.js';
import { CODE_EXPIRIES, canManage, type ServerShareModel, serverLabel } from './model.js';

/** "may start and stop it": JupyterHub's `servers` scope beside access. */
function ManageBox(props: {
  checked: boolean;
  set: (value: boolean) => void;
  trans: TranslationBundle;
}): React.ReactElement {
  return (
    <label className="jp-OrreryServerShare-manage">
      <input
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.set(e.target.checked)}
      />
      {props.trans.__('may start and stop it')}
    </label>
  );
}

function ShareServerView(props: {
  model: ServerShareModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  const [manage, setManage] = React.useState(false);
  const [seconds, setSeconds] = React.useState(24 * 3600);
  const [codeManage, setCodeManage] = React.useState(false);
  const [busy, run] = useBusy();
  const common = { busy, run, trans };

  return (
    <div className="jp-OrreryShare-body">
      <div className="jp-OrreryGroups-meta">
        {trans.__(
          'Whoever you share with works in this server as you: your files, kernels and tokens. Share with people you would give your files to.',
        )}
      </div>
      <SharePicker
        candidates={(text) => model.candidates(text)}
        share={(text, offered) => model.share(model.shareeOfText(text, offered), manage)}
        listId="jp-OrreryServerShare-candidates"
        {...common}
      >
        <ManageBox checked={manage} set={setManage} trans={trans} />
      </SharePicker>
      <ShareError error={model.error} />
      <SharesList
        items={shareItems(model, (s) => ({
          name: s.user ? s.user.name : trans.__('%1 (group)', s.group?.name ?? ''),
          badge: canManage(s) ? trans.__('use, start, stop') : trans.__('use'),
        }))}
        {...common}
      />
      <CodesSection
        title={trans.__('Share codes')}
        note={trans.__(
          'Send the link: whoever opens it signed in can accept the share until it expires. Revoking a code keeps the shares it made.',
        )}
        expiries={CODE_EXPIRIES}
        expiry={seconds}
        setExpiry={setSeconds}
        expiryLabel={(s) =>
          s < 48 * 3600 ? trans.__('%1 hours', s / 3600) : trans.__('%1 days', s / 86400)
        }
        makeLabel={trans.__('Make share code')}
        makeClassName="jp-OrreryServerShare-makeCode"
        make={() => model.createCode(seconds, codeManage)}
        made={
          model.lastCode && {
            value: model.lastCode.accept_url,
            label: trans.__('Share link'),
            className: 'jp-OrreryServerShare-link',
            expiresAt: model.lastCode.expires_at,
          }
        }
        codes={model.codes.map((c) => ({
          id: c.id,
          text: trans.__(
            'Code #%1, used %2 times, until %3',
            c.id,
            c.exchange_count,
            new Date(c.expires_at).toLocaleString(),
          ),
          revoke: () => model.revokeCode(c.id),
        }))}
        idAttribute="code-id"
        {...common}
      >
        <ManageBox checked={codeManage} set={setCodeManage} trans={trans} />
      </CodesSection>
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
    body: new ShareDialogBody(
      model.changed,
      () => <ShareServerView model={model} trans={trans} />,
      'jp-OrreryServerShare',
    ),
    buttons: [Dialog.okButton({ label: trans.__('Close') })],
  });
}
