/** Groups: create, invite, answer, promote, remove, leave, nest; science domains to join and leave. */
import { type Static, Type } from '@sinclair/typebox';
import type { Request } from 'express';
import { findUserByName } from '../accounts/store.ts';
import { recordFor } from '../activity/record.ts';
import { groupRole } from '../auth/guards.ts';
import type { Principal } from '../auth/principal.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Id, IdParams, NoQuery, Role, Username } from '../http/schemas.ts';
import { deleteGroupAndPaths, nestGroup, unnestGroup } from './nesting.ts';
import {
  DomainList,
  DomainMembership,
  Group,
  GroupDetail,
  GroupList,
  GroupSummary,
  InvitationAnswer,
  InvitationList,
  Membership,
  NewDomain,
  SentInvitation,
  Subgroup,
} from './responses.ts';
import { mayChangeRole, mayInvite, mayRemove, type Role as RoleName } from './roles.ts';
import {
  addMember,
  closeInvitation,
  countOwners,
  createGroup,
  createInvitation,
  domains,
  findGroup,
  type GroupRecord,
  groupsOf,
  invitationsFor,
  membersOf,
  pendingInvitation,
  pendingInvitationsOfGroup,
  removeMember,
  roleIn,
  setRole,
  subgroupsOf,
  updateGroup,
} from './store.ts';

const GroupName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Description = Type.String({ maxLength: 2000 });
const MemberParams = Type.Object({ id: Id, username: Username }, { additionalProperties: false });

/** The caller's role for permission rules: platform admins act as owners. */
async function actingRole(
  db: Queryable,
  groupId: number,
  caller: Principal,
): Promise<RoleName | null> {
  if (caller.scopes.has('admin')) return 'OWNER';
  return roleIn(db, groupId, caller.user.id);
}

/** Only ordinary groups are managed by their members; Public and domains belong to the platform. */
function requireOrdinary(group: GroupRecord, caller: Principal): void {
  if (group.kind === 'public')
    throw new HttpError(409, 'Everyone is in the Public group; it cannot be changed');
  if (group.kind === 'domain' && !caller.scopes.has('admin')) {
    throw new HttpError(
      403,
      'Science domains are managed by platform admins; join or leave them instead',
    );
  }
}

async function loadGroup(db: Queryable, id: number): Promise<GroupRecord> {
  const group = await findGroup(db, id);
  if (!group) throw notFound('Group');
  return group;
}

async function loadUser(db: Queryable, name: string) {
  const user = await findUserByName(db, name);
  if (!user) throw new HttpError(404, `No user named "${name}"`);
  return user;
}

const NewGroup = Type.Object(
  { name: GroupName, description: Type.Optional(Description) },
  { additionalProperties: false },
);

/** Create a group or a science domain and record it, in one transaction. */
function createRecorded(
  db: Db,
  req: Request,
  caller: Principal,
  body: Static<typeof NewGroup>,
  kind: 'group' | 'domain',
): Promise<GroupRecord> {
  return inTransaction(db, async (client) => {
    const group = await createGroup(client, {
      name: body.name.trim(),
      description: body.description ?? '',
      kind,
      creatorId: caller.user.id,
    });
    await recordFor(client, req, {
      type: `${kind}.create`,
      userId: caller.user.id,
      payload: { groupId: group.id, name: group.name },
    });
    return group;
  });
}

