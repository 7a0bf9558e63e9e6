/**
 * Sharing a server (JupyterHub 5's shares and share codes, on RACM). The rules:
 * - whoever holds `grant` on the server's `Server` resource shares it (its owner always does;
 *   someone it is shared with only if given `grant` through RACM), to a user or a group, or by a
 *   code that expires;
 * - a share gives `access` (reach the server through the proxy, as yourself) and optionally
 *   `manage` (start and stop it);
 * - the owner (and a grant holder, and a platform admin) takes shares back; the one a share was
 *   given to may leave it;
 * - every change is announced on hub.accessChanges, so the proxy closes the WebSockets of
 *   those who lost access before the answer says it is done.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type ActivityPayload, recordActivity } from '../activity/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import { inTransaction } from '../db/pool.ts';
import { Forbidden, Invalid, NotFound } from '../errors.ts';
import { findGroupByName, roleIn } from '../groups/store.ts';
import type { Hub } from '../hub.ts';
import { actionsOf, GRANT } from '../racm/store.ts';
import {
  deleteShareCodes,
  ensureServerResource,
  exchangeShareCode,
  findServerResource,
  grantActions,
  insertShareCode,
  peekShareCode,
  revokeActions,
  revokeAllShares,
  type ShareCodeRow,
  type ShareRow,
  serverFullName,
  shareCodesOf,
  sharedWith,
  sharesOfServer,
  sweepExpiredShareCodes,
} from './store.ts';

/** Who acts: the caller's account, whether they are a platform admin, and their address. */
export interface Actor {
  user: UserRecord;
  admin: boolean;
  address: string | null;
}

/** A share's scopes, JupyterHub's names, filtered to the one server. */
const SCOPE_OF_ACTION = { access: 'access:servers', manage: 'servers' } as const;
const ACTION_OF_SCOPE: Record<string, 'access' | 'manage'> = {
  'access:servers': 'access',
  servers: 'manage',
};

export const DEFAULT_CODE_SECONDS = 24 * 3600;
export const MAX_CODE_SECONDS = 30 * 24 * 3600;

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');

/** JupyterHub's server model inside a share. */
function serverOf(row: { owner: string; ownerSafeName: string; server: string; running: boolean }) {
  return {
    name: row.server,
    full_name: serverFullName(row.owner, row.server),
    user: { name: row.owner },
    url:
      row.server === ''
        ? `/user/${row.ownerSafeName}/`
        : `/user/${row.ownerSafeName}/${row.server}/`,
    ready: row.running,
  };
}

export function shareModel(row: ShareRow) {
  const full = serverFullName(row.owner, row.server);
  return {
    server: serverOf(row),
    scopes: row.actions.map(
      (action) => `${SCOPE_OF_ACTION[action as 'access' | 'manage']}!server=${full}`,
    ),
    kind: row.user !== null ? ('user' as const) : ('group' as const),
    user: row.user !== null ? { name: row.user } : null,
    group: row.group !== null ? { name: row.group } : null,
    created_at: row.createdAt,
  };
}

function codeModel(owner: UserRecord, server: string, row: ShareCodeRow) {
  const full = serverFullName(owner.name, server);
  return {
    id: row.id,
    server: { name: server, full_name: full, user: { name: owner.name } },
    scopes: row.actions.map(
      (action) => `${SCOPE_OF_ACTION[action as 'access' | 'manage']}!server=${full}`,
    ),
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    exchange_count: row.exchangeCount,
    last_exchanged_at: row.lastExchangedAt,
  };
}

