/** The hub's HTML pages share one small layout; text is escaped once, here. */
export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function page(title: string, body: string, data: Record<string, string> = {}): string {
  const attributes = Object.entries(data)
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join('');
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
  h2 { font-size: 17px; margin: 0 0 8px; }
  .wide { max-width: none; }
  .toolbar { display: flex; align-items: baseline; justify-content: space-between; gap: 16px; flex-wrap: wrap; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
  table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--border); border-radius: 10px; overflow: hidden; margin: 16px 0; }
  th, td { text-align: left; padding: 10px 14px; border-bottom: 1px solid var(--border); }
  th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
  td.actions { text-align: right; white-space: nowrap; }
  .small { margin: 0 0 0 8px; padding: 5px 12px; font-size: 13px; }
  .badge { padding: 2px 8px; border-radius: 999px; font-size: 12px; background: var(--border); }
  .badge.running { background: #d3f9d8; color: #1b5e20; }
  .badge.starting { background: #fff3bf; color: #7a5b00; }
  @media (prefers-color-scheme: dark) { .badge.running { background: #1f3d25; color: #b2f2bb; } .badge.starting { background: #3d3414; color: #ffe066; } }
  progress { width: 100%; height: 10px; accent-color: var(--accent); margin-top: 8px; }
  form.card, #progress { margin-top: 16px; }
</style></head>
<body${attributes}><header><a class="brand" href="/hub/home">Orrery</a><nav id="nav"></nav></header>
<main>${body}</main></body></html>`;
}
