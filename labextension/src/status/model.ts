import { type ISignal, Signal } from '@lumino/signaling';
import type { IHubUser, IUserClient } from '../tokens.js';

/** Who I am on the hub, or why that is unknown. */
export class IdentityModel {
  constructor(private readonly client: IUserClient) {}

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