export class SharesService {
  constructor(
    private readonly hub: Pick<Hub, 'db' | 'accessChanges' | 'config'>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * The actions a share gives, from JupyterHub's scopes: `access:servers` (always given) and
   * `servers` (start and stop), unfiltered or filtered to this server (`!server=alice/`).
   */
  actionsOf(scopes: readonly string[] | undefined, full: string): ('access' | 'manage')[] {
    const actions = new Set<'access' | 'manage'>(['access']);
    for (const scope of scopes ?? []) {
      const [name, filter] = scope.split('!', 2) as [string, string | undefined];
      const action = ACTION_OF_SCOPE[name];
      if (!action || (filter !== undefined && filter !== `server=${full}`))
        throw new Invalid(
          'share_scope',
          `A share gives "access:servers" and optionally "servers" on ${full}, not "${scope}"`,
        );
      actions.add(action);
    }
    return [...actions].sort();
  }

  /**
   * The Server resource the actor shares: they must hold grant on it. Its owner always does
   * (the resource is made on their first share); anyone else sees 404 unless the server is
   * shared with them, then 403.
   */
  private async sharing(actor: Actor, owner: UserRecord, server: string) {
    if (owner.id === actor.user.id) return ensureServerResource(this.hub.db, owner, server);
    const resource = await findServerResource(this.hub.db, owner, server);
    const held = resource ? await actionsOf(this.hub.db, actor.user.id, resource.id) : [];
    if (!resource || held.length === 0)
      throw new NotFound(
        'server',
        `No server "${serverFullName(owner.name, server)}" shared with you`,
      );
    if (!held.includes(GRANT))
      throw new Forbidden('not_grantor', 'Only the owner (or someone they let) shares this server');
    return resource;
  }

  /** As `sharing`, for reading and taking back: platform admins may too. */
  private async overseeing(actor: Actor, owner: UserRecord, server: string) {
    // Reading or taking back makes nothing: a server never shared has no resource yet.
    if (owner.id === actor.user.id || actor.admin)
      return findServerResource(this.hub.db, owner, server);
    return this.sharing(actor, owner, server);
  }

  async list(actor: Actor, owner: UserRecord, server: string) {
    const resource = await this.overseeing(actor, owner, server);
    return resource ? (await sharesOfServer(this.hub.db, resource.id)).map(shareModel) : [];
  }

  private async granteeOf(actor: Actor, spec: { user?: string; group?: string }) {
    if (spec.user !== undefined) {
      const { rows } = await this.hub.db.query('SELECT id, name FROM users WHERE name = $1', [
        spec.user,
      ]);
      if (!rows[0]) throw new NotFound('user', `No user named "${spec.user}"`);
      return { grantee: { userId: Number(rows[0].id) }, label: { user: rows[0].name as string } };
    }
    const group = await findGroupByName(this.hub.db, spec.group!);
    // A private group is known only to its members (as RACM's own share route has it).
    const visible =
      group &&
      (group.kind !== 'group' ||
        actor.admin ||
        (await roleIn(this.hub.db, group.id, actor.user.id)));
    if (!group || !visible) throw new NotFound('group', `No group named "${spec.group}"`);
    if (group.kind === 'public' && !actor.admin)
      throw new Forbidden('public_group', 'Only platform admins may share with the Public group');
    return { grantee: { groupId: group.id }, label: { group: group.name } };
  }

  async share(
    actor: Actor,
    owner: UserRecord,
    server: string,
    spec: { user?: string; group?: string; scopes?: string[] },
  ) {
    const full = serverFullName(owner.name, server);
    const actions = this.actionsOf(spec.scopes, full);
    const { grantee, label } = await this.granteeOf(actor, spec);
    if ('userId' in grantee && grantee.userId === owner.id)
      throw new Invalid('own_server', 'A server is not shared with its owner');
    const resource = await this.sharing(actor, owner, server);
    await inTransaction(this.hub.db, async (client) => {
      await grantActions(client, {
        resourceId: resource.id,
        typeId: resource.typeId,
        actions,
        grantee,
        grantedBy: actor.user.id,
      });
      await recordActivity(client, {
        type: 'shares.share',
        userId: actor.user.id,
        address: actor.address,
        payload: { server: full, actions, ...label },
      });
    });
    await this.hub.accessChanges.changed();
    const rows = await sharesOfServer(this.hub.db, resource.id);
    const made = rows.find((row) =>
      'user' in label ? row.user === label.user : row.group === label.group,
    )!;
    return shareModel(made);
  }

  /** Take back some of a share's scopes, or (no scopes) the whole share. */
  async revoke(
    actor: Actor,
    owner: UserRecord,
    server: string,
    spec: { user?: string; group?: string; scopes?: string[] },
  ): Promise<void> {
    const full = serverFullName(owner.name, server);
    const resource = await this.overseeing(actor, owner, server);
    if (!resource) return;
    let actions: string[] | undefined;
    if (spec.scopes) {
      actions = this.actionsOf(spec.scopes, full).filter(
        // "servers" alone takes back start/stop and leaves access.
        (action) => action !== 'access' || spec.scopes!.some((s) => s.startsWith('access:servers')),
      );
    }
    const { grantee, label } = await this.granteeOf(actor, spec);
    await this.change(
      actor,
      'shares.revoke',
      { server: full, ...label, actions: actions ?? 'all' },
      (client) => revokeActions(client, resource.id, grantee, actions),
    );
  }

  async revokeAll(actor: Actor, owner: UserRecord, server: string): Promise<void> {
    const resource = await this.overseeing(actor, owner, server);
    if (!resource) return;
    await this.change(
      actor,
      'shares.revoke_all',
      { server: serverFullName(owner.name, server) },
      (client) => revokeAllShares(client, resource.id),
    );
  }

  /** The one a server is shared with leaves it (their own share; a group's stays the group's). */
  async leave(actor: Actor, owner: UserRecord, server: string): Promise<void> {
    const resource = await findServerResource(this.hub.db, owner, server);
    const removed =
      resource &&
      (await this.change(
        actor,
        'shares.leave',
        { server: serverFullName(owner.name, server) },
        (client) => revokeActions(client, resource.id, { userId: actor.user.id }, undefined),
      ));
    if (!removed)
      throw new NotFound(
        'share',
        `"${serverFullName(owner.name, server)}" is not shared with you by name (a group’s share is left by leaving the group)`,
      );
  }

  /** Run a change in a transaction with its activity record; announce it if it changed anything. */
  private async change(
    actor: Actor,
    type: string,
    payload: ActivityPayload,
    act: (client: import('../db/pool.ts').Queryable) => Promise<number>,
  ): Promise<number> {
    const count = await inTransaction(this.hub.db, async (client) => {
      const n = await act(client);
      if (n > 0)
        await recordActivity(client, {
          type,
          userId: actor.user.id,
          address: actor.address,
          payload,
        });
      return n;
    });
    if (count > 0) await this.hub.accessChanges.changed();
    return count;
  }

  async sharedWithMe(user: UserRecord) {
    return (await sharedWith(this.hub.db, user.id)).map(shareModel);
  }

  async sharedWithMeOne(user: UserRecord, owner: UserRecord, server: string) {
    const rows = (await sharedWith(this.hub.db, user.id)).filter(
      (row) => row.ownerId === owner.id && row.server === server,
    );
    if (rows.length === 0)
      throw new NotFound('share', `"${serverFullName(owner.name, server)}" is not shared with you`);
    // Direct share first: the one its holder may leave.
    return shareModel(rows.find((row) => row.user !== null) ?? rows[0]!);
  }

  // Share codes.

  async createCode(
    actor: Actor,
    owner: UserRecord,
    server: string,
    spec: { expires_in?: number; scopes?: string[] },
  ) {
    const full = serverFullName(owner.name, server);
    const actions = this.actionsOf(spec.scopes, full);
    const seconds = spec.expires_in ?? DEFAULT_CODE_SECONDS;
    const resource = await this.sharing(actor, owner, server);
    const code = `orrs_${randomBytes(24).toString('base64url')}`;
    const made = await inTransaction(this.hub.db, async (client) => {
      const row = await insertShareCode(client, {
        resourceId: resource.id,
        codeHash: hashCode(code),
        actions,
        createdBy: actor.user.id,
        expiresAt: new Date(this.clock().getTime() + seconds * 1000),
      });
      await recordActivity(client, {
        type: 'shares.code_create',
        userId: actor.user.id,
        address: actor.address,
        payload: { server: full, code_id: row.id, expires_at: row.expiresAt, actions },
      });
      return row;
    });
    return {
      ...codeModel(owner, server, made),
      code,
      accept_url: `${this.hub.config.publicUrl}/hub/accept-share?code=${encodeURIComponent(code)}`,
    };
  }

  async codes(actor: Actor, owner: UserRecord, server: string) {
    const resource = await this.overseeing(actor, owner, server);
    if (!resource) return [];
    return (await shareCodesOf(this.hub.db, resource.id, this.clock())).map((row) =>
      codeModel(owner, server, row),
    );
  }

  /** Revoke one code (by id or by the code itself) or all the server's codes. */
  async revokeCodes(
    actor: Actor,
    owner: UserRecord,
    server: string,
    which: { id?: number; code?: string },
  ): Promise<void> {
    const resource = await this.overseeing(actor, owner, server);
    const selector = {
      ...(which.id !== undefined ? { id: which.id } : {}),
      ...(which.code !== undefined ? { code_hash: hashCode(which.code) } : {}),
    };
    const removed =
      resource &&
      (await inTransaction(this.hub.db, async (client) => {
        const n = await deleteShareCodes(client, resource.id, selector);
        if (n > 0)
          await recordActivity(client, {
            type: 'shares.code_revoke',
            userId: actor.user.id,
            address: actor.address,
            payload: { server: serverFullName(owner.name, server), count: n, ...selector },
          });
        return n;
      }));
    if (!removed && (which.id !== undefined || which.code !== undefined))
      throw new NotFound('share_code', 'No such share code');
  }

  /** What a code would share, for the page that asks whether to accept it. */
  async peek(code: string) {
    const found = await peekShareCode(this.hub.db, hashCode(code), this.clock());
    if (!found)
      throw new NotFound(
        'share_code',
        'This share code does not exist, was revoked or has expired',
      );
    return found;
  }

  /**
   * Redeem a code: the server is shared with the redeemer as the code says. A code serves
   * anyone who holds it until it expires (as JupyterHub's do); redeeming it again changes
   * nothing but its count. Recorded in the redeemer's activity log and its maker's.
   */
  async redeem(actor: Actor, code: string) {
    const result = await inTransaction(this.hub.db, async (client) => {
      const found = await exchangeShareCode(client, hashCode(code), this.clock());
      if (!found)
        throw new NotFound(
          'share_code',
          'This share code does not exist, was revoked or has expired',
        );
      if (found.ownerId === actor.user.id)
        throw new Invalid('own_server', 'This code shares your own server');
      await grantActions(client, {
        resourceId: found.resourceId,
        typeId: found.typeId,
        actions: found.actions,
        grantee: { userId: actor.user.id },
        grantedBy: found.createdBy,
      });
      const payload = {
        server: serverFullName(found.owner, found.server),
        code_id: found.id,
        redeemed_by: actor.user.name,
      };
      await recordActivity(client, {
        type: 'shares.code_use',
        userId: actor.user.id,
        address: actor.address,
        payload,
      });
      if (found.createdBy !== null)
        await recordActivity(client, {
          type: 'shares.code_use',
          userId: found.createdBy,
          actorId: actor.user.id,
          address: actor.address,
          payload,
        });
      return found;
    });
    await this.hub.accessChanges.changed();
    const rows = await sharedWith(this.hub.db, actor.user.id);
    const row = rows.find((r) => r.resourceId === result.resourceId && r.user === actor.user.name)!;
    return shareModel(row);
  }

  /** Drop expired codes now and then (they are refused anyway; this only keeps the table small). */
  async sweep(): Promise<number> {
    return sweepExpiredShareCodes(this.hub.db, this.clock());
  }
}
