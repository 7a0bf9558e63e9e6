/** Passwords are stored as argon2id hashes only. */
import argon2 from 'argon2';
import type { HubConfig } from '../config.ts';
import { HttpError } from '../http/errors.ts';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

export function checkPasswordRules(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new HttpError(400, `A password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

export function hashPassword(password: string, cost: HubConfig['argon2']): Promise<string> {
  return argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: cost.memoryCost,
    timeCost: cost.timeCost,
  });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// Verifying against a fixed hash when the account does not exist keeps the
// response time the same, so timing does not reveal which usernames exist.
let decoy: Promise<string> | undefined;
export async function verifyDecoy(password: string, cost: HubConfig['argon2']): Promise<false> {
  decoy ??= hashPassword('orrery-decoy-password', cost);
  await verifyPassword(await decoy, password);
  return false;
}
