/** The activity log: append events; search them. */
import type { Queryable } from '../db/pool.ts';

/**
 * An event's record. Its keys are snake_case like every field of the API that shows it
 * (docs/api.md, "Naming"): the type refuses an object literal with a capital in a key.
 */
export type ActivityPayload = { readonly [key: Lowercase<string>]: unknown };

export interface ActivityEvent {
  type: string;
  /** Whose history this belongs to. */
  userId?: number | null;
  /** Who did it, when not the user themself (an admin, a group admin). */
  actorId?: number | null;
  address?: string | null;
  payload?: ActivityPayload;
}

export async function recordActivity(db: Queryable, event: ActivityEvent): Promise<void> {
  await db.query(
    'INSERT INTO activity (user_id, actor_id, type, address, payload) VALUES ($1, $2, $3, $4, $5)',
    [
      event.userId ?? null,
      event.actorId ?? event.userId ?? null,
      event.type,
      event.address ?? null,
      JSON.stringify(event.payload ?? {}),
    ],
  );
}

/**
 * Append several events in one statement, each at the time it happened (`at`). An event whose
 * user (or actor) was deleted since is kept without it, as the foreign key's ON DELETE SET NULL
 * would have left it.
 */
export async function recordActivities(
  db: Queryable,
  events: readonly (ActivityEvent & { at: Date })[],
): Promise<void> {
  if (!events.length) return;
  await db.query(
    `INSERT INTO activity (at, user_id, actor_id, type, address, payload)
     SELECT e.at, u.id, a.id, e.type, e.address, e.payload
       FROM unnest($1::timestamptz[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[])
            WITH ORDINALITY AS e(at, user_id, actor_id, type, address, payload, n)
       LEFT JOIN users u ON u.id = e.user_id
       LEFT JOIN users a ON a.id = e.actor_id
      ORDER BY e.n`,
    [
      events.map((event) => event.at),
      events.map((event) => event.userId ?? null),
      events.map((event) => event.actorId ?? event.userId ?? null),
      events.map((event) => event.type),
      events.map((event) => event.address ?? null),
      events.map((event) => JSON.stringify(event.payload ?? {})),
    ],
  );
}

export interface ActivityQuery {
  /** Only this user's events; undefined means everyone's (admins only). */
  userId?: number;
  type?: string;
  since?: string;
  until?: string;
  /** Text to look for in the event's payload. */
  text?: string;
  limit: number;
  /** Return events with id below this (paging backwards in time). */
  before?: number;
}

export async function searchActivity(db: Queryable, query: ActivityQuery) {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    args.push(value);
    where.push(clause.replace('?', `$${args.length}`));
  };
  if (query.userId !== undefined) add('a.user_id = ?', query.userId);
  if (query.type)
    add(
      query.type.endsWith('.*') ? 'a.type LIKE ?' : 'a.type = ?',
      query.type.replace(/\.\*$/, '.%'),
    );
  if (query.since) add('a.at >= ?', query.since);
  if (query.until) add('a.at < ?', query.until);
  if (query.text)
    add(`a.payload::text ILIKE ?`, `%${query.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (query.before) add('a.id < ?', query.before);
  args.push(query.limit);
  const { rows } = await db.query(
    `SELECT a.id, a.at, a.type, u.name AS "user", actor.name AS "actor", a.address, a.payload
     FROM activity a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN users actor ON actor.id = a.actor_id
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY a.id DESC LIMIT $${args.length}`,
    args,
  );
  return rows;
}
