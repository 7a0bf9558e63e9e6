/** Byte counts and usage as people read them. */
import type { IRootUsage } from '../tokens.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  // "10 GiB", not "10.0 GiB".
  const text = value.toFixed(digits).replace(/\.0$/, '');
  return `${text} ${UNITS[unit]}`;
}

/** "1.2 GiB of 10 GiB (12%)", or "1.2 GiB (no quota)". */
export function formatUsage(u: Pick<IRootUsage, 'used_bytes' | 'quota_bytes' | 'percent'>): string {
  if (u.quota_bytes === null) {
    return `${formatBytes(u.used_bytes)} (no quota)`;
  }
  const percent = u.percent ?? (100 * u.used_bytes) / u.quota_bytes;
  return `${formatBytes(u.used_bytes)} of ${formatBytes(u.quota_bytes)} (${Math.round(percent)}%)`;
}
