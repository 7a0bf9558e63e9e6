/**
 * Who a service acts for. Services take an Actor, not an HTTP request, so a job dispatcher or
 * a course roster can call them with the same identity the API would pass.
 */
import type { Request } from 'express';
import type { Principal } from './principal.ts';

export interface Actor {
  userId: number;
  /** A platform admin: services treat them as the owner of everything they manage. */
  admin: boolean;
  /** Where the request came from, for the activity log; null for the hub's own work. */
  address: string | null;
}

/** The signed-in caller of an API request, as an Actor. */
export function actorOf(caller: Principal, req: Request): Actor {
  return { userId: caller.user.id, admin: caller.scopes.has('admin'), address: req.ip ?? null };
}
