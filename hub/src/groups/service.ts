/**
 * Groups as a service: every rule about groups, memberships, invitations and science domains,
 * each write in one transaction with its activity record, each read-then-write rule under a
 * row lock. Callers are the HTTP routes today and a job dispatcher or a course roster
 * tomorrow: it speaks domain errors (errors.ts), never HTTP.
 */

import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import { lockUser } from '../accounts/store.ts';
import { type ActivityPayload, recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { Conflict, Forbidden, LimitReached, NotFound } from '../errors.ts';
import type { AccessChanges } from '../racm/changes.ts';
import { deleteGroupAndPaths, nestGroup, unnestGroup } from './nesting.ts';
import { atLeast, mayChangeRole, mayInvite, mayRemove, type Role } from './roles.ts';
import {
  addMember,
  closeInvitation,
  countOwnedGroups,
  countOwners,
  countPendingInvitationsBy,
  createGroup,
  createInvitation,
  domains,
  findGroup,
  type GroupRecord,
  groupsOf,
  invitationsFor,
  lockGroup,
  membersOf,
  pendingInvitation,
  pendingInvitationsOfGroup,
  removeMember,
  roleIn,
  setRole,
  subgroupsOf,
  updateGroup,
} from './store.ts';

export interface GroupsLimits {
  /** Ordinary groups one user may own. */
  maxGroupsPerUser: number;
  /** Unanswered invitations one user may have sent. */
  maxPendingInvitationsPerUser: number;
}

export interface NewGroupSpec {
  name: string;
  description?: string | undefined;
}

/**
 * A course's roster is changed through the course (hub/src/courses), which copies files, shares
 * the lecture and grading volumes and logs it; the groups API only reads it.
 */
const courseGroup = () =>
  new Conflict('course_group', "This group is a course's roster; change it through the course");

/** Told, after the change is committed, whose group memberships changed (their ids). */
export type MembershipListener = (userIds: number[]) => void;

export class GroupsService {
  private readonly membershipListeners = new Set<MembershipListener>();

  constructor(
    private readonly db: Db,
    private readonly limits: GroupsLimits,
    /** Told once a change of memberships or nesting is committed (MyDB's grants follow it). */
    private readonly accessChanges?: AccessChanges,
  ) {}

  /**
   * Listen for membership changes: joining, leaving, removal, nesting, unnesting and deleting a
   * group (what a privilege given to a group reaches changes with them; files re-mounts views).
   */
  onMembershipChanged(listener: MembershipListener): void {
    this.membershipListeners.add(listener);
  }

  /**
   * After a committed change of memberships or nesting: those who mirror RACM elsewhere apply it
   * before the request is answered, then the listeners hear who it touched. Courses call it
   * after changing their group's roster in their own transactions.
   */
  async membershipChanged(userIds: number[]): Promise<void> {
    await this.accessChanges?.changed();
    if (userIds.length === 0) return;
    for (const listener of this.membershipListeners) listener([...new Set(userIds)]);
  }

  /** The groups the actor belongs to, with their role. */
  list(actor: Actor) {
    return groupsOf(this.db, actor.userId);
  }

  /** Create a group (the actor becomes its owner) or, for platform admins, a science domain. */
  create(actor: Actor, spec: NewGroupSpec, kind: 'group' | 'domain'): Promise<GroupRecord> {
    return inTransaction(this.db, async (client) => {
      if (kind === 'domain' && !actor.admin)
        throw new Forbidden('admin_only', 'Only platform admins create science domains');
      if (kind === 'group') {
        // Count, then insert: one creation at a time per user, or a burst would pass the cap.
        await lockUser(client, actor.userId);
        if ((await countOwnedGroups(client, actor.userId)) >= this.limits.maxGroupsPerUser) {
          throw new LimitReached(
            'group_cap',
            `You own ${this.limits.maxGroupsPerUser} groups, the most allowed; delete one or hand it over first`,
          );
        }
      }
      const group = await createGroup(client, {
        name: spec.name.trim(),
        description: spec.description ?? '',
        kind,
        creatorId: actor.userId,
      });
      await record(client, actor, `${kind}.create`, { group_id: group.id, name: group.name });
      return group;
    });
  }

  /** A group with its members, subgroups and, for those who manage it, pending invitations. */
  async describe(actor: Actor, groupId: number) {
    const group = await findGroup(this.db, groupId);
    const role = group ? await roleIn(this.db, group.id, actor.userId) : null;
    if (!group || (!role && !actor.admin)) throw groupNotFound();
    const acting = actor.admin ? 'OWNER' : role;
    return {
      ...group,
      role,
      members: group.kind === 'public' && !actor.admin ? [] : await membersOf(this.db, group.id),
      subgroups: await subgroupsOf(this.db, group.id),
      invitations: atLeast(acting, 'ADMIN')
        ? await pendingInvitationsOfGroup(this.db, group.id)
        : [],
    };
  }

  /** Rename a group or change its description (ADMIN). */
  update(actor: Actor, groupId: number, changes: { name?: string; description?: string }) {
    return inTransaction(this.db, async (client) => {
      const group = await this.managed(client, actor, groupId, 'ADMIN');
      const applied = {
        ...(changes.name ? { name: changes.name.trim() } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
      };
      const updated = await updateGroup(client, group.id, applied);
      await record(client, actor, 'group.update', { group_id: group.id, ...applied });
      return updated;
    });
  }

  /** Delete a group (OWNER); pairs of nested groups that went through it go too. */
  async delete(actor: Actor, groupId: number): Promise<void> {
    const affected = await inTransaction(this.db, async (client) => {
      const group = await this.managed(client, actor, groupId, 'OWNER');
      const members = await membersUnder(client, group.id);
      await deleteGroupAndPaths(client, group.id);
      await record(client, actor, 'group.delete', { group_id: group.id, name: group.name });
      return members;
    });
    await this.membershipChanged(affected);
  }

  /** Invite a user with a role; one pending invitation per user and group. */
  invite(actor: Actor, groupId: number, username: string, role: Role) {
    return inTransaction(this.db, async (client) => {
      const group = await this.managed(client, actor, groupId, 'ADMIN');
      if (group.kind === 'domain')
        throw new Conflict(
          'domain_open',
          'Anyone may join a science domain; no invitation is needed',
        );
      if (!mayInvite(await actingRole(client, group.id, actor), role))
        throw new Forbidden('role_rank', `You cannot invite with the ${role} role`);
      const invitee = await userNamed(client, normaliseUsername(username));
      if (await roleIn(client, group.id, invitee.id))
        throw new Conflict('already_member', `${invitee.name} is already a member`);
      const pending = await pendingInvitationsOfGroup(client, group.id);
      if (pending.some((i) => i.username === invitee.name)) {
        throw new Conflict('already_invited', `${invitee.name} already has a pending invitation`);
      }
      await lockUser(client, actor.userId);
      if (
        (await countPendingInvitationsBy(client, actor.userId)) >=
        this.limits.maxPendingInvitationsPerUser
      ) {
        throw new LimitReached(
          'invitation_cap',
          `You have ${this.limits.maxPendingInvitationsPerUser} unanswered invitations, the most allowed; wait for answers first`,
        );
      }
      const invitation = await createInvitation(client, {
        groupId: group.id,
        userId: invitee.id,
        role,
        invitedBy: actor.userId,
      });
      await record(
        client,
        actor,
        'group.invite',
        { group_id: group.id, group: group.name, role, invitation_id: invitation.id },
        invitee.id,
      );
      return { ...invitation, username: invitee.name, group: { id: group.id, name: group.name } };
    });
  }

  /** Invitations addressed to the actor and not yet answered. */
  invitationsFor(actor: Actor) {
    return invitationsFor(this.db, actor.userId);
  }

  /** Accept or decline an invitation addressed to the actor. */
  async answer(actor: Actor, invitationId: number, answer: 'accept' | 'decline') {
    const answered = await inTransaction(this.db, async (client) => {
      const invitation = await pendingInvitation(client, invitationId, actor.userId);
      if (!invitation) throw new NotFound('invitation', 'Invitation not found');
      await closeInvitation(client, invitation.id, answer === 'accept' ? 'accepted' : 'declined');
      if (answer === 'accept')
        await addMember(client, invitation.groupId, actor.userId, invitation.role);
      await record(client, actor, `group.invitation_${answer}`, {
        group_id: invitation.groupId,
        role: invitation.role,
        invitation_id: invitation.id,
      });
      return { group_id: invitation.groupId, role: answer === 'accept' ? invitation.role : null };
    });
    if (answer === 'accept') await this.membershipChanged([actor.userId]);
    return answered;
  }

  /** Promote or demote a member; a group always keeps an owner. */
  changeRole(actor: Actor, groupId: number, username: string, to: Role) {
    return inTransaction(this.db, async (client) => {
      const group = await this.managed(client, actor, groupId, 'ADMIN');
      const target = await userNamed(client, normaliseUsername(username));
      const from = await roleIn(client, group.id, target.id);
      if (!from) throw new NotFound('not_member', `${target.name} is not a member`);
      if (!mayChangeRole(await actingRole(client, group.id, actor), from, to))
        throw new Forbidden('role_rank', `You cannot change a ${from} to ${to}`);
      if (from === 'OWNER' && to !== 'OWNER' && (await countOwners(client, group.id)) <= 1) {
        throw new Conflict(
          'last_owner',
          'A group needs at least one owner; make someone else owner first',
        );
      }
      await setRole(client, group.id, target.id, to);
      await record(client, actor, 'group.role', { group_id: group.id, from, to }, target.id);
      return { name: target.name, role: to };
    });
  }

  /** Remove a member, or leave when the username is the actor's own; a group keeps an owner. */
  async removeMember(actor: Actor, groupId: number, username: string): Promise<void> {
    const removed = await inTransaction(this.db, async (client) => {
      // Locked before the owners are counted: two owners leaving at once take turns, and the
      // second sees that it is the last.
      const group = await lockGroup(client, groupId);
      if (!group) throw groupNotFound();
      if (group.kind === 'public')
        throw new Conflict('public_group', 'Everyone is in the Public group; nobody can leave it');
      if (group.kind === 'course') throw courseGroup();
      const acting = await actingRole(client, group.id, actor);
      if (!acting) throw groupNotFound();
      const target = await userNamed(client, normaliseUsername(username));
      const current = await roleIn(client, group.id, target.id);
      if (!current) throw new NotFound('not_member', `${target.name} is not a member`);
      const self = target.id === actor.userId;
      if (!mayRemove(acting, current, self))
        throw new Forbidden('role_rank', `You cannot remove a ${current}`);
      if (current === 'OWNER' && (await countOwners(client, group.id)) <= 1) {
        throw new Conflict(
          'last_owner',
          'The last owner cannot leave; make someone else owner or delete the group',
        );
      }
      await removeMember(client, group.id, target.id);
      await record(
        client,
        actor,
        self ? 'group.leave' : 'group.remove',
        { group_id: group.id, group: group.name },
        target.id,
      );
      return target.id;
    });
    await this.membershipChanged([removed]);
  }

  /** Put a group inside another: its members gain what the parent is given. */
  async nest(actor: Actor, parentId: number, childId: number) {
    const { nested, members } = await inTransaction(this.db, async (client) => {
      const parent = await this.managed(client, actor, parentId, 'ADMIN', { allowPublic: true });
      const child = await findGroup(client, childId);
      const childRole = child ? await actingRole(client, child.id, actor) : null;
      if (!child || !childRole) throw new NotFound('group', 'The group to nest was not found');
      if (parent.kind === 'public' || child.kind === 'public')
        throw new Conflict('public_group', 'The Public group cannot be nested');
      if (child.kind === 'course') throw courseGroup();
      if (!atLeast(childRole, 'ADMIN'))
        throw new Forbidden('group_role', 'You need the ADMIN role in the group you nest');
      await nestGroup(client, parent.id, child.id);
      await record(client, actor, 'group.nest', { parent_id: parent.id, child_id: child.id });
      return {
        nested: { id: child.id, name: child.name },
        members: await membersUnder(client, child.id),
      };
    });
    await this.membershipChanged(members);
    return nested;
  }

  /** Take a group out of another. */
  async unnest(actor: Actor, parentId: number, childId: number): Promise<void> {
    const members = await inTransaction(this.db, async (client) => {
      await this.managed(client, actor, parentId, 'ADMIN', { allowPublic: true });
      if (!(await unnestGroup(client, parentId, childId)))
        throw new NotFound('subgroup', 'Subgroup not found');
      await record(client, actor, 'group.unnest', { parent_id: parentId, child_id: childId });
      return membersUnder(client, childId);
    });
    await this.membershipChanged(members);
  }

  /** Science domains, and whether the actor has joined each. */
  domains(actor: Actor) {
    return domains(this.db, actor.userId);
  }

  /** Join or leave a science domain; open to everyone. */
  async joinOrLeaveDomain(actor: Actor, domainId: number, verb: 'join' | 'leave') {
    const result = await inTransaction(this.db, async (client) => {
      const group = await findGroup(client, domainId);
      if (group?.kind !== 'domain') throw new NotFound('domain', 'Science domain not found');
      if (verb === 'join') await addMember(client, group.id, actor.userId, 'MEMBER');
      else await removeMember(client, group.id, actor.userId);
      await record(client, actor, `domain.${verb}`, { group_id: group.id, name: group.name });
      return { id: group.id, name: group.name, joined: verb === 'join' };
    });
    await this.membershipChanged([actor.userId]);
    return result;
  }

  /**
   * Lock a group its members manage and check the actor's role in it. The Public group and
   * science domains belong to the platform: domains are changed by platform admins only.
   */
  private async managed(
    client: Queryable,
    actor: Actor,
    groupId: number,
    minimum: Role,
    options: { allowPublic?: boolean } = {},
  ): Promise<GroupRecord> {
    const group = await lockGroup(client, groupId);
    if (!group) throw groupNotFound();
    const acting = await actingRole(client, group.id, actor);
    if (!acting) throw groupNotFound();
    if (!atLeast(acting, minimum))
      throw new Forbidden('group_role', `This needs the ${minimum} role in the group`);
    if (group.kind === 'public' && !options.allowPublic)
      throw new Conflict('public_group', 'Everyone is in the Public group; it cannot be changed');
    if (group.kind === 'course') throw courseGroup();
    if (group.kind === 'domain' && !actor.admin) {
      throw new Forbidden(
        'domain_managed',
        'Science domains are managed by platform admins; join or leave them instead',
      );
    }
    return group;
  }
}

/** Members of a group and of every group nested inside it: whom a change to it reaches. */
async function membersUnder(db: Queryable, groupId: number): Promise<number[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT m.user_id AS id FROM group_closure c
       JOIN group_members m ON m.group_id = c.descendant_id WHERE c.ancestor_id = $1`,
    [groupId],
  );
  return rows.map((row) => Number(row.id));
}

const groupNotFound = () => new NotFound('group', 'Group not found');

/** The actor's role for permission rules: platform admins act as owners. */
async function actingRole(db: Queryable, groupId: number, actor: Actor): Promise<Role | null> {
  if (actor.admin) return 'OWNER';
  return roleIn(db, groupId, actor.userId);
}

/** Record an event in the same transaction as the change it describes. */
function record(
  client: Queryable,
  actor: Actor,
  type: string,
  payload: ActivityPayload,
  subjectId = actor.userId,
): Promise<void> {
  return recordActivity(client, {
    type,
    userId: subjectId,
    actorId: actor.userId,
    address: actor.address,
    payload,
  });
}
