/**
 * A user as JupyterHub's REST API shows it (its "user model"): kind, name, admin, roles,
 * groups, the default server's URL and pending action, created, last_activity and `servers`
 * keyed by name ("" the default); plus Orrery's own fields (safe_name, email, approved,
 * last_login). As in JupyterHub, which fields a caller sees follows the scopes they hold.
 */
import { Type } from '@sinclair/typebox';
import type { UserRecord } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';
import { ServerModel, serversByName } from '../compute/serverModel.ts';
import type { ServerRecord } from '../compute/store.ts';
import type { Queryable } from '../db/pool.ts';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';

const optional = Type.Optional;

export const UserModel = Strict({
  kind: Type.Literal('user'),
  name: Type.String(),
  admin: optional(Type.Boolean()),
  roles: optional(Type.Array(Type.String(), { description: '"user", and "admin" for admins' })),
  groups: optional(Type.Array(Type.String(), { description: 'Names of the groups joined' })),
  server: optional(Nullable(Type.String({ description: 'The default server’s URL, if ready' }))),
  pending: optional(Nullable(Type.Union([Type.Literal('spawn'), Type.Literal('stop')]))),
  created: optional(Timestamp),
  last_activity: optional(Nullable(Timestamp)),
  servers: optional(Type.Record(Type.String(), ServerModel)),
  safe_name: optional(Type.String()),
  email: optional(Nullable(Type.String())),
  approved: optional(Type.Boolean()),
  last_login: optional(Nullable(Timestamp)),
});

/** What the model is built from: the account, its servers and its groups' names. */
export interface UserFacts {
  user: UserRecord;
  servers: ServerRecord[];
  groups: string[];
  /** The latest sign of the user's batch jobs: a running job's heartbeat, else the last end. */
  jobActivityAt?: Date | null;
}

/** Which parts of the model a caller sees (JupyterHub filters the model by scope too). */
export interface ModelView {
  scopes: ReadonlySet<Scope>;
  idleCullSeconds: number;
}

export function userModel({ user, servers, groups, jobActivityAt }: UserFacts, view: ModelView) {
  const has = (scope: Scope) => view.scopes.has(scope);
  const byName = serversByName(servers, {
    idleCullSeconds: view.idleCullSeconds,
    withState: has('admin:servers'),
  });
  // A running job counts as activity (docs/jobs.md), as a busy server does.
  const activity = [
    user.lastLoginAt,
    jobActivityAt ?? null,
    ...servers.map((s) => s.lastActivityAt),
  ]
    .filter((at): at is Date => at !== null)
    .map((at) => new Date(at).getTime());
  const defaultServer = byName[''];
  return {
    kind: 'user' as const,
    name: user.name,
    ...(has('read:users')
      ? {
          admin: user.admin,
          roles: user.admin ? ['admin', 'user'] : ['user'],
          groups,
          created: user.createdAt,
          safe_name: user.safeName,
          email: user.email,
          approved: user.approved,
          last_login: user.lastLoginAt,
        }
      : {}),
    ...(has('read:users:activity')
      ? { last_activity: activity.length ? new Date(Math.max(...activity)) : null }
      : {}),
    ...(has('read:servers')
      ? {
          server: defaultServer?.ready ? defaultServer.url : null,
          pending: defaultServer?.pending ?? null,
          servers: byName,
        }
      : {}),
  };
}

/** The facts of the users `where` picks: one row per server, or one per user without any. */
const factsSql = (where: string) =>
  // JupyterHub's groups are plain names: the groups joined directly (not the Public group).
  `SELECT u.id AS "factsOf", f.groups, f.at AS "jobActivityAt",
     s.id, s.user_id AS "userId", u.name AS owner, u.safe_name AS "ownerSafeName", s.name,
     s.image, s.domain, s.status, s.state, s.url, s.started_at AS "startedAt",
     s.ready_at AS "readyAt", s.last_activity_at AS "lastActivityAt", s.user_options AS "userOptions"
   FROM users u
   CROSS JOIN LATERAL (SELECT
     ARRAY(SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
           WHERE m.user_id = u.id AND g.kind IN ('group', 'course') ORDER BY lower(g.name)) AS groups,
     (SELECT max(CASE WHEN j.status = 'running' THEN j.heartbeat_at ELSE j.finished_at END)
        FROM jobs j WHERE j.user_id = u.id AND j.started_at IS NOT NULL) AS at) f
   LEFT JOIN servers s ON s.user_id = u.id
   WHERE ${where} ORDER BY s.name`;

// One user (every `GET /user`) has a statement of its own: PostgreSQL keeps one generic plan
// for `u.id = $1`, while `= ANY($1)` is planned anew at each execution (0.3 ms more here).
const FACTS_OF_ONE = { name: 'user-facts-one', text: factsSql('u.id = $1') };
const FACTS_OF_MANY = { name: 'user-facts', text: factsSql('u.id = ANY($1::bigint[])') };

/** A row of `factsSql`: a server's columns (all null for a user without one) and the user's. */
interface FactsRow extends Omit<ServerRecord, 'id'> {
  id: number | null;
  factsOf: number;
  groups: string[];
  jobActivityAt: Date | null;
}

/**
 * The facts for several users at once, in one named statement whatever their number: each
 * user's servers, group names and latest job activity.
 */
export async function factsOf(db: Queryable, users: UserRecord[]): Promise<UserFacts[]> {
  const ids = users.map((user) => user.id);
  const { rows } = await db.query<FactsRow, unknown[]>(
    ids.length === 1 ? { ...FACTS_OF_ONE, values: ids } : { ...FACTS_OF_MANY, values: [ids] },
  );
  type Found = { groups: string[]; at: Date | null; servers: ServerRecord[] };
  const found = new Map<string, Found>();
  for (const { factsOf: userId, groups, jobActivityAt, ...server } of rows) {
    const facts: Found = found.get(String(userId)) ?? { groups, at: jobActivityAt, servers: [] };
    if (server.id !== null) facts.servers.push(server as ServerRecord);
    found.set(String(userId), facts);
  }
  return users.map((user) => {
    const facts = found.get(String(user.id));
    return {
      user,
      jobActivityAt: facts?.at ?? null,
      servers: facts?.servers ?? [],
      groups: facts?.groups ?? [],
    };
  });
}
