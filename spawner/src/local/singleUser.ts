/**
 * Single-user development mode (the hub is not root, so every server would run as the hub's
 * own OS user and could read everything the hub can): the backend belongs to one Orrery user,
 * the configured one or else the first whose server starts, recorded in the backend's state
 * directory so a restarted hub keeps the same owner. Everyone else is refused.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpawnRefusedError } from '../refusal.ts';
import type { SpawnUser } from '../types.ts';

const OWNER_FILE = 'single-user.json';

async function readOwner(stateDir: string): Promise<string | null> {
  try {
    const parsed = JSON.parse(await readFile(path.join(stateDir, OWNER_FILE), 'utf8'));
    return typeof parsed?.owner === 'string' ? parsed.owner : null;
  } catch {
    return null;
  }
}

/** The owner: `configured`, else the recorded one, else `candidate`, recorded now (first wins). */
export async function claimOwner(
  stateDir: string,
  configured: string | null,
  candidate: string,
): Promise<string> {
  if (configured) return configured;
  const recorded = await readOwner(stateDir);
  if (recorded) return recorded;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    // `wx`: of two first starts at once, exactly one creates the file.
    await writeFile(path.join(stateDir, OWNER_FILE), JSON.stringify({ owner: candidate }), {
      flag: 'wx',
      mode: 0o600,
    });
    return candidate;
  } catch {
    const winner = await readOwner(stateDir);
    if (!winner) throw new Error(`cannot record the owner of the local backend in ${stateDir}`);
    return winner;
  }
}

/** Admit `user` if they own the backend; otherwise a refusal that says why and what to do. */
export async function admitSingleUser(
  stateDir: string,
  configured: string | null,
  user: SpawnUser,
): Promise<void> {
  const owner = await claimOwner(stateDir, configured, user.name);
  if (owner === user.name) return;
  throw new SpawnRefusedError(
    'This hub runs local servers in single-user development mode: only one account may ' +
      'start servers here, and it is another one. Run the hub as root (one system user per ' +
      'account) or use Docker for several users.',
  );
}
