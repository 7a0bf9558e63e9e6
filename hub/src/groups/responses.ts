/** What the group and science-domain routes answer. */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Role, Strict, Timestamp } from '../http/schemas.ts';

const Kind = Type.Union([
  Type.Literal('group'),
  Type.Literal('domain'),
  Type.Literal('public'),
  Type.Literal('course'),
]);
const InvitableRole = Type.Union([Type.Literal('ADMIN'), Type.Literal('MEMBER')]);
const InvitationStatus = Type.Union(
  ['pending', 'accepted', 'declined', 'cancelled'].map((s) => Type.Literal(s)),
);

export const Group = Strict({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  kind: Kind,
  created_at: Timestamp,
});

export const GroupSummary = Strict({
  ...Group.properties,
  role: Role,
  member_count: Type.Integer({ minimum: 0 }),
});
export const GroupList = Strict({ groups: Type.Array(GroupSummary) });

const NamedGroup = Strict({ id: Id, name: Type.String() });

export const GroupDetail = Strict({
  ...Group.properties,
  role: Nullable(Role),
  members: Type.Array(Strict({ name: Type.String(), role: Role, joined_at: Timestamp })),
  subgroups: Type.Array(NamedGroup),
  invitations: Type.Array(
    Strict({
      id: Id,
      username: Type.String(),
      role: InvitableRole,
      status: InvitationStatus,
      created_at: Timestamp,
    }),
  ),
});

export const SentInvitation = Strict({
  id: Id,
  role: InvitableRole,
  status: InvitationStatus,
  created_at: Timestamp,
  username: Type.String(),
  group: NamedGroup,
});

export const InvitationList = Strict({
  invitations: Type.Array(
    Strict({
      id: Id,
      group: Strict({ id: Id, name: Type.String(), description: Type.String() }),
      role: InvitableRole,
      invited_by: Nullable(Type.String()),
      created_at: Timestamp,
    }),
  ),
});

export const InvitationAnswer = Strict({ group_id: Id, role: Nullable(InvitableRole) });
export const Membership = Strict({ name: Type.String(), role: Role });
export const Subgroup = NamedGroup;

const DomainProperties = {
  id: Id,
  name: Type.String(),
  description: Type.String(),
  joined: Type.Boolean(),
};
export const DomainList = Strict({ domains: Type.Array(Strict(DomainProperties)) });
export const NewDomain = Strict({ ...Group.properties, joined: Type.Boolean() });
export const DomainMembership = Strict({ id: Id, name: Type.String(), joined: Type.Boolean() });
