/**
 * State of the Share dialog for one volume: its shares and live invite codes, sharing with
 * users or groups (groups by id), read-only or read-write, revoking, making and revoking
 * invite codes. What every share dialog does is share-picker/model.ts. Unit-tested against
 * the in-memory hub.
 */
import { type ShareCandidate, SharingModel } from '../share-picker/model.js';
import type {
  IFilesClient,
  IGroupsClient,
  IUserClient,
  IVolumeLink,
  IVolumeLinkCreated,
  IVolumeRef,
  IVolumeShare,
  ShareAccess,
  Sharee,
} from '../tokens.js';

export class ShareModel extends SharingModel<
  IVolumeShare,
  IVolumeLink,
  IVolumeLinkCreated,
  Sharee
> {
  constructor(
    private readonly client: IFilesClient,
    users: IUserClient,
    groups: IGroupsClient,
    readonly volume: IVolumeRef,
    /** My name: I am never offered as a grantee. */
    me: string,
  ) {
    super(users, groups, me, 'volume');
  }

  protected listShares(): Promise<IVolumeShare[]> {
    return this.client.listShares(this.volume);
  }
  protected listCodes(): Promise<IVolumeLink[]> {
    return this.client.listLinks(this.volume);
  }
  shareeOf(share: IVolumeShare): Sharee {
    return share.user !== null ? { user: share.user } : { group: share.group!.id };
  }
  protected shareeOfCandidate(candidate: ShareCandidate): Sharee {
    return candidate.kind === 'group' ? { group: candidate.id } : { user: candidate.name };
  }

  /** Share with a user or a group; sharing again changes the access. */
  async share(sharee: Sharee, access: ShareAccess): Promise<void> {
    const clean = this.checked(sharee);
    await this.act(() => this.client.share(this.volume, clean, access));
  }

  async revoke(sharee: Sharee): Promise<void> {
    await this.act(() => this.client.unshare(this.volume, sharee));
  }

  /** Make an invite code valid for `hours` (1 h to 90 days). */
  async createCode(hours: number): Promise<IVolumeLinkCreated> {
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 90)
      throw this.refuse('An invite code lasts 1 hour to 90 days.');
    return this.made(() => this.client.createLink(this.volume, hours));
  }

  revokeCode(id: number): Promise<void> {
    return this.codeRevoked(id, () => this.client.revokeLink(this.volume, id));
  }
}
