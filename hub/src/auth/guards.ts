/**
 * Guards a route declares next to its scope. Each refuses with 404 when the
 * caller may not even know the thing exists, and 403 when they may see it but
 * not do this to it.
 */

import { findUserByName } from '../accounts/store.ts';
import { atLeast, type Role } from '../groups/roles.ts';
import { findGroup, roleIn } from '../groups/store.ts';
import { HttpError } from '../http/errors.ts';
import type { Guard } from '../http/route.ts';
import { actionsOf, findResource } from '../racm/store.ts';
import { mayOnServer } from '../shares/store.ts';

const isPlatformAdmin = (ctx: Parameters<Guard['check']>[0]) => ctx.caller.scopes.has('admin');

/**
 * The `:name` in the path is the caller, or the caller is an admin account: then the route's
 * scope covers every user, as JupyterHub's unfiltered scopes do for its admins (an admin's
 * token with `read:servers` reads anyone's servers). A server's own token never reaches
 * beyond its owner, whoever that is.
 */
export const selfOrAdmin = (param = 'name'): Guard => ({
  describe: 'only for yourself, or an admin account (the scope then covers every user)',
  async check(ctx) {
    if (ctx.params[param] === ctx.caller.user.name) return;
    if (ctx.caller.user.admin && ctx.caller.serverName === undefined) return;
    throw new HttpError(403, 'You can only do this for your own account');
  },
});

/** The `:name` in the path is the caller (admins included: e.g. minting a token for someone else is not allowed). */
export const selfOnly = (param = 'name'): Guard => ({
  describe: 'only for yourself',
  async check(ctx) {
    if (ctx.params[param] === ctx.caller.user.name) return;
    throw new HttpError(403, 'You can only do this for your own account');
  },
});

/** The caller holds at least `minimum` in the group `:id` (platform admins pass). */
export const groupRole = (minimum: Role, param = 'id'): Guard => ({
  describe: `group role ${minimum} or higher (or a platform admin)`,
  async check(ctx) {
    const groupId = ctx.params[param] as number;
    const group = await findGroup(ctx.hub.db, groupId);
    if (!group) throw new HttpError(404, 'Group not found');
    if (isPlatformAdmin(ctx)) return;
    const role = await roleIn(ctx.hub.db, groupId, ctx.caller.user.id);
    if (role === null) throw new HttpError(404, 'Group not found');
    if (!atLeast(role, minimum))
      throw new HttpError(403, `This needs the ${minimum} role in the group`, {
        rule: 'group_role',
      });
  },
});

/** The caller may do `action` on the RACM resource `:id` (any action, when `action` is undefined). */
export const racmAction = (action: string | undefined, param = 'id'): Guard => ({
  describe: action ? `RACM action "${action}" on the resource` : 'any RACM action on the resource',
  async check(ctx) {
    const resourceId = ctx.params[param] as number;
    const resource = await findResource(ctx.hub.db, resourceId);
    const held = resource ? await actionsOf(ctx.hub.db, ctx.caller.user.id, resourceId) : [];
    const allowed = held.length > 0 && (!action || held.includes(action));
    ctx.hub.events.emit('racmCheck', { outcome: allowed ? 'allowed' : 'denied', via: 'guard' });
    if (!resource || held.length === 0) throw new HttpError(404, 'Resource not found');
    if (action && !held.includes(action))
      throw new HttpError(403, `This needs the "${action}" privilege on the resource`);
  },
});

/**
 * The server `:name`/`:server` ("" for the default) is the caller's, the caller is an admin
 * account, or the owner shared it with the caller with `action` (RACM on its Server resource:
 * `manage` starts and stops it). Someone it is not shared with is refused as before.
 */
export const selfAdminOrShared = (action: 'manage'): Guard => ({
  describe: `only for yourself, an admin account, or those the server is shared with with "${action}"`,
  async check(ctx) {
    if (ctx.params.name === ctx.caller.user.name) return;
    if (ctx.caller.user.admin && ctx.caller.serverName === undefined) return;
    const owner = await findUserByName(ctx.hub.db, ctx.params.name as string);
    const shared =
      owner !== undefined &&
      (await mayOnServer(
        ctx.hub.db,
        ctx.caller.user.id,
        owner.id,
        (ctx.params.server as string | undefined) ?? '',
        action,
      ));
    ctx.hub.events.emit('racmCheck', { outcome: shared ? 'allowed' : 'denied', via: 'guard' });
    if (!shared) throw new HttpError(403, 'You can only do this for your own account');
  },
});
