/**
 * "Open as admin": a platform admin reaches another user's running server through the proxy,
 * explicitly and on the record. The admin asks for it (the admin servers page); the access is
 * written to the activity log of the server's owner (who opened whose server, until when) and
 * lasts until it expires or the server stops. The proxy admits the admin as themself, with the
 * server's own secret upstream as for anyone it lets in: the owner's credentials (session,
 * tokens) are never handed over, and the hub's session cookie is never forwarded.
 */
import type { Request } from 'express';
import { recordFor } from '../activity/record.ts';
import type { UserRecord } from '../auth/principal.ts';
import { serverBaseUrl } from '../compute/serverModel.ts';
import type { ServerStatus } from '../compute/store.ts';
import { inTransaction, type Queryable } from '../db/pool.ts';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors.ts';
import type { Hub } from '../hub.ts';

/** How long one "open as admin" lasts; opening again records again and starts anew. */
export const ADMIN_ACCESS_SECONDS = 3600;

/**
 * Let `admin` into the server `serverName` ("" the default) of `owner`, and record it. Refused
 * to non-admins, for one's own server (no need) and for a server that is not running.
 */
export async function openAsAdmin(
  hub: Hub,
  req: Request,
  admin: UserRecord,
  owner: string,
  serverName: string,
): Promise<{ url: string; expiresAt: Date }> {
  if (!admin.admin) throw new Forbidden('not_admin', 'Only platform admins open others’ servers');
  return inTransaction(hub.db, async (client) => {
    // Locked, so the server cannot stop (and its row go) between the check and the grant.
    const { rows } = await client.query(
      `SELECT s.id, s.user_id AS "userId", u.safe_name AS "safeName", s.status
         FROM servers s JOIN users u ON u.id = s.user_id
        WHERE u.name = $1 AND s.name = $2 FOR SHARE OF s`,
      [owner, serverName],
    );
    const server = rows[0] as
      | { id: number; userId: number; safeName: string; status: ServerStatus }
      | undefined;
    if (!server) throw new NotFound('server', `${owner} has no server "${serverName}" running`);
    if (String(server.userId) === String(admin.id))
      throw new Invalid('own_server', 'This is your own server: open it from your home page');
    if (server.status !== 'running')
      throw new Conflict('server_not_running', `The server is ${server.status}, not running`);
    const { rows: granted } = await client.query(
      `INSERT INTO server_admin_access (server_id, admin_id, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (server_id, admin_id)
         DO UPDATE SET granted_at = now(), expires_at = EXCLUDED.expires_at
       RETURNING expires_at AS "expiresAt"`,
      [server.id, admin.id, ADMIN_ACCESS_SECONDS],
    );
    const expiresAt: Date = granted[0].expiresAt;
    await recordFor(client, req, {
      type: 'server.admin_access',
      userId: server.userId,
      actorId: admin.id,
      payload: { server: serverName, owner, admin: admin.name, expires_at: expiresAt },
    });
    return { url: serverBaseUrl(server.safeName, serverName), expiresAt };
  });
}

/**
 * May this user reach the server now as an admin? Asked by the proxy on every request (never
 * cached): an access expired, a server stopped or an admin unmade ends it at the next request.
 */
export async function adminMayAccess(
  db: Queryable,
  userId: number,
  serverId: number,
): Promise<boolean> {
  const { rows } = await db.query({
    name: 'admin-may-access',
    text: `SELECT EXISTS (
       SELECT 1 FROM server_admin_access a JOIN users u ON u.id = a.admin_id
        WHERE a.server_id = $1 AND a.admin_id = $2 AND a.expires_at > now()
          AND u.admin AND u.approved) AS allowed`,
    values: [serverId, userId],
  });
  return rows[0].allowed;
}
