/**
 * Choosing a local username for someone who signs in through the provider for
 * the first time. Pure functions, so the odd cases are unit-tested.
 */
import { MAX_USERNAME_LENGTH, normaliseUsername, validateUsername } from '../accounts/names.ts';
import { HttpError } from '../http/errors.ts';

/** The claims that name a person, from the ID token or the userinfo endpoint. */
export interface ProfileClaims {
  sub: string;
  preferred_username?: unknown;
  email?: unknown;
}

// Room kept for a "-NNN" suffix when the name is taken.
const SUFFIX_ROOM = 6;

/** `raw` made to fit the username rules, or undefined when nothing usable is left. */
export function fitUsername(raw: string): string | undefined {
  const fitted = [
    ...normaliseUsername(raw)
      .replace(/[^\p{L}\p{N}\p{M}._-]+/gu, '-')
      .replace(/^[^\p{L}\p{N}]+/u, ''),
  ]
    .slice(0, MAX_USERNAME_LENGTH - SUFFIX_ROOM)
    .join('');
  return fitted.length > 0 ? fitted : undefined;
}

/** The name to start from: `preferred_username`, else the email's local part, else `sub`. */
export function baseUsername(claims: ProfileClaims): string {
  const email = typeof claims.email === 'string' ? claims.email : '';
  const sources = [
    typeof claims.preferred_username === 'string' ? claims.preferred_username : '',
    email.includes('@') ? email.slice(0, email.lastIndexOf('@')) : '',
    claims.sub,
  ];
  for (const source of sources) {
    const fitted = source ? fitUsername(source) : undefined;
    if (fitted) return fitted;
  }
  return 'user';
}

/**
 * Names to try in order: the base, then `base-2`, `base-3`, ... Names the rules
 * refuse (a reserved word such as `admin`) are skipped, so `admin` yields `admin-2`.
 */
export function* candidateUsernames(base: string, tries = 100): Generator<string> {
  for (let n = 1; n <= tries; n += 1) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    try {
      yield validateUsername(candidate);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
    }
  }
}
