/** The hub's HTML pages share one small layout; text is escaped once, here. */
export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Orrery</title>
<style>
  :root { color-scheme: light dark; --accent: #3b5bdb; --bg: #f6f7fb; --card: #fff; --text: #1d2433; --muted: #5c667a; --border: #d9dde7; }
  @media (prefers-color-scheme: dark) { :root { --bg: #12151c; --card: #1b2030; --text: #e6e9f2; --muted: #9aa3b8; --border: #2d3448; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; align-items: center; justify-content: space-between; padding: 12px 24px; border-bottom: 1px solid var(--border); background: var(--card); }
  header .brand { font-weight: 700; letter-spacing: .02em; color: var(--text); text-decoration: none; }
  header .brand::before { content: "◎ "; color: var(--accent); }
  main { max-width: 960px; margin: 40px auto; padding: 0 24px; }
  .card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 28px; max-width: 420px; margin: 0 auto; }
  .wide { max-width: none; }
  h1 { font-size: 22px; margin: 0 0 16px; }
  label { display: block; margin: 12px 0 4px; color: var(--muted); font-size: 13px; }
  input, select { width: 100%; padding: 9px 11px; border: 1px solid var(--border); border-radius: 6px; background: var(--bg); color: var(--text); font: inherit; }
  button, .button { display: inline-block; margin-top: 18px; padding: 9px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; text-decoration: none; }
  button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
  .error { background: #fde8e8; color: #8a1c1c; border-radius: 6px; padding: 8px 12px; margin-bottom: 12px; }
  @media (prefers-color-scheme: dark) { .error { background: #3a1d1d; color: #f6b6b6; } }
  .muted { color: var(--muted); }
  a { color: var(--accent); }
</style></head>
<body><header><a class="brand" href="/hub/home">Orrery</a><nav id="nav"></nav></header>
<main>${body}</main></body></html>`;
}
