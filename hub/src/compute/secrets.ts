/**
 * Each server's upstream secret is derived, not stored: HMAC(hub key, server id and start
 * time). The proxy recomputes it for every request; a hub restart with the same key finds
 * every running server again, and a database dump reveals no server's secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function serverSecret(key: string, server: { id: number; startedAt: Date }): string {
  return createHmac('sha256', key)
    .update(`server:${server.id}:${server.startedAt.toISOString()}`)
    .digest('base64url');
}

/** The configured key, or one generated once into `<stateDir>/secret-key` (mode 600). */
export function loadOrCreateKey(configured: string | undefined, stateDir: string): string {
  if (configured) return configured;
  const file = path.join(stateDir, 'secret-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(stateDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}
