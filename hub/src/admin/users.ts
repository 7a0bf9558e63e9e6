/**
 * The admin pages about accounts: registrations to approve, users (search, make admin,
 * disable, delete) and the confirmation of a deletion, which lists what each feature says it
 * removes. The buttons POST to actions.ts, which calls the same services as the API.
 */
import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import { listUsers, unapprovedUsers } from '../accounts/store.ts';
import type { UserRecord } from '../auth/principal.ts';
import { html } from '../pages/html.ts';
import type { PageDef } from '../pages/page.ts';
import { actionButton, adminTabs, doneLine, segment, when } from './layout.ts';

const PAGE_SIZE = 100;

const userAction = (user: UserRecord, what: string) =>
  `/hub/admin/users/${segment(user.name)}/${what}`;

export const registrationsPage: PageDef = {
  path: '/hub/admin/registrations',
  access: 'admin',
  async render({ hub, req }) {
    const users = await unapprovedUsers(hub.db, PAGE_SIZE);
    const rows = users.map(
      (
        user,
      ) => html`<tr data-user="${user.name}"><td class="name">${user.name}</td><td>${user.email ?? ''}</td>
        <td class="muted">${when(user.createdAt)}</td>
        <td class="muted">${user.lastLoginAt ? `disabled; last signed in ${when(user.lastLoginAt)}` : 'new'}</td>
        <td class="actions">${actionButton(userAction(user, 'approve'), 'Approve', { name: 'approve', fields: { back: 'registrations' } })}
          <a class="button small secondary" href="${userAction(user, 'delete')}">Delete…</a></td></tr>`,
    );
    return {
      title: 'Registrations',
      script: 'forms',
      body: html`<div class="wide">${adminTabs('/hub/admin/registrations')}
        <h1>Accounts waiting for approval</h1>${doneLine(req)}
        <p class="muted">New registrations (when approval is required) and disabled accounts: none of them can sign in until approved.</p>
        ${
          users.length
            ? html`<table id="registrations"><thead><tr><th>Name</th><th>Email</th><th>Registered</th><th></th><th></th></tr></thead><tbody>${rows}</tbody></table>`
            : html`<p id="none" class="muted">No account is waiting.</p>`
        }</div>`,
    };
  },
};

export const usersPage: PageDef = {
  path: '/hub/admin/users',
  access: 'admin',
  async render({ hub, req, caller }) {
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 64) : '';
    const { users, total } = await listUsers(hub.db, {
      prefix: '',
      ...(q ? { contains: normaliseUsername(q) } : {}),
      offset: 0,
      limit: PAGE_SIZE,
    });
    const rows = users.map((user) => {
      const self = user.id === caller.user.id;
      const status = user.approved ? 'active' : 'not approved';
      const actions = self
        ? html`<span class="muted">you</span>`
        : html`${
            user.admin
              ? actionButton(userAction(user, 'unmake-admin'), 'Remove admin', {
                  secondary: true,
                  name: 'unmake-admin',
                })
              : actionButton(userAction(user, 'make-admin'), 'Make admin', {
                  secondary: true,
                  name: 'make-admin',
                })
          }${
            user.approved
              ? actionButton(userAction(user, 'disable'), 'Disable', {
                  secondary: true,
                  name: 'disable',
                })
              : actionButton(userAction(user, 'approve'), 'Approve', { name: 'approve' })
          }<a class="button small secondary" data-action="delete" href="${userAction(user, 'delete')}">Delete…</a>`;
      return html`<tr data-user="${user.name}"><td class="name">${user.name}</td><td>${user.email ?? ''}</td>
        <td class="role">${user.admin ? 'admin' : 'user'}</td><td class="status">${status}</td>
        <td class="muted">${when(user.lastLoginAt)}</td>
        <td><a href="/hub/admin/activity?user=${segment(user.name)}">activity</a></td>
        <td class="actions">${actions}</td></tr>`;
    });
    return {
      title: 'Users',
      script: 'forms',
      body: html`<div class="wide">${adminTabs('/hub/admin/users')}
        <h1>Users</h1>${doneLine(req)}
        <form id="search" class="inline" method="get" action="/hub/admin/users">
          <input name="q" value="${q}" placeholder="name contains…" aria-label="Search users">
          <button type="submit" class="small">Search</button></form>
        <p class="muted">${total} user${total === 1 ? '' : 's'}${q ? html` whose name contains “${q}”` : ''}${total > PAGE_SIZE ? `; the first ${PAGE_SIZE} shown` : ''}.</p>
        <table id="users"><thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Status</th><th>Last sign-in</th><th></th><th></th></tr></thead>
        <tbody>${rows}</tbody></table></div>`,
    };
  },
};

export const deleteUserPage: PageDef = {
  path: '/hub/admin/users/:name/delete',
  access: 'admin',
  async render({ hub, req, caller }) {
    const user = await userNamed(hub.db, String(req.params.name));
    if (user.id === caller.user.id)
      return {
        title: 'Delete an account',
        body: html`<div class="card"><h1>This is your own account</h1>
          <div class="error" role="alert">Admins cannot delete their own account here.</div>
          <a class="button" href="/hub/admin/users">Users</a></div>`,
      };
    const goes = await hub.accountRemovers.whatGoes({
      userId: user.id,
      name: user.name,
      safeName: user.safeName,
    });
    const items = goes.flatMap(({ feature, items }) =>
      items.map((item) => html`<li data-feature="${feature}">${item}</li>`),
    );
    return {
      title: `Delete ${user.name}`,
      script: 'forms',
      body: html`<div class="card wide"><h1>Delete the account ${user.name}?</h1>
        <p>This cannot be undone. Deleting it removes:</p>
        <ul id="removes"><li>the account, its sign-ins, API tokens, group memberships and the privileges given to it</li>${items}</ul>
        <p class="muted">Its activity log is kept (no longer linked to an account). The name is free again once everything above is gone.</p>
        <form method="post" action="/hub/admin/users/${segment(user.name)}/delete"><input type="hidden" name="_xsrf">
          <button type="submit" id="confirm-delete">Delete ${user.name}</button>
          <a class="button secondary" href="/hub/admin/users">Cancel</a></form></div>`,
    };
  },
};
