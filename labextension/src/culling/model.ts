/**
 * When to warn that an idle server will be stopped, and what to say. Pure, so the rules are
 * unit-tested without a clock or a hub.
 */

/** Seconds left before the idle stop, or null when no warning is due (yet, or at all). */
export function secondsUntilCull(
  cullAt: string | null,
  now: number,
  warningSeconds: number,
): number | null {
  if (!cullAt) {
    return null;
  }
  const left = Math.floor((Date.parse(cullAt) - now) / 1000);
  if (Number.isNaN(left) || left > warningSeconds) {
    return null;
  }
  return Math.max(0, left);
}

/** "1 h 5 min", "12 min 3 s", "42 s". */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) {
    return `${h} h ${m} min`;
  }
  if (m > 0) {
    return `${m} min ${s} s`;
  }
  return `${s} s`;
}

/** How long to wait before asking the hub again: often near the stop, rarely otherwise. */
export function nextCheckSeconds(
  cullAt: string | null,
  now: number,
  warningSeconds: number,
): number {
  if (!cullAt) {
    return 300;
  }
  const untilWarning = (Date.parse(cullAt) - now) / 1000 - warningSeconds;
  if (untilWarning > 0) {
    return Math.min(300, Math.max(15, untilWarning));
  }
  return 30;
}
