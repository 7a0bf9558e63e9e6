/**
 * An admin changes an account's flags: approves a registration (or withdraws the approval,
 * which disables the account: its sessions end and it can no longer sign in or use a token),
 * or makes or unmakes an admin. The API's PATCH /users/{name} and the admin pages both call
 * this, so the rules are the same whichever way the admin goes.
 */
import type { Request } from 'express';
import { recordFor } from '../activity/record.ts';
import type { UserRecord } from '../auth/principal.ts';
import { deleteUserSessions } from '../auth/sessions.ts';
import { inTransaction } from '../db/pool.ts';
import { HttpError } from '../http/errors.ts';
import type { Hub } from '../hub.ts';
import { userNamed } from './service.ts';
import { countAdmins, lockUser, updateUserFlags } from './store.ts';

export interface AccountFlags {
  approved?: boolean;
  admin?: boolean;
}

export function updateAccountFlags(
  hub: Hub,
  req: Request,
  actorId: number,
  name: string,
  flags: AccountFlags,
): Promise<UserRecord> {
  return inTransaction(hub.db, async (client) => {
    const user = await userNamed(client, name);
    // Taken one at a time, so two admins unmaking each other cannot leave no admin.
    await lockUser(client, user.id);
    if (flags.approved === false && user.id === actorId)
      throw new HttpError(409, 'You cannot disable your own account');
    if (flags.admin === false && user.admin && (await countAdmins(client)) <= 1) {
      throw new HttpError(409, 'This is the last admin; make someone else an admin first');
    }
    const changed = await updateUserFlags(client, user.id, flags);
    if (flags.approved === false) await deleteUserSessions(client, user.id);
    await recordFor(client, req, {
      type: 'user.update',
      userId: user.id,
      actorId,
      payload: { ...flags },
    });
    return changed!;
  });
}
