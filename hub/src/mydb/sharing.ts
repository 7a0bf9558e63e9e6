/**
 * Sharing MyDB read-only, through RACM. A share is a RACM `read` privilege on a resource the
 * owner holds every action of: `MyDB` named `<owner>` (the whole space, tables made later
 * included) or `MyDBTable` named `<owner>/<table>` (one table, by name: dropped and made again,
 * it is shared again). The grantee is a user, a group the owner belongs to (or a science
 * domain), or the Public group ("public MyDB"; an owner may publish their own MyDB, unlike
 * other resources, which only platform admins give to the Public group). grants.ts turns the
 * privileges into PostgreSQL's; the caller syncs after each change.
 */
import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import { recordActivity } from '../activity/store.ts';
import type { Actor } from '../auth/actor.ts';
import { type Db, inTransaction, type Queryable } from '../db/pool.ts';
import { Conflict, Invalid, NotFound } from '../errors.ts';
import { findGroup, publicGroupId, roleIn } from '../groups/store.ts';
import { grant, registerResource, resourceType } from '../racm/store.ts';
import { MYDB_TABLE_TYPE, MYDB_TYPE } from './grants.ts';
import type { ScienceDatabase } from './science.ts';

export interface ShareRequest {
  /** One table of the MyDB; the whole MyDB when absent. */
  table?: string;
  user?: string;
  group?: number;
  public?: boolean;
}

export interface ShareView {
  id: number;
  table: string | null;
  user: string | null;
  group: { id: number; name: string } | null;
  public: boolean;
  granted_at: string;
}

const READ = 'read';

/** Resource name of a shared table: usernames have no '/', so the first one splits. */
export function tableResourceName(owner: string, table: string): string {
  return `${owner}/${table}`;
}

export class MydbSharing {
  constructor(
    private readonly db: Db,
    private readonly science: ScienceDatabase,
  ) {}

  /** Every share of the owner's MyDB and tables, oldest first. */
  async list(ownerId: number): Promise<ShareView[]> {
    return listShares(this.db, ownerId);
  }

