/**
 * The status-bar item: who is signed in to the hub. Clicking it opens the Groups panel
 * (if present) and reloads the identity.
 */
import { TextItem } from '@jupyterlab/statusbar';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { type ISignal, Signal } from '@lumino/signaling';
import type * as React from 'react';
import type { IHubClient, IHubUser } from '../tokens.js';

/** Who I am on the hub, or why that is unknown. */
export class IdentityModel {
  constructor(private readonly client: IHubClient) {}

  private _user: IHubUser | null = null;
  private _error: string | null = null;
  private _changed = new Signal<this, void>(this);

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get user(): IHubUser | null {
    return this._user;
  }
  get error(): string | null {
    return this._error;
  }

  async refresh(): Promise<void> {
    try {
      this._user = await this.client.currentUser();
      this._error = null;
    } catch (e) {
      this._user = null;
      this._error = e instanceof Error ? e.message : String(e);
    }
    this._changed.emit();
  }
}

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
