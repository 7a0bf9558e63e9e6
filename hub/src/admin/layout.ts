/**
 * What the admin pages share: the tabs across their top, the line that says what the last
 * action did (the POST redirects back with `done` and `name`, never with free text), and the
 * small POST form each action button is.
 */
import type { Request } from 'express';
import { type Html, html } from '../pages/html.ts';

const TABS = [
  ['/hub/admin/registrations', 'Registrations'],
  ['/hub/admin/users', 'Users'],
  ['/hub/admin/servers', 'Servers'],
  ['/hub/admin/compute', 'Images and domains'],
  ['/hub/admin/activity', 'Activity'],
] as const;

/** What each action did, by its `done` code; `name` is whom or what it was done to. */
const DONE: Record<string, (name: string) => string> = {
  approved: (name) => `${name} is approved and can sign in.`,
  disabled: (name) => `${name} is disabled: signed out everywhere, and cannot sign in.`,
  made_admin: (name) => `${name} is now a platform admin.`,
  unmade_admin: (name) => `${name} is no longer a platform admin.`,
  deleted: (name) => `${name} is deleted.`,
  stopped: (name) => `The server ${name} is stopped.`,
};

export function adminTabs(current: string): Html {
  return html`<nav class="tabs">${TABS.map(
    ([path, label]) =>
      html`<a href="${path}"${path === current ? html` class="current" aria-current="page"` : ''}>${label}</a>`,
  )}</nav>`;
}

export function doneLine(req: Request): Html | '' {
  const done = typeof req.query.done === 'string' ? DONE[req.query.done] : undefined;
  const name = typeof req.query.name === 'string' ? req.query.name.slice(0, 200) : '';
  return done ? html`<div class="notice" role="status">${done(name)}</div>` : '';
}

/** A button that POSTs `fields` to `action` with the XSRF token (client/forms.ts fills it). */
export function actionButton(
  action: string,
  label: string,
  options: { fields?: Record<string, string>; secondary?: boolean; name?: string } = {},
): Html {
  const fields = Object.entries(options.fields ?? {}).map(
    ([key, value]) => html`<input type="hidden" name="${key}" value="${value}">`,
  );
  return html`<form class="inline" method="post" action="${action}"><input type="hidden" name="_xsrf">${fields}<button type="submit" class="small${options.secondary ? ' secondary' : ''}"${options.name ? html` data-action="${options.name}"` : ''}>${label}</button></form>`;
}

/** The path segment of a user or server name. */
export const segment = (name: string) => encodeURIComponent(name);

export const when = (at: Date | string | null | undefined) =>
  at ? new Date(at).toISOString().replace('T', ' ').slice(0, 16) : '';
