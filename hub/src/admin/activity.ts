/**
 * Anyone's activity log, for admins: by user, by type (or `prefix.*`) and by text in the
 * event, newest first; the same search as GET /hub/api/activity.
 */
import { normaliseUsername } from '../accounts/names.ts';
import { findUserByName } from '../accounts/store.ts';
import { searchActivity } from '../activity/store.ts';
import { html } from '../pages/html.ts';
import type { PageDef } from '../pages/page.ts';
import { adminTabs, when } from './layout.ts';

const TYPE = /^[a-z_]+(\.[a-z_]+|\.\*)?$/;
const LIMIT = 200;

const text = (value: unknown, max: number) =>
  typeof value === 'string' ? value.trim().slice(0, max) : '';

export const activityPage: PageDef = {
  path: '/hub/admin/activity',
  access: 'admin',
  async render({ hub, req }) {
    const name = normaliseUsername(text(req.query.user, 64));
    const type = text(req.query.type, 100);
    const q = text(req.query.q, 200);
    const user = name ? await findUserByName(hub.db, name) : undefined;
    const problem =
      (name && !user && `No user named “${name}”.`) ||
      (type && !TYPE.test(type) && 'A type is like user.login or server.*.');
    const events = problem
      ? []
      : await searchActivity(hub.db, {
          ...(user ? { userId: user.id } : {}),
          ...(type ? { type } : {}),
          ...(q ? { text: q } : {}),
          limit: LIMIT,
        });
    const rows = events.map(
      (
        event,
      ) => html`<tr data-type="${event.type}"><td class="muted">${when(event.at)}</td><td class="type">${event.type}</td>
        <td>${event.user ?? ''}</td><td>${event.actor && event.actor !== event.user ? event.actor : ''}</td>
        <td class="muted">${event.address ?? ''}</td><td><code>${JSON.stringify(event.payload)}</code></td></tr>`,
    );
    return {
      title: 'Activity',
      body: html`<div class="wide">${adminTabs('/hub/admin/activity')}
        <h1>Activity${user ? html` of <span id="whose">${user.name}</span>` : ' of everyone'}</h1>
        <form id="filter" class="grid" method="get" action="/hub/admin/activity">
          <div><label for="user">User</label><input id="user" name="user" value="${name}" placeholder="everyone"></div>
          <div><label for="type">Type</label><input id="type" name="type" value="${type}" placeholder="e.g. server.*"></div>
          <div><label for="q">Text</label><input id="q" name="q" value="${q}"></div>
          <div><button type="submit" class="small">Search</button></div></form>
        ${problem && html`<div class="error" role="alert">${problem}</div>`}
        ${
          events.length
            ? html`<table id="events"><thead><tr><th>When (UTC)</th><th>Event</th><th>User</th><th>By</th><th>Address</th><th>Details</th></tr></thead><tbody>${rows}</tbody></table>`
            : html`<p id="none" class="muted">No events${problem ? '' : ' match'}.</p>`
        }
        ${events.length === LIMIT && html`<p class="muted">The newest ${LIMIT} shown; narrow the search for older ones.</p>`}</div>`,
    };
  },
};
