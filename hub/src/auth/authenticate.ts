/** Finds who is calling: a session cookie or an API token. Never refuses by itself. */
import type { Request } from 'express';
import { findUserById } from '../accounts/store.ts';
import type { Hub } from '../hub.ts';
import type { Principal } from './principal.ts';
import { effectiveScopes } from './scopes.ts';
import { SESSION_COOKIE, sessionUser } from './sessions.ts';
import { lookupToken } from './tokens.ts';

/** The token from `Authorization: token <t>` or `Authorization: Bearer <t>`. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  const match = header?.match(/^(?:token|bearer)\s+(\S+)$/i);
  return match?.[1];
}

export async function authenticate(hub: Hub, req: Request): Promise<Principal | null> {
  const token = tokenFromHeader(req.get('authorization'));
  if (token) {
    const found = await lookupToken(hub.db, token);
    if (!found) return null;
    const user = await findUserById(hub.db, found.userId);
    if (!user?.approved) return null;
    return {
      user,
      scopes: effectiveScopes(found.scopes, user.admin),
      via: 'token',
      tokenId: found.id,
      tokenExpiresAt: found.expiresAt,
      // The default server's name is "" and counts as a server too.
      ...(found.serverName === null ? {} : { serverName: found.serverName }),
      ...(found.kind === 'oauth' ? { oauth: true as const } : {}),
    };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (typeof cookie === 'string' && cookie) {
    const userId = await sessionUser(hub.db, cookie);
    if (userId === undefined) return null;
    const user = await findUserById(hub.db, userId);
    if (!user?.approved) return null;
    return { user, scopes: effectiveScopes(['all'], user.admin), via: 'session' };
  }
  return null;
}
