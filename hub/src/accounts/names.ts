/**
 * Usernames. A name is normalised (NFKC, lower case) so that look-alikes such as
 * `A-B` and `a-b` are one account, and mapped to a `safeName` of [a-z0-9-] that
 * names the user's containers, volumes, routes and database roles.
 *
 * The mapping is injective by construction: a name that is already plain
 * [a-z0-9] is its own safe name (it has no '-'); any other name becomes
 * `<ascii slug>-<8 hex of sha256(name)>`, which always contains a '-'. So `a-b`
 * and `a_b` get different safe names, and neither can equal a plain name.
 */
import { createHash } from 'node:crypto';
import { HttpError } from '../http/errors.ts';

export const MAX_USERNAME_LENGTH = 64;
// Letters and digits of any script, plus '-', '_' and '.', starting with a letter or digit.
const ALLOWED = /^[\p{L}\p{N}][\p{L}\p{N}\p{M}._-]*$/u;
const RESERVED = new Set([
  'admin',
  'root',
  'hub',
  'api',
  'public',
  'user',
  'users',
  'system',
  'postgres',
]);

export function normaliseUsername(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

/** Returns the normalised name or throws a 400 that says what is wrong with it. */
export function validateUsername(raw: string): string {
  const name = normaliseUsername(raw);
  if (name.length === 0) throw new HttpError(400, 'A username is required');
  if ([...name].length > MAX_USERNAME_LENGTH) {
    throw new HttpError(400, `A username has at most ${MAX_USERNAME_LENGTH} characters`);
  }
  if (!ALLOWED.test(name)) {
    throw new HttpError(
      400,
      'A username may contain only letters, digits, "-", "_" and ".", and must start with a letter or digit',
    );
  }
  if (RESERVED.has(name)) throw new HttpError(400, `The username "${name}" is reserved`);
  return name;
}

export function safeNameFor(name: string): string {
  if (/^[a-z0-9]+$/.test(name) && name.length <= 40) return name;
  const slug = name
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return slug ? `${slug}-${hash}` : `u-${hash}`;
}

/** A PostgreSQL role name for the user: the safe name with '-' as '_' (also injective: safe names have no '_'). */
export function databaseRoleFor(safeName: string): string {
  return `orrery_u_${safeName.replace(/-/g, '_')}`;
}