export const groupRoutes = [
  route({
    method: 'get',
    path: '/groups',
    tag: 'groups',
    summary: 'The groups I belong to, with my role',
    access: { scope: 'read:groups' },
    response: GroupList,
    lab: true,
    query: NoQuery,
    async handler({ hub, caller }) {
      return { groups: await groupsOf(hub.db, caller!.user.id) };
    },
  }),
  route({
    method: 'post',
    path: '/groups',
    tag: 'groups',
    summary: 'Create a group; you become its owner',
    access: { scope: 'groups' },
    response: GroupSummary,
    lab: true,
    body: NewGroup,
    status: 201,
    async handler({ hub, req, caller, body }) {
      const group = await createRecorded(hub.db, req, caller!, body, 'group');
      return { ...group, role: 'OWNER', memberCount: 1 };
    },
  }),
  route({
    method: 'get',
    path: '/groups/:id',
    tag: 'groups',
    summary: 'A group with its members, subgroups and (for admins) pending invitations',
    access: { scope: 'read:groups', guard: groupRole('MEMBER') },
    response: GroupDetail,
    lab: true,
    params: IdParams,
    query: NoQuery,
    async handler({ hub, caller, params }) {
      const group = await loadGroup(hub.db, params.id);
      const role = await roleIn(hub.db, group.id, caller!.user.id);
      const acting = await actingRole(hub.db, group.id, caller!);
      const canManage = acting === 'OWNER' || acting === 'ADMIN';
      return {
        ...group,
        role,
        members:
          group.kind === 'public' && !caller!.scopes.has('admin')
            ? []
            : await membersOf(hub.db, group.id),
        subgroups: await subgroupsOf(hub.db, group.id),
        invitations: canManage ? await pendingInvitationsOfGroup(hub.db, group.id) : [],
      };
    },
  }),
  route({
    method: 'patch',
    path: '/groups/:id',
    tag: 'groups',
    summary: 'Rename a group or change its description',
    access: { scope: 'groups', guard: groupRole('ADMIN') },
    response: Group,
    lab: true,
    params: IdParams,
    body: Type.Object(
      { name: Type.Optional(GroupName), description: Type.Optional(Description) },
      { additionalProperties: false, minProperties: 1 },
    ),
    async handler({ hub, req, caller, params, body }) {
      const group = await loadGroup(hub.db, params.id);
      requireOrdinary(group, caller!);
      const changes = {
        ...(body.name ? { name: body.name.trim() } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
      };
      const updated = await updateGroup(hub.db, group.id, changes);
      await recordFor(hub.db, req, {
        type: 'group.update',
        userId: caller!.user.id,
        payload: { groupId: group.id, ...changes },
      });
      return updated;
    },
  }),
  route({
    method: 'delete',
    path: '/groups/:id',
    tag: 'groups',
    summary: 'Delete a group (owners only)',
    access: { scope: 'groups', guard: groupRole('OWNER') },
    lab: true,
    params: IdParams,
    status: 204,
    async handler({ hub, req, caller, params }) {
      await inTransaction(hub.db, async (client) => {
        const group = await loadGroup(client, params.id);
        requireOrdinary(group, caller!);
        await deleteGroupAndPaths(client, group.id);
        await recordFor(client, req, {
          type: 'group.delete',
          userId: caller!.user.id,
          payload: { groupId: group.id, name: group.name },
        });
      });
    },
  }),
  route({
    method: 'post',
    path: '/groups/:id/invitations',
    tag: 'groups',
    summary: 'Invite a user to the group with a role',
    access: { scope: 'groups', guard: groupRole('ADMIN') },
    response: SentInvitation,
    lab: true,
    params: IdParams,
    body: Type.Object(
      { username: Username, role: Type.Union([Type.Literal('ADMIN'), Type.Literal('MEMBER')]) },
      { additionalProperties: false },
    ),
    status: 201,
    async handler({ hub, req, caller, params, body }) {
      return inTransaction(hub.db, async (client) => {
        const group = await loadGroup(client, params.id);
        requireOrdinary(group, caller!);
        if (group.kind === 'domain')
          throw new HttpError(409, 'Anyone may join a science domain; no invitation is needed');
        if (!mayInvite(await actingRole(client, group.id, caller!), body.role)) {
          throw new HttpError(403, `You cannot invite with the ${body.role} role`);
        }
        const invitee = await loadUser(client, body.username.normalize('NFKC').toLowerCase());
        if (await roleIn(client, group.id, invitee.id))
          throw new HttpError(409, `${invitee.name} is already a member`);
        const existing = (await pendingInvitationsOfGroup(client, group.id)).find(
          (i) => i.username === invitee.name,
        );
        if (existing) throw new HttpError(409, `${invitee.name} already has a pending invitation`);
        const invitation = await createInvitation(client, {
          groupId: group.id,
          userId: invitee.id,
          role: body.role,
          invitedBy: caller!.user.id,
        });
        await recordFor(client, req, {
          type: 'group.invite',
          userId: invitee.id,
          actorId: caller!.user.id,
          payload: {
            groupId: group.id,
            group: group.name,
            role: body.role,
            invitationId: invitation.id,
          },
        });
        return { ...invitation, username: invitee.name, group: { id: group.id, name: group.name } };
      });
    },
  }),
  route({
    method: 'get',
    path: '/invitations',
    tag: 'groups',
    summary: 'My pending invitations',
    access: { scope: 'read:groups' },
    response: InvitationList,
    lab: true,
    query: NoQuery,
    async handler({ hub, caller }) {
      return { invitations: await invitationsFor(hub.db, caller!.user.id) };
    },
  }),
  ...(['accept', 'decline'] as const).map((answer) =>
    route({
      method: 'post',
      path: `/invitations/:id/${answer}`,
      tag: 'groups',
      summary: `${answer === 'accept' ? 'Accept' : 'Decline'} an invitation addressed to me`,
      access: { scope: 'groups' },
      response: InvitationAnswer,
      lab: true,
      params: IdParams,
      async handler({ hub, req, caller, params }) {
        return inTransaction(hub.db, async (client) => {
          const invitation = await pendingInvitation(client, params.id, caller!.user.id);
          if (!invitation) throw notFound('Invitation');
          await closeInvitation(
            client,
            invitation.id,
            answer === 'accept' ? 'accepted' : 'declined',
          );
          if (answer === 'accept')
            await addMember(client, invitation.groupId, caller!.user.id, invitation.role);
          await recordFor(client, req, {
            type: `group.invitation_${answer}`,
            userId: caller!.user.id,
            payload: {
              groupId: invitation.groupId,
              role: invitation.role,
              invitationId: invitation.id,
            },
          });
          return {
            groupId: invitation.groupId,
            role: answer === 'accept' ? invitation.role : null,
          };
        });
      },
    }),
  ),
  route({
    method: 'patch',
    path: '/groups/:id/members/:username',
    tag: 'groups',
    summary: 'Change a member’s role (promote or demote)',
    access: { scope: 'groups', guard: groupRole('ADMIN') },
    response: Membership,
    lab: true,
    params: MemberParams,
    body: Type.Object({ role: Role }, { additionalProperties: false }),
    async handler({ hub, req, caller, params, body }) {
      return inTransaction(hub.db, async (client) => {
        const group = await loadGroup(client, params.id);
        requireOrdinary(group, caller!);
        const target = await loadUser(client, params.username);
        const current = await roleIn(client, group.id, target.id);
        if (!current) throw new HttpError(404, `${target.name} is not a member`);
        if (!mayChangeRole(await actingRole(client, group.id, caller!), current, body.role)) {
          throw new HttpError(403, `You cannot change a ${current} to ${body.role}`);
        }
        if (
          current === 'OWNER' &&
          body.role !== 'OWNER' &&
          (await countOwners(client, group.id)) <= 1
        ) {
          throw new HttpError(
            409,
            'A group needs at least one owner; make someone else owner first',
          );
        }
        await setRole(client, group.id, target.id, body.role);
        await recordFor(client, req, {
          type: 'group.role',
          userId: target.id,
          actorId: caller!.user.id,
          payload: { groupId: group.id, from: current, to: body.role },
        });
        return { name: target.name, role: body.role };
      });
    },
  }),
  route({
    method: 'delete',
    path: '/groups/:id/members/:username',
    tag: 'groups',
    summary: 'Remove a member, or leave the group when the username is your own',
    access: { scope: 'groups', guard: groupRole('MEMBER') },
    lab: true,
    params: MemberParams,
    status: 204,
    async handler({ hub, req, caller, params }) {
      await inTransaction(hub.db, async (client) => {
        const group = await loadGroup(client, params.id);
        if (group.kind === 'public')
          throw new HttpError(409, 'Everyone is in the Public group; nobody can leave it');
        const target = await loadUser(client, params.username);
        const current = await roleIn(client, group.id, target.id);
        if (!current) throw new HttpError(404, `${target.name} is not a member`);
        const self = target.id === caller!.user.id;
        if (!mayRemove(await actingRole(client, group.id, caller!), current, self)) {
          throw new HttpError(403, `You cannot remove a ${current}`);
        }
        if (current === 'OWNER' && (await countOwners(client, group.id)) <= 1) {
          throw new HttpError(
            409,
            'The last owner cannot leave; make someone else owner or delete the group',
          );
        }
        await removeMember(client, group.id, target.id);
        await recordFor(client, req, {
          type: self ? 'group.leave' : 'group.remove',
          userId: target.id,
          actorId: caller!.user.id,
          payload: { groupId: group.id, group: group.name },
        });
      });
    },
  }),
  route({
    method: 'post',
    path: '/groups/:id/subgroups',
    tag: 'groups',
    summary: 'Put another group inside this one: its members gain what this group is given',
    access: { scope: 'groups', guard: groupRole('ADMIN') },
    response: Subgroup,
    params: IdParams,
    body: Type.Object({ groupId: Id }, { additionalProperties: false }),
    status: 201,
    async handler({ hub, req, caller, params, body }) {
      return inTransaction(hub.db, async (client) => {
        const parent = await loadGroup(client, params.id);
        const child = await findGroup(client, body.groupId);
        const childRole = child ? await actingRole(client, child.id, caller!) : null;
        if (!child || !childRole) throw new HttpError(404, 'The group to nest was not found');
        if (parent.kind === 'public' || child.kind === 'public')
          throw new HttpError(409, 'The Public group cannot be nested');
        if (childRole === 'MEMBER')
          throw new HttpError(403, 'You need the ADMIN role in the group you nest');
        await nestGroup(client, parent.id, child.id);
        await recordFor(client, req, {
          type: 'group.nest',
          userId: caller!.user.id,
          payload: { parentId: parent.id, childId: child.id },
        });
        return { id: child.id, name: child.name };
      });
    },
  }),
  route({
    method: 'delete',
    path: '/groups/:id/subgroups/:childId',
    tag: 'groups',
    summary: 'Take a group out of this one',
    access: { scope: 'groups', guard: groupRole('ADMIN') },
    params: Type.Object({ id: Id, childId: Id }, { additionalProperties: false }),
    status: 204,
    async handler({ hub, req, caller, params }) {
      await inTransaction(hub.db, async (client) => {
        if (!(await unnestGroup(client, params.id, params.childId))) throw notFound('Subgroup');
        await recordFor(client, req, {
          type: 'group.unnest',
          userId: caller!.user.id,
          payload: { parentId: params.id, childId: params.childId },
        });
      });
    },
  }),
  route({
    method: 'get',
    path: '/domains',
    tag: 'domains',
    summary: 'Science domains, and whether I have joined each',
    access: { scope: 'read:groups' },
    response: DomainList,
    lab: true,
    query: NoQuery,
    async handler({ hub, caller }) {
      return { domains: await domains(hub.db, caller!.user.id) };
    },
  }),
  route({
    method: 'post',
    path: '/domains',
    tag: 'domains',
    summary: 'Create a science domain (platform admins)',
    access: { scope: 'admin' },
    response: NewDomain,
    body: NewGroup,
    status: 201,
    async handler({ hub, req, caller, body }) {
      const domain = await createRecorded(hub.db, req, caller!, body, 'domain');
      return { ...domain, joined: false };
    },
  }),
  ...(['join', 'leave'] as const).map((verb) =>
    route({
      method: 'post',
      path: `/domains/:id/${verb}`,
      tag: 'domains',
      summary: `${verb === 'join' ? 'Join' : 'Leave'} a science domain`,
      access: { scope: 'groups' },
      response: DomainMembership,
      lab: true,
      params: IdParams,
      async handler({ hub, req, caller, params }) {
        const group = await findGroup(hub.db, params.id);
        if (group?.kind !== 'domain') throw notFound('Science domain');
        if (verb === 'join') await addMember(hub.db, group.id, caller!.user.id, 'MEMBER');
        else await removeMember(hub.db, group.id, caller!.user.id);
        await recordFor(hub.db, req, {
          type: `domain.${verb}`,
          userId: caller!.user.id,
          payload: { groupId: group.id, name: group.name },
        });
        return { id: group.id, name: group.name, joined: verb === 'join' };
      },
    }),
  ),
];
