/** Finds who is calling: a session cookie or an API token. Never refuses by itself. */
import type { Request } from 'express';
import type { Hub } from '../hub.ts';
import type { Principal } from './principal.ts';
import { effectiveScopes } from './scopes.ts';
import { SESSION_COOKIE, sessionOwner } from './sessions.ts';
import { lookupToken } from './tokens.ts';

/** The token from `Authorization: token <t>` or `Authorization: Bearer <t>`. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  const match = header?.match(/^(?:token|bearer)\s+(\S+)$/i);
  return match?.[1];
}

export async function authenticate(hub: Hub, req: Request): Promise<Principal | null> {
  const token = tokenFromHeader(req.get('authorization'));
  if (token) {
    // The token and its owner in one query.
    const found = await lookupToken(hub.db, token);
    const user = found?.owner;
    if (!found || !user?.approved) return null;
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
    const user = await sessionOwner(hub.db, cookie);
    if (!user?.approved) return null;
    return { user, scopes: effectiveScopes(['all'], user.admin), via: 'session' };
  }
  return null;
}
