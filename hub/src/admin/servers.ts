/**
 * Every server of every user, for admins: open one as admin (explicit, on the record: see
 * proxy/adminAccess.ts) or stop it. Stopping calls compute's stop, as the API's DELETE does.
 */
import type { Compute } from '../compute/orchestrator.ts';
import { allServers } from '../compute/store.ts';
import { html } from '../pages/html.ts';
import type { PageDef } from '../pages/page.ts';
import { ADMIN_ACCESS_SECONDS } from '../proxy/adminAccess.ts';
import { actionButton, adminTabs, doneLine, segment, when } from './layout.ts';

const serverLabel = (name: string) => name || 'default';

/** The POST path of an action on a server; "" (the default server) is the path's `server`. */
export const serverAction = (owner: string, name: string, what: string) =>
  `/hub/admin/servers/${segment(owner)}/${name === '' ? 'server' : `servers/${segment(name)}`}/${what}`;

export function serversPage(compute: Compute | null): PageDef {
  return {
    path: '/hub/admin/servers',
    access: 'admin',
    async render({ hub, req, caller }) {
      const servers = compute ? await allServers(hub.db) : [];
      const rows = servers.map((server) => {
        const own = server.userId === caller.user.id;
        // A stock single-user server signs in its owner only, through the hub's OAuth.
        const openable =
          server.status === 'running' && !own && !compute!.isSingleuser(server.image);
        return html`<tr data-server="${server.owner}/${server.name}"><td class="owner">${server.owner}</td>
          <td class="name">${serverLabel(server.name)}</td><td>${server.image}</td><td>${server.domain}</td>
          <td><span class="badge ${server.status}">${server.status}</span></td>
          <td class="muted">${when(server.readyAt ?? server.startedAt)}</td><td class="muted">${when(server.lastActivityAt)}</td>
          <td class="actions">${openable && actionButton(serverAction(server.owner, server.name, 'open'), 'Open as admin', { name: 'open' })}${
            server.status !== 'stopping' &&
            actionButton(serverAction(server.owner, server.name, 'stop'), 'Stop', {
              secondary: true,
              name: 'stop',
            })
          }</td></tr>`;
      });
      return {
        title: 'Servers',
        script: 'forms',
        body: html`<div class="wide">${adminTabs('/hub/admin/servers')}
          <h1>Servers</h1>${doneLine(req)}
          ${!compute && html`<p class="muted">This hub runs no compute.</p>`}
          <p class="muted">“Open as admin” lets you into the server as yourself for ${ADMIN_ACCESS_SECONDS / 60} minutes (or until it stops); it is written to the owner’s activity log. Inside the server you act as its owner.</p>
          ${
            servers.length
              ? html`<table id="servers"><thead><tr><th>Owner</th><th>Server</th><th>Image</th><th>Domain</th><th>Status</th><th>Since</th><th>Last activity</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
              : html`<p id="none" class="muted">No server is running.</p>`
          }</div>`,
      };
    },
  };
}
