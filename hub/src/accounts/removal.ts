/**
 * Deleting an account. Nothing of it may pass to whoever registers the name next: the users
 * row goes at once (its sessions, tokens and server rows with it), a removal record keeps the
 * name taken, and the account's servers and workspace are removed before the record goes. A
 * removal that cannot finish now (a Docker host down) is retried by the compute loop; until
 * then registering the name answers 409.
 */
import type { Request } from 'express';
import { recordFor } from '../activity/record.ts';
import { inTransaction } from '../db/pool.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Hub } from '../hub.ts';
import {
  type AccountRemoval,
  deleteRemoval,
  deleteUser,
  findUserByName,
  insertRemoval,
  lockUser,
  noteRemovalError,
} from './store.ts';

/** Delete the account `name` as `actorId`; resolves once its resources are gone or the removal is queued. */
export async function deleteAccount(
  hub: Hub,
  req: Request,
  name: string,
  actorId: number,
): Promise<void> {
  const removal = await inTransaction(hub.db, async (client) => {
    const user = await findUserByName(client, name);
    // The lock orders the deletion against starts of this user (they lock the same row).
    if (!user || !(await lockUser(client, user.id))) throw notFound('User');
    if (user.id === actorId) throw new HttpError(409, 'You cannot delete your own account here');
    await recordFor(client, req, {
      type: 'user.delete',
      actorId,
      payload: { name: user.name },
    });
    const removal = await insertRemoval(client, user);
    await deleteUser(client, user.id);
    return removal;
  });
  await finishRemoval(hub, removal);
}

/** Remove what is left of the account now; on failure keep the record for the loop to retry. */
async function finishRemoval(hub: Hub, removal: AccountRemoval): Promise<void> {
  try {
    await hub.accountRemovers.run(removal);
    await deleteRemoval(hub.db, removal.userId);
  } catch (err) {
    hub.log.warn({ name: removal.name, err: String(err) }, 'account removal still pending');
    await noteRemovalError(hub.db, removal.userId, String(err));
  }
}
