/**
 * The "Shared with me" sidebar: the servers others share with me (by name or through a group),
 * each opened in a new tab while it runs; and the button that shares this server. It renders
 * the model and runs commands; it makes no request of its own.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  ReactWidget,
  refreshIcon,
  shareIcon,
  ToolbarButtonComponent,
  UseSignal,
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs } from '../tokens.js';
import { canManage, type SharedWithMeModel } from './model.js';

export interface ISharedPanelOptions {
  model: SharedWithMeModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The hub's origin-relative base of servers is the page's own origin. */
  open: (url: string) => void;
}

export class SharedServersPanel extends ReactWidget {
  constructor(private readonly options: ISharedPanelOptions) {
    super();
    this.id = 'orrery-shared-servers';
    this.addClass('jp-OrreryGroups');
    this.addClass('jp-OrrerySharedServers');
    this.title.icon = shareIcon;
    this.title.caption = options.trans.__('Servers shared with me');
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.options.model.changed}>
        {() => <SharedView {...this.options} />}
      </UseSignal>
    );
  }
}

function SharedView(props: ISharedPanelOptions): React.ReactElement {
  const { model, commands, trans, open } = props;
  return (
    <div className="jp-OrreryGroups-body">
      <div className="jp-OrreryGroups-header">
        <h2 className="jp-OrreryGroups-title">{trans.__('Shared servers')}</h2>
        <ToolbarButtonComponent
          icon={shareIcon}
          tooltip={trans.__('Share this server…')}
          enabled={commands.isEnabled(CommandIDs.shareServer)}
          onClick={() => void commands.execute(CommandIDs.shareServer)}
        />
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh')}
          onClick={() => void commands.execute(CommandIDs.refreshSharedServers)}
        />
      </div>
      {model.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {model.error.message}
        </div>
      )}
      <h3 className="jp-OrreryGroups-sectionTitle">{trans.__('Shared with me')}</h3>
      <ul className="jp-OrreryGroups-list">
        {model.items.length === 0 && (
          <li className="jp-OrreryGroups-empty">{trans.__('No server is shared with you.')}</li>
        )}
        {model.items.map((share) => (
          <li
            key={`${share.server.full_name} ${share.kind} ${share.group?.name ?? ''}`}
            className="jp-OrreryGroups-item jp-OrrerySharedServers-item"
            data-server={share.server.full_name}
          >
            <span className="jp-OrreryGroups-name">{share.server.full_name}</span>
            <span className="jp-OrreryGroups-meta">
              {share.kind === 'group'
                ? trans.__('via %1', share.group?.name ?? '')
                : trans.__('to you')}
              {canManage(share) ? trans.__(', may start and stop') : ''}
            </span>
            {share.server.ready ? (
              <button
                type="button"
                className="jp-mod-styled jp-mod-accept"
                onClick={() => open(`${share.server.url}lab`)}
              >
                {trans.__('Open')}
              </button>
            ) : (
              <span className="jp-OrreryGroups-badge">{trans.__('stopped')}</span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
