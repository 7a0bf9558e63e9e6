/**
 * The quota of a user's MyDB, enforced by PostgreSQL rather than by reading the SQL: after every
 * query (and in the periodic round) the schema is measured, and while it is over its quota
 * grants.ts takes the role's CREATE on the schema and INSERT and UPDATE on its tables. SELECT,
 * DELETE, TRUNCATE and DROP stay, so the user can get back under; the next measurement below
 * the quota gives them back. This file turns the resulting refusal into an answer that says
 * why, and changes a user's quota.
 */
import type { Queryable } from '../db/pool.ts';
import { type DomainError, Forbidden } from '../errors.ts';
import type { SpaceState } from './grants.ts';
import { QUOTA_MESSAGE_PREFIX, QUOTA_SQLSTATE } from './quotaGuard.ts';

const INSUFFICIENT_PRIVILEGE = '42501';

export function isOverQuota(space: Pick<SpaceState, 'usedBytes' | 'quotaBytes'>): boolean {
  return space.usedBytes > space.quotaBytes;
}

export function quotaExceeded(space: Pick<SpaceState, 'usedBytes' | 'quotaBytes'>): Forbidden {
  return new Forbidden(
    'quota_exceeded',
    `Your MyDB uses ${size(space.usedBytes)} of its ${size(space.quotaBytes)} quota, so writing to it is refused; ` +
      'drop or truncate tables to get back under it (MyScratch has no quota), or ask an admin for more',
    { details: { used_bytes: space.usedBytes, quota_bytes: space.quotaBytes } },
  );
}

/**
 * The quota refusal `err` stands for, if any: PostgreSQL's permission denied, on the user's own
 * MyDB schema or one of its tables, while the space is over quota. Anything else is passed on.
 */
export async function asQuotaRefusal(
  err: unknown,
  space: SpaceState,
  science: Queryable,
): Promise<DomainError | undefined> {
  const message = err instanceof Error ? err.message : '';
  const code = (err as { code?: string }).code;
  const sqlstate = code ?? /\[SQLSTATE ([0-9A-Z]{5})\]/.exec(message)?.[1];
  // The statement's own check (quotaGuard.ts) refused it and rolled it back.
  if (sqlstate === QUOTA_SQLSTATE && message.includes(QUOTA_MESSAGE_PREFIX))
    return statementOverQuota(message, space);
  if (!isOverQuota(space)) return undefined;
  if (sqlstate !== INSUFFICIENT_PRIVILEGE) return undefined;
  const denied = /permission denied for (schema|table|relation) ("?)([^"\s]+)\2/.exec(message);
  if (!denied) return undefined;
  if (denied[1] === 'schema') return denied[3] === space.schema ? quotaExceeded(space) : undefined;
  const { rowCount } = await science.query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [space.schema, denied[3]],
  );
  return rowCount ? quotaExceeded(space) : undefined;
}

/** A statement refused by its own quota check (quotaGuard.ts): nothing of it was kept. */
export function statementOverQuota(
  message: string,
  space: Pick<SpaceState, 'usedBytes' | 'quotaBytes'>,
): Forbidden {
  // The figures the check itself used.
  const figures = /using (\d+) bytes of its quota of (\d+) bytes/.exec(message);
  const would = figures ? Number(figures[1]) : undefined;
  const quota = figures ? Number(figures[2]) : space.quotaBytes;
  return new Forbidden(
    'quota_exceeded',
    `This statement would leave your MyDB using ${would === undefined ? 'more than' : size(would)} of its ${size(quota)} quota, so it was refused and nothing it wrote was kept; ` +
      'drop or truncate tables (MyScratch has no quota), or ask an admin for more',
    {
      details: {
        used_bytes: space.usedBytes,
        quota_bytes: quota,
        ...(would !== undefined ? { would_use_bytes: would } : {}),
      },
    },
  );
}

export async function setQuota(db: Queryable, userId: number, bytes: number): Promise<void> {
  await db.query('UPDATE mydb_spaces SET quota_bytes = $2 WHERE user_id = $1', [userId, bytes]);
}

function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
