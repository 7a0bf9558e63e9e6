/**
 * From an identity at the provider to a local account. An identity is only ever
 * linked to an account created for it here: a local account that happens to
 * have the same name or email is never taken over, the newcomer gets a
 * distinct name instead.
 */
import type { Request } from 'express';
import { createAccount } from '../accounts/service.ts';
import { findUserById, findUserByName } from '../accounts/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import { inTransaction } from '../db/pool.ts';
import { HttpError } from '../http/errors.ts';
import type { Hub } from '../hub.ts';
import { baseUsername, candidateUsernames, type ProfileClaims } from './names.ts';
import { linkedUserId, linkIdentity } from './store.ts';

const MAX_EMAIL_LENGTH = 254;
// Two first sign-ins racing for one name or one identity: the loser looks again.
const ATTEMPTS = 3;

export interface Identity {
  /** The provider's short name, `config.oidc.name`. */
  provider: string;
  subject: string;
  /** Asked only when an account has to be created. */
  profile(): Promise<ProfileClaims>;
}

/** The account `identity` signs in as, created (and recorded as `user.register`) on first sign-in. */
export async function accountFor(
  hub: Hub,
  req: Request,
  identity: Identity,
): Promise<{ user: UserRecord; created: boolean }> {
  for (let attempt = 1; ; attempt += 1) {
    const userId = await linkedUserId(hub.db, identity.provider, identity.subject);
    const linked = userId === undefined ? undefined : await findUserById(hub.db, userId);
    if (linked) return { user: linked, created: false };
    if (!hub.config.openRegistration) {
      throw new HttpError(
        403,
        'Registration is closed, and no account here is linked to this identity; ask an administrator for an account',
      );
    }
    try {
      return { user: await createLinkedAccount(hub, req, identity), created: true };
    } catch (err) {
      if ((err as { code?: string }).code !== '23505' || attempt >= ATTEMPTS) throw err;
    }
  }
}

async function createLinkedAccount(hub: Hub, req: Request, identity: Identity) {
  const claims = await identity.profile();
  const email =
    typeof claims.email === 'string' && claims.email.length <= MAX_EMAIL_LENGTH
      ? claims.email
      : null;
  return inTransaction(hub.db, async (client) => {
    for (const name of candidateUsernames(baseUsername(claims))) {
      if (await findUserByName(client, name)) continue;
      const user = await createAccount(
        client,
        hub.config,
        { username: name, email, approved: !hub.config.requireApproval },
        {
          type: 'user.register',
          address: req.ip ?? null,
          payload: { method: 'oidc', provider: identity.provider },
        },
      );
      await linkIdentity(client, {
        provider: identity.provider,
        subject: identity.subject,
        userId: user.id,
        email,
      });
      return user;
    }
    throw new HttpError(409, 'No free username could be found for you; ask an administrator', {
      logMessage: `every candidate username for ${identity.provider} subject is taken`,
    });
  });
}
