/** Random secrets and their at-rest form. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe. */
export const newSecret = () => randomBytes(32).toString('base64url');

/** Tokens and session ids are high-entropy, so a plain sha256 is a sufficient at-rest hash. */
export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
