/**
 * The public surface of the Orrery JupyterLab extension: plugin ids, command ids,
 * the hub client token and the hub API types. Later panels depend on this module only.
 */
import { Token } from '@lumino/coreutils';

/** The npm package name; plugin ids are `${EXTENSION_ID}:<name>`. */
export const EXTENSION_ID = '@orrery/labextension';

export const PluginIDs = {
  hubClient: `${EXTENSION_ID}:hub-client`,
  groups: `${EXTENSION_ID}:groups`,
  status: `${EXTENSION_ID}:status`,
  culling: `${EXTENSION_ID}:culling`,
} as const;

/** Every user action is a command; the panel's buttons and the palette both run these. */
export enum CommandIDs {
  openGroups = 'orrery:open-groups',
  refreshGroups = 'orrery:refresh-groups',
  createGroup = 'orrery:create-group',
  editGroup = 'orrery:edit-group',
  deleteGroup = 'orrery:delete-group',
  leaveGroup = 'orrery:leave-group',
  inviteMember = 'orrery:invite-member',
  acceptInvitation = 'orrery:accept-invitation',
  declineInvitation = 'orrery:decline-invitation',
  promoteMember = 'orrery:promote-member',
  demoteMember = 'orrery:demote-member',
  removeMember = 'orrery:remove-member',
  joinDomain = 'orrery:join-domain',
  leaveDomain = 'orrery:leave-domain',
  keepServerAlive = 'orrery:keep-server-alive',
}

/** Arguments the group commands accept; missing ones are asked for in a dialog. */
export interface IGroupCommandArgs {
  groupId?: string;
  username?: string;
  role?: InvitableRole;
  invitationId?: string;
  domainId?: string;
}

// ---------------------------------------------------------------------------
// Hub API types (the hub's JSON, as documented in docs/labextension.md)
// ---------------------------------------------------------------------------

export type GroupRole = 'OWNER' | 'ADMIN' | 'MEMBER';
/** Roles that can be given by invitation or by promotion; ownership is not transferable here. */
export type InvitableRole = 'ADMIN' | 'MEMBER';
export type GroupKind = 'group' | 'domain' | 'public';

/** Ids are strings on the wire or numbers; the client treats them as opaque. */
export type HubId = string | number;

export interface IHubUser {
  name: string;
  safeName: string;
  admin: boolean;
  email: string | null;
  /** The server whose token made the request (inside a hub-spawned server), else null. */
  server?: string | null;
}

/** One of the user's servers, as the hub reports it. */
export interface IServerInfo {
  name: string;
  status: 'starting' | 'running' | 'stopping';
  /** When the hub will stop the server if it stays idle (ISO time), or null. */
  cullAt: string | null;
  lastActivityAt: string;
}

/** What the hub offers for compute; the culler's settings among them. */
export interface IComputeInfo {
  idleCullSeconds: number;
  cullWarningSeconds: number;
}

export interface IUserName {
  name: string;
}

export interface IGroupSummary {
  id: HubId;
  name: string;
  description: string;
  kind: GroupKind;
  role: GroupRole;
  memberCount: number;
}

export interface IGroupMember {
  name: string;
  role: GroupRole;
}

export interface ISubgroup {
  id: HubId;
  name: string;
}

export interface ISentInvitation {
  id: HubId;
  username: string;
  role: InvitableRole;
  status: string;
}

export interface IGroupDetail {
  id: HubId;
  name: string;
  description: string;
  kind: GroupKind;
  role: GroupRole;
  members: IGroupMember[];
  subgroups: ISubgroup[];
  invitations: ISentInvitation[];
}

/** An invitation addressed to me. */
export interface IInvitation {
  id: HubId;
  group: { id: HubId; name: string; description: string };
  role: InvitableRole;
  invitedBy: string;
  createdAt: string;
}

export interface IDomain {
  id: HubId;
  name: string;
  description: string;
  joined: boolean;
}

/** Every hub error body. */
export interface IHubErrorBody {
  error: string;
  message: string;
}

/**
 * The hub, as the panels see it. `api.ts` implements it over the Jupyter server's
 * `/orrery/hub/` proxy; unit tests implement it in memory. Every method rejects
 * with a `HubError` (from `api.ts`) carrying the hub's status, code and message.
 */
export interface IHubClient {
  currentUser(): Promise<IHubUser>;
  searchUsers(prefix: string, limit?: number): Promise<IUserName[]>;

  listGroups(): Promise<IGroupSummary[]>;
  getGroup(id: HubId): Promise<IGroupDetail>;
  createGroup(name: string, description: string): Promise<IGroupSummary>;
  updateGroup(id: HubId, patch: { name?: string; description?: string }): Promise<void>;
  deleteGroup(id: HubId): Promise<void>;

  invite(groupId: HubId, username: string, role: InvitableRole): Promise<void>;
  listInvitations(): Promise<IInvitation[]>;
  acceptInvitation(id: HubId): Promise<void>;
  declineInvitation(id: HubId): Promise<void>;

  setMemberRole(groupId: HubId, username: string, role: InvitableRole): Promise<void>;
  /** Removes a member; removing oneself is leaving the group. */
  removeMember(groupId: HubId, username: string): Promise<void>;

  listDomains(): Promise<IDomain[]>;
  joinDomain(id: HubId): Promise<void>;
  leaveDomain(id: HubId): Promise<void>;

  computeInfo(): Promise<IComputeInfo>;
  serverInfo(user: string, server: string): Promise<IServerInfo>;
  /** Counts as activity now, postponing the idle stop; returns the new state. */
  keepServerAlive(user: string, server: string): Promise<IServerInfo>;
}

/** The hub client, shared by every Orrery panel. */
export const IHubClient = new Token<IHubClient>(
  `${EXTENSION_ID}:IHubClient`,
  'A client for the Orrery hub API, authenticated server-side by the Jupyter server.',
);
