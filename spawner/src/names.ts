import { createHash } from 'node:crypto';
import type { SpawnUser } from './types.ts';

/** Label keys Orrery puts on every resource it manages. */
export const LABELS = {
  managed: 'org.orrery.managed',
  owner: 'org.orrery.owner',
  server: 'org.orrery.server',
  deployment: 'org.orrery.deployment',
} as const;

/** Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; anything else becomes `_`. */
function dockerSafe(text: string): string {
  return text.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

/**
 * Name of the container/service/process of one server:
 * `<prefix><safeName>-<serverName or "default">-<hash>`.
 *
 * The 8-hex-digit hash of the exact (user name, server name) pair keeps names distinct even
 * when sanitising or the `-` separator would make them collide (`a-b`/`c` versus `a`/`b-c`,
 * `A-B` versus `a-b` on a case-folding hub, `秀樹` versus `__`).
 */
export function serverResourceName(prefix: string, user: SpawnUser, serverName: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([user.name, serverName]))
    .digest('hex')
    .slice(0, 8);
  const server = serverName === '' ? 'default' : serverName;
  const readable = `${dockerSafe(user.safeName)}-${dockerSafe(server)}`.slice(0, 40);
  return `${prefix}${readable}-${digest}`;
}

/** Labels identifying a server of `owner` in `deployment`. */
export function serverLabels(
  deployment: string,
  owner: string,
  serverName: string,
): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.deployment]: deployment,
    [LABELS.owner]: owner,
    [LABELS.server]: serverName,
  };
}
