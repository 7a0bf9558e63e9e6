/** SQL for the external_identities table: which local account an identity at a provider signs in as. */
import type { Queryable } from '../db/pool.ts';

/** The local user id linked to `subject` at `provider`, if any. */
export async function linkedUserId(
  db: Queryable,
  provider: string,
  subject: string,
): Promise<number | undefined> {
  const { rows } = await db.query(
    'SELECT user_id FROM external_identities WHERE provider = $1 AND subject = $2',
    [provider, subject],
  );
  return rows[0]?.user_id;
}

/**
 * Link `subject` at `provider` to a user. A concurrent first sign-in that got
 * there first makes this fail with a unique violation (23505), which rolls back
 * the caller's transaction so it can look again.
 */
export async function linkIdentity(
  db: Queryable,
  link: { provider: string; subject: string; userId: number; email: string | null },
): Promise<void> {
  await db.query(
    'INSERT INTO external_identities (provider, subject, user_id, email) VALUES ($1, $2, $3, $4)',
    [link.provider, link.subject, link.userId, link.email],
  );
}
