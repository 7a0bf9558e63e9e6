/**
 * The images and compute domains the hub offers, each with who may use it: the holders of
 * `use` on its RACM resource (users and groups), as the start of a server checks (racm/use.ts).
 * Privileges are given and taken with the RACM API (`/hub/api/racm/resources/{id}/privileges`).
 */
import type { Hub } from '../hub.ts';
import { type Html, html } from '../pages/html.ts';
import type { PageDef } from '../pages/page.ts';
import { findResourceByName, listPrivileges } from '../racm/store.ts';
import type { UsableType } from '../racm/use.ts';
import { adminTabs } from './layout.ts';

async function usersOf(hub: Hub, type: UsableType, name: string): Promise<Html> {
  const resource = await findResourceByName(hub.db, type, name);
  if (!resource) return html`<span class="muted">nobody (not registered in RACM)</span>`;
  const holders = (await listPrivileges(hub.db, resource.id))
    .filter((privilege) => privilege.action === 'use')
    .map((privilege) =>
      privilege.group ? `group ${privilege.group.name}` : (privilege.user ?? 'a deleted user'),
    );
  const who = holders.length ? holders.join(', ') : 'nobody';
  return html`<span class="who">${who}</span> <span class="muted">(RACM resource ${resource.id})</span>`;
}

export const computePage: PageDef = {
  path: '/hub/admin/compute',
  access: 'admin',
  async render({ hub }) {
    const images = await Promise.all(
      hub.config.compute.images.map(
        async (image) =>
          html`<tr data-image="${image}"><td class="name">${image}</td><td>${await usersOf(hub, 'DockerImage', image)}</td></tr>`,
      ),
    );
    const domains = await Promise.all(
      hub.config.compute.domains.map(
        async (domain) =>
          html`<tr data-domain="${domain.name}"><td class="name">${domain.name}</td><td>${domain.backend}</td>
            <td>${domain.hosts.map((host) => host.name).join(', ')}</td>
            <td>${await usersOf(hub, 'ComputeDomain', domain.name)}</td></tr>`,
      ),
    );
    return {
      title: 'Images and domains',
      body: html`<div class="wide">${adminTabs('/hub/admin/compute')}
        <h1>Images and compute domains</h1>
        <p class="muted">Who may use each: the holders of <code>use</code> on its RACM resource. Give or take it with the RACM API.</p>
        <h2>Images</h2>
        <table id="images"><thead><tr><th>Image</th><th>Who may use it</th></tr></thead><tbody>${images}</tbody></table>
        <h2>Compute domains</h2>
        <table id="domains"><thead><tr><th>Domain</th><th>Backend</th><th>Hosts</th><th>Who may use it</th></tr></thead><tbody>${domains}</tbody></table></div>`,
    };
  },
};
