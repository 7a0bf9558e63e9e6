/** Creating accounts: shared by registration, the admin CLI and single sign-on. */
import { type ActivityPayload, recordActivity } from '../activity/store.ts';
import { hashPassword } from '../auth/passwords.ts';
import type { UserRecord } from '../auth/principal.ts';
import type { HubConfig } from '../config.ts';
import type { Queryable } from '../db/pool.ts';
import { NotFound } from '../errors.ts';
import { addMember, publicGroupId } from '../groups/store.ts';
import { HttpError } from '../http/errors.ts';
import { safeNameFor, validateUsername } from './names.ts';
import { findUserByName, insertUser, nameBeingRemoved } from './store.ts';

export interface AccountSpec {
  username: string;
  email?: string | null;
  password?: string | null;
  admin?: boolean;
  approved: boolean;
}

/** Create a user and put them in the Public group. Run inside a transaction. */
export async function createAccount(
  db: Queryable,
  config: HubConfig,
  spec: AccountSpec,
  event: {
    type: string;
    address?: string | null;
    actorId?: number | null;
    payload?: ActivityPayload;
  },
): Promise<UserRecord> {
  const name = validateUsername(spec.username);
  if (await findUserByName(db, name)) throw new HttpError(409, `The username "${name}" is taken`);
  const safeName = safeNameFor(name);
  // A deleted account's servers and files are still being removed: the name is not free yet.
  if (await nameBeingRemoved(db, name, safeName)) {
    throw new HttpError(
      409,
      `The username "${name}" belonged to a deleted account that is still being removed; try again later`,
    );
  }
  const user = await insertUser(db, {
    name,
    safeName,
    email: spec.email ?? null,
    passwordHash: spec.password ? await hashPassword(spec.password, config.argon2) : null,
    admin: spec.admin ?? false,
    approved: spec.approved,
  });
  await addMember(db, await publicGroupId(db), user.id, 'MEMBER');
  await recordActivity(db, {
    type: event.type,
    userId: user.id,
    actorId: event.actorId ?? user.id,
    address: event.address ?? null,
    payload: { name, ...(event.payload ?? {}) },
  });
  return user;
}

/** The user named `name` (exactly as stored); NotFound (`user`) if there is none. */
export async function userNamed(db: Queryable, name: string): Promise<UserRecord> {
  const user = await findUserByName(db, name);
  if (!user) throw new NotFound('user', `No user named "${name}"`);
  return user;
}
