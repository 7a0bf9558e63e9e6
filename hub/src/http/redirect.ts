/**
 * `next=` targets stay on the hub: only a path starting with a single '/',
 * with no backslash, scheme or control characters, is followed.
 */
export function safeNext(next: unknown, fallback = '/hub/home'): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2000) return fallback;
  if (!next.startsWith('/') || next.startsWith('//')) return fallback;
  // Browsers treat '\' like '/', and strip tabs and newlines, so `/\evil` or `/\t/evil` leave the site.
  for (const char of next) {
    const code = char.charCodeAt(0);
    if (char === '\\' || code < 0x20 || code === 0x7f) return fallback;
  }
  try {
    const url = new URL(next, 'http://hub.invalid');
    if (url.host !== 'hub.invalid') return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}
