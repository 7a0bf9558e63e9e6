/**
 * Who may do what inside a group. Pure rules, unit-tested; the store and
 * routes ask these and never re-derive them.
 *   OWNER  — everything, including deleting the group and making other owners.
 *   ADMIN  — invite, remove members, promote members to admin.
 *   MEMBER — see the group, leave it.
 */
export type Role = 'OWNER' | 'ADMIN' | 'MEMBER';

const RANK: Record<Role, number> = { MEMBER: 1, ADMIN: 2, OWNER: 3 };

export const atLeast = (role: Role | null | undefined, minimum: Role) =>
  role !== null && role !== undefined && RANK[role] >= RANK[minimum];

export function mayInvite(actor: Role | null, invitedRole: Role): boolean {
  return atLeast(actor, 'ADMIN') && (invitedRole !== 'OWNER' || actor === 'OWNER');
}

/** Change target's role from `from` to `to`. Admins manage members and admins, only owners touch owners. */
export function mayChangeRole(actor: Role | null, from: Role, to: Role): boolean {
  if (!atLeast(actor, 'ADMIN')) return false;
  if (from === 'OWNER' || to === 'OWNER') return actor === 'OWNER';
  return true;
}

export function mayRemove(actor: Role | null, target: Role, self: boolean): boolean {
  if (self) return true;
  if (!atLeast(actor, 'ADMIN')) return false;
  return target !== 'OWNER' || actor === 'OWNER';
}
