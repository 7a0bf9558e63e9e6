/**
 * `next=` targets stay on the hub: only a path starting with a single '/',
 * with no backslash, scheme or control characters, is followed.
 */

/** The shape of an on-site path: one leading '/', no '\', no control characters. */
function looksOnSite(path: string): boolean {
  if (!path.startsWith('/') || path.startsWith('//')) return false;
  // Browsers treat '\' like '/', and strip tabs and newlines, so `/\evil` or `/\t/evil` leave the site.
  for (const char of path) {
    const code = char.charCodeAt(0);
    if (char === '\\' || code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

export function safeNext(next: unknown, fallback = '/hub/home'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2000) return fallback;
  if (!looksOnSite(next)) return fallback;
  try {
    const url = new URL(next, 'http://hub.invalid');
    if (url.host !== 'hub.invalid') return fallback;
    const normalised = url.pathname + url.search + url.hash;
    // Normalising removes dot segments, so `/.//evil.com` becomes `//evil.com`: check the result
    // too, so what is followed is exactly what was checked (and safeNext(safeNext(x)) is stable).
    return looksOnSite(normalised) ? normalised : fallback;
  } catch {
    return fallback;
  }
}
