/** Groups: create, invite, answer, promote, remove, leave, nest; science domains to join and leave. */
import { Type } from '@sinclair/typebox';
import { actorOf } from '../auth/actor.ts';
import { groupRole } from '../auth/guards.ts';
import { routesOf } from '../http/route.ts';
import { Id, IdParams, NoQuery, Role, Username } from '../http/schemas.ts';
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
import type { GroupsService } from './service.ts';

// Handlers only translate between HTTP and the service, which holds every rule.
const route = routesOf<GroupsService>();

const GroupName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Description = Type.String({ maxLength: 2000 });
const MemberParams = Type.Object({ id: Id, username: Username }, { additionalProperties: false });

const NewGroup = Type.Object(
  { name: GroupName, description: Type.Optional(Description) },
  { additionalProperties: false },
);

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
    async handler({ service, req, caller }) {
      return { groups: await service.list(actorOf(caller!, req)) };
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
    async handler({ service, req, caller, body }) {
      const group = await service.create(actorOf(caller!, req), body, 'group');
      return { ...group, role: 'OWNER', member_count: 1 };
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
    async handler({ service, req, caller, params }) {
      return service.describe(actorOf(caller!, req), params.id);
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
    async handler({ service, req, caller, params, body }) {
      return service.update(actorOf(caller!, req), params.id, body);
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
    async handler({ service, req, caller, params }) {
      await service.delete(actorOf(caller!, req), params.id);
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
    async handler({ service, req, caller, params, body }) {
      return service.invite(actorOf(caller!, req), params.id, body.username, body.role);
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
    async handler({ service, req, caller }) {
      return { invitations: await service.invitationsFor(actorOf(caller!, req)) };
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
      async handler({ service, req, caller, params }) {
        return service.answer(actorOf(caller!, req), params.id, answer);
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
    async handler({ service, req, caller, params, body }) {
      return service.changeRole(actorOf(caller!, req), params.id, params.username, body.role);
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
    async handler({ service, req, caller, params }) {
      await service.removeMember(actorOf(caller!, req), params.id, params.username);
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
    body: Type.Object({ group_id: Id }, { additionalProperties: false }),
    status: 201,
    async handler({ service, req, caller, params, body }) {
      return service.nest(actorOf(caller!, req), params.id, body.group_id);
    },
  }),
  route({
    method: 'delete',
    path: '/groups/:id/subgroups/:child_id',
    tag: 'groups',
    summary: 'Take a group out of this one',
    access: { scope: 'groups', guard: groupRole('ADMIN') },
    params: Type.Object({ id: Id, child_id: Id }, { additionalProperties: false }),
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.unnest(actorOf(caller!, req), params.id, params.child_id);
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
    async handler({ service, req, caller }) {
      return { domains: await service.domains(actorOf(caller!, req)) };
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
    async handler({ service, req, caller, body }) {
      const domain = await service.create(actorOf(caller!, req), body, 'domain');
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
      async handler({ service, req, caller, params }) {
        return service.joinOrLeaveDomain(actorOf(caller!, req), params.id, verb);
      },
    }),
  ),
];
