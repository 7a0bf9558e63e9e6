/**
 * The status-bar item: who is signed in to the hub. Clicking it opens the Groups panel
 * (if present) and reloads the identity.
 */
import { TextItem } from '@jupyterlab/statusbar';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import type { IdentityModel } from './model.js';

export class SignedInStatus extends ReactWidget {
  constructor(
    private readonly model: IdentityModel,
    private readonly trans: TranslationBundle,
    private readonly onClick: () => void,
  ) {
    super();
    this.addClass('jp-OrreryStatus');
    this.node.addEventListener('click', () => this.onClick());
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.model.changed}>
        {() => {
          const { user, error } = this.model;
          const text = user
            ? this.trans.__('Orrery: %1', user.name)
            : error
              ? this.trans.__('Orrery: not connected')
              : this.trans.__('Orrery: …');
          const title = user
            ? this.trans.__('Signed in to Orrery as %1%2', user.name, user.admin ? ' (admin)' : '')
            : (error ?? '');
          this.node.title = title;
          this.node.dataset.user = user?.name ?? '';
          return <TextItem source={text} title={title} />;
        }}
      </UseSignal>
    );
  }
}
