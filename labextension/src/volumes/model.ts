/**
 * State of the Volumes panel: the volumes I may read (mine per root volume, shared with me,
 * data volumes), my usage per root, and the actions on my volumes. Talks to the hub only
 * through `IFilesClient` and `IUserClient`, so unit tests run it against an in-memory hub.
 * Actions reject with `HubError`; refresh failures are kept in `error` and shown in the panel.
 */
import { type ISignal, Signal } from '@lumino/signaling';
import { HubError, hubFailureOf, type IHubFailure } from '../api.js';
import type {
  IFilesClient,
  IHubUser,
  IRedeemed,
  IRootUsage,
  IUserClient,
  IVolume,
  IVolumeInfo,
  IVolumeRef,
} from '../tokens.js';
import { sameVolume, volumeLabel } from './paths.js';

/** The hub's rule for volume names (docs/files.md), checked here for an immediate answer. */
const VOLUME_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** A volume name, trimmed, or a 400 `invalid_input` saying what a name may be. */
export function checkVolumeName(value: string | undefined): string {
  const name = (value ?? '').trim();
  if (!VOLUME_NAME.test(name)) {
    throw new HubError(
      400,
      'invalid_input',
      'A volume name is 1-64 letters, digits, "-", "_" or ".", not starting with a dot.',
    );
  }
  return name;
}

const byName = (a: IVolumeInfo, b: IVolumeInfo): number =>
  a.owner.localeCompare(b.owner) || a.volume.localeCompare(b.volume);

export class VolumesModel {
  constructor(
    private readonly client: IFilesClient,
    private readonly users: IUserClient,
  ) {}

  private _user: IHubUser | null = null;
  private _volumes: IVolumeInfo[] = [];
  private _usage: IRootUsage[] = [];
  private _selected: IVolumeRef | null = null;
  private _loading = false;
  private _loaded = false;
  private _error: IHubFailure | null = null;
  private _refreshSeq = 0;
  private _changed = new Signal<this, void>(this);

  /** Emitted after any change of state. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get user(): IHubUser | null {
    return this._user;
  }
  get volumes(): readonly IVolumeInfo[] {
    return this._volumes;
  }
  get usage(): readonly IRootUsage[] {
    return this._usage;
  }
  get loading(): boolean {
    return this._loading;
  }
  get loaded(): boolean {
    return this._loaded;
  }
  get error(): IHubFailure | null {
    return this._error;
  }
  get selected(): IVolumeInfo | null {
    return this._selected ? this.find(this._selected) : null;
  }

  /** The root volumes, in the hub's order (the usage lists each once). */
  get roots(): string[] {
    return this._usage.map((u) => u.root);
  }

  /** My own volumes under `root`, by name. */
  mine(root: string): IVolumeInfo[] {
    return this._volumes.filter((v) => v.mine && v.kind === 'user' && v.root === root).sort(byName);
  }

  /** Other users' volumes shared with me (or my groups). */
  get sharedWithMe(): IVolumeInfo[] {
    return this._volumes.filter((v) => !v.mine && v.kind === 'user').sort(byName);
  }

  get dataVolumes(): IVolumeInfo[] {
    return this._volumes.filter((v) => v.kind === 'data').sort(byName);
  }

  usageOf(root: string): IRootUsage | null {
    return this._usage.find((u) => u.root === root) ?? null;
  }

  find(ref: IVolumeRef): IVolumeInfo | null {
    return this._volumes.find((v) => sameVolume(v, ref)) ?? null;
  }

  select(ref: IVolumeRef | null): void {
    this._selected = ref ? { root: ref.root, owner: ref.owner, volume: ref.volume } : null;
    this._changed.emit();
  }

  /** Reload who I am (once), my volumes and my usage. A failure is kept in `error`. */
  async refresh(): Promise<void> {
    const seq = ++this._refreshSeq;
    this._loading = true;
    this._changed.emit();
    try {
      const user = this._user ?? (await this.users.currentUser());
      const list = await this.client.listVolumes();
      if (seq !== this._refreshSeq) {
        return; // A newer refresh is under way; its answer wins.
      }
      this._user = user;
      this._volumes = list.volumes;
      this._usage = list.usage;
      this._error = null;
      this._loaded = true;
      if (this._selected && !this.find(this._selected)) {
        this._selected = null;
      }
    } catch (e) {
      if (seq === this._refreshSeq) {
        this._error = hubFailureOf(e);
      }
      throw e;
    } finally {
      if (seq === this._refreshSeq) {
        this._loading = false;
        this._changed.emit();
      }
    }
  }

  /** Create a volume of mine under `root` and select it. */
  async createVolume(root: string, name: string, description = ''): Promise<IVolume> {
    const clean = checkVolumeName(name);
    const made = await this.client.createVolume(root, clean, description.trim());
    this._selected = { root: made.root, owner: made.owner, volume: made.volume };
    await this.refresh();
    return made;
  }

  async renameVolume(ref: IVolumeRef, name: string): Promise<IVolume> {
    const clean = checkVolumeName(name);
    const changed = await this.client.updateVolume(ref, { name: clean });
    if (sameVolume(this._selected, ref)) {
      this._selected = { root: changed.root, owner: changed.owner, volume: changed.volume };
    }
    await this.refresh();
    return changed;
  }

  async describeVolume(ref: IVolumeRef, description: string): Promise<IVolume> {
    const changed = await this.client.updateVolume(ref, { description: description.trim() });
    await this.refresh();
    return changed;
  }

  /**
   * What deleting `ref` removes, for the confirmation: its shares and invite codes at once,
   * its files after the quarantine. Asks the hub how many shares and codes there are.
   */
  async deletionSummary(ref: IVolumeRef): Promise<string> {
    const [shares, links] = await Promise.all([
      this.client.listShares(ref),
      this.client.listLinks(ref),
    ]);
    const who = shares.map((s) => s.user ?? `group ${s.group?.name ?? '?'}`);
    const sharedWith = who.length
      ? `It is shared with ${who.join(', ')}; they lose access at once.`
      : 'It is shared with nobody.';
    const codes = links.length
      ? ` Its ${links.length} live invite code${links.length === 1 ? '' : 's'} stop working.`
      : '';
    return (
      `Delete the volume ${volumeLabel(ref)} and every file in it? ${sharedWith}${codes} ` +
      'The files are removed from every server at once and deleted for good after the ' +
      'quarantine period (an operator can restore them until then).'
    );
  }

  /** Redeem an invite code: the volume becomes shared with me (read-only). */
  async redeem(code: string): Promise<IRedeemed> {
    const clean = code.trim();
    if (!clean) {
      throw new HubError(400, 'invalid_input', 'Please give an invite code.');
    }
    const got = await this.client.redeem(clean);
    this._selected = { root: got.root, owner: got.owner, volume: got.volume };
    await this.refresh();
    return got;
  }

  async deleteVolume(ref: IVolumeRef): Promise<void> {
    await this.client.deleteVolume(ref);
    if (sameVolume(this._selected, ref)) {
      this._selected = null;
    }
    await this.refresh();
  }
}
