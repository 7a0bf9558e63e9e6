/**
 * The Share… dialog of one volume: share with a user or a group (completed from the hub),
 * read-only or read-write; the current shares with a Revoke each; invite codes: make one with
 * an expiry, copy it (the hub shows a code once), revoke live ones. Every action goes through
 * the `ShareModel`; its failures are shown inside the dialog. The parts are share-picker's.
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
import type { ShareAccess } from '../tokens.js';
import { volumeLabel } from './paths.js';
import type { ShareModel } from './share-model.js';

/** Expiries offered for invite codes, in hours. */
const EXPIRIES = [24, 24 * 7, 24 * 30, 24 * 90];

function ShareView(props: { model: ShareModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  const [access, setAccess] = React.useState<ShareAccess>('read');
  const [hours, setHours] = React.useState(24 * 7);
  const [busy, run] = useBusy();
  const common = { busy, run, trans };

  return (
    <div className="jp-OrreryShare-body">
      <SharePicker
        candidates={(text) => model.candidates(text)}
        share={(text, offered) => model.share(model.shareeOfText(text, offered), access)}
        listId="jp-OrreryShare-candidates"
        {...common}
      >
        <select
          className="jp-mod-styled jp-OrreryShare-access"
          aria-label={trans.__('Access')}
          value={access}
          onChange={(e) => setAccess(e.target.value as ShareAccess)}
        >
          <option value="read">{trans.__('read-only')}</option>
          <option value="read_write">{trans.__('read-write')}</option>
        </select>
      </SharePicker>
      <ShareError error={model.error} />
      <SharesList
        items={shareItems(model, (s) => ({
          name: s.user ?? trans.__('%1 (group)', s.group?.name ?? ''),
          badge: s.access === 'read' ? trans.__('read-only') : trans.__('read-write'),
          data: { access: s.access },
        }))}
        {...common}
      />
      <CodesSection
        title={trans.__('Invite codes')}
        note={trans.__(
          'Whoever redeems a code gets read-only access; revoking a code keeps the shares it made.',
        )}
        expiries={EXPIRIES}
        expiry={hours}
        setExpiry={setHours}
        expiryLabel={(h) => (h < 48 ? trans.__('%1 hours', h) : trans.__('%1 days', h / 24))}
        makeLabel={trans.__('Make invite code')}
        make={() => model.createCode(hours)}
        made={
          model.lastCode && {
            value: model.lastCode.code,
            label: trans.__('Invite code'),
            expiresAt: model.lastCode.expires_at,
          }
        }
        codes={model.codes.map((l) => ({
          id: l.id,
          text: trans.__(
            'Code #%1 by %2, until %3',
            l.id,
            l.created_by ?? '?',
            new Date(l.expires_at).toLocaleString(),
          ),
          revoke: () => model.revokeCode(l.id),
        }))}
        idAttribute="link-id"
        {...common}
      />
    </div>
  );
}

/** Open the dialog; resolves when it is closed. The model is loaded first (a failure rejects). */
export async function showShareDialog(model: ShareModel, trans: TranslationBundle): Promise<void> {
  await model.refresh();
  await showDialog({
    title: trans.__('Share %1', volumeLabel(model.volume)),
    body: new ShareDialogBody(model.changed, () => <ShareView model={model} trans={trans} />),
    buttons: [Dialog.okButton({ label: trans.__('Close') })],
  });
}