  /** Share the MyDB (or one table) of `owner` read-only; the existing share if it was already. */
  async add(
    actor: Actor,
    owner: { id: number; name: string; schema: string },
    request: ShareRequest,
  ): Promise<ShareView> {
    if (request.table !== undefined && !(await this.tableExists(owner.schema, request.table)))
      throw new NotFound('table', `No table "${request.table}" in your MyDB`);
    const grantee = await this.grantee(owner, request);
    const id = await inTransaction(this.db, async (client) => {
      // Find-or-register the resource: one at a time per owner.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `orrery.mydb.share.${owner.id}`,
      ]);
      const typeName = request.table === undefined ? MYDB_TYPE : MYDB_TABLE_TYPE;
      const name =
        request.table === undefined ? owner.name : tableResourceName(owner.name, request.table);
      const type = await resourceType(client, typeName);
      if (!type) throw new Error(`the resource type ${typeName} is not registered`);
      const { rows } = await client.query(
        'SELECT id FROM racm_resources WHERE type_id = $1 AND name = $2',
        [type.id, name],
      );
      const resourceId =
        rows[0]?.id ??
        (await registerResource(client, {
          typeId: type.id,
          name,
          description:
            request.table === undefined
              ? `${owner.name}'s MyDB`
              : `${request.table} in ${owner.name}'s MyDB`,
          ownerId: owner.id,
        }));
      const privilegeId = await grant(client, {
        resourceId,
        typeId: type.id,
        action: READ,
        grantedBy: actor.userId,
        ...grantee.id,
      });
      await recordActivity(client, {
        type: 'mydb.share',
        userId: owner.id,
        actorId: actor.userId,
        address: actor.address,
        payload: { table: request.table ?? null, to: grantee.label, privilege_id: privilegeId },
      });
      return privilegeId;
    });
    const share = (await listShares(this.db, owner.id)).find((s) => s.id === id);
    if (!share) throw new Conflict('share_gone', 'The share was taken back meanwhile');
    return share;
  }

  /** Take a share back; NotFound unless it is one of the owner's. */
  async remove(actor: Actor, ownerId: number, shareId: number): Promise<void> {
    await inTransaction(this.db, async (client) => {
      const { rows } = await client.query(
        `DELETE FROM racm_privileges p USING racm_resources r, racm_resource_types t
          WHERE p.id = $2 AND r.id = p.resource_id AND t.id = r.type_id AND r.owner_id = $1
            AND t.name = ANY($3) AND (p.user_id IS NULL OR p.user_id <> r.owner_id)
          RETURNING p.id, r.name`,
        [ownerId, shareId, [MYDB_TYPE, MYDB_TABLE_TYPE]],
      );
      if (!rows[0]) throw new NotFound('share', 'No such share of your MyDB');
      await recordActivity(client, {
        type: 'mydb.unshare',
        userId: ownerId,
        actorId: actor.userId,
        address: actor.address,
        payload: { privilege_id: shareId, resource: rows[0].name },
      });
    });
  }

  /** Remove every share resource of a deleted account (its privileges go with them). */
  async removeOwner(ownerId: number): Promise<void> {
    await this.db.query(
      `DELETE FROM racm_resources r USING racm_resource_types t
        WHERE t.id = r.type_id AND r.owner_id = $1 AND t.name = ANY($2)`,
      [ownerId, [MYDB_TYPE, MYDB_TABLE_TYPE]],
    );
  }

  private async grantee(
    owner: { id: number; name: string },
    request: ShareRequest,
  ): Promise<{ id: { userId: number } | { groupId: number }; label: string }> {
    if (request.user !== undefined) {
      const user = await userNamed(this.db, normaliseUsername(request.user));
      if (user.id === owner.id) throw new Invalid('share_self', 'Your MyDB is yours already');
      return { id: { userId: user.id }, label: user.name };
    }
    if (request.public) return { id: { groupId: await publicGroupId(this.db) }, label: 'Public' };
    if (request.group === undefined)
      throw new Invalid('share_grantee', 'Name a user, a group, or public: true');
    const group = await findGroup(this.db, request.group);
    // A group is named only by its members (a science domain is open to all), as in RACM.
    const visible =
      group && (group.kind !== 'group' || (await roleIn(this.db, group.id, owner.id)) !== null);
    if (!group || !visible) throw new NotFound('group', 'Group not found');
    return { id: { groupId: group.id }, label: group.name };
  }

  private async tableExists(schema: string, table: string): Promise<boolean> {
    const { rowCount } = await this.science.pool.query(
      `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm')`,
      [schema, table],
    );
    return rowCount === 1;
  }
}

async function listShares(db: Queryable, ownerId: number): Promise<ShareView[]> {
  const { rows } = await db.query(
    `SELECT p.id, t.name AS type, r.name AS resource, u.name AS "user",
            g.id AS group_id, g.name AS group_name, g.kind AS group_kind, p.granted_at
       FROM racm_resources r
       JOIN racm_resource_types t ON t.id = r.type_id
       JOIN racm_privileges p ON p.resource_id = r.id
       JOIN racm_actions a ON a.id = p.action_id
       LEFT JOIN users u ON u.id = p.user_id
       LEFT JOIN groups g ON g.id = p.group_id
      WHERE r.owner_id = $1 AND t.name = ANY($2) AND a.name = $3
        AND (p.user_id IS NULL OR p.user_id <> r.owner_id)
      ORDER BY p.id`,
    [ownerId, [MYDB_TYPE, MYDB_TABLE_TYPE], READ],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    table: row.type === MYDB_TABLE_TYPE ? row.resource.slice(row.resource.indexOf('/') + 1) : null,
    user: row.user,
    group:
      row.group_id === null || row.group_kind === 'public'
        ? null
        : { id: Number(row.group_id), name: row.group_name },
    public: row.group_kind === 'public',
    granted_at: new Date(row.granted_at).toISOString(),
  }));
}
