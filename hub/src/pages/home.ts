/**
 * The home page: the user's servers with open and stop, a form to start one (name, image,
 * compute domain), and the spawn progress bar fed by server-sent events. Data comes from the
 * same REST API the extension uses; this page only draws it.
 */
import type { Principal } from '../auth/principal.ts';
import { escapeHtml, page } from './layout.ts';

const SCRIPT = String.raw`
const api = (path, options = {}) => {
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1];
  return fetch('/hub/api' + path, {
    ...options,
    headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrf ? decodeURIComponent(xsrf) : '', ...(options.headers || {}) },
  }).then(async (res) => {
    const body = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error((body && body.message) || res.statusText);
    return body;
  });
};
const user = document.body.dataset.user;
const $ = (selector) => document.querySelector(selector);
const showError = (message) => { const box = $('#error'); box.textContent = message; box.hidden = !message; };
const fmt = (iso) => iso ? new Date(iso).toLocaleString() : '';

function row(server) {
  const tr = document.createElement('tr');
  tr.dataset.server = server.name;
  const cull = server.cullAt ? 'stops when idle after ' + fmt(server.cullAt) : '';
  tr.innerHTML = '<td class="name"></td><td class="image"></td><td class="domain"></td><td><span class="badge"></span></td><td class="muted when"></td><td class="actions"></td>';
  tr.querySelector('.name').textContent = server.name;
  tr.querySelector('.image').textContent = server.image;
  tr.querySelector('.domain').textContent = server.domain;
  const badge = tr.querySelector('.badge');
  badge.textContent = server.status;
  badge.className = 'badge ' + server.status;
  tr.querySelector('.when').textContent = server.status === 'running' ? 'since ' + fmt(server.readyAt) + (cull ? ' · ' + cull : '') : '';
  const actions = tr.querySelector('.actions');
  if (server.status === 'running') {
    const open = document.createElement('a');
    open.className = 'button small'; open.href = server.url + 'lab'; open.textContent = 'Open';
    actions.append(open);
  }
  if (server.status !== 'stopping') {
    const stop = document.createElement('button');
    stop.className = 'secondary small'; stop.textContent = 'Stop';
    stop.onclick = async () => {
      stop.disabled = true; stop.textContent = 'Stopping…';
      try { await api('/users/' + encodeURIComponent(user) + '/servers/' + server.name, { method: 'DELETE' }); }
      catch (err) { showError(err.message); }
      refresh();
    };
    actions.append(stop);
  }
  return tr;
}

async function refresh() {
  try {
    const { servers } = await api('/users/' + encodeURIComponent(user) + '/servers');
    const body = $('#servers tbody');
    body.replaceChildren(...servers.map(row));
    $('#empty').hidden = servers.length > 0;
    $('#servers').hidden = servers.length === 0;
    for (const server of servers) if (server.status === 'starting') follow(server);
  } catch (err) { showError(err.message); }
}

const following = new Set();
function follow(server) {
  if (following.has(server.name)) return;
  following.add(server.name);
  const box = $('#progress');
  const bar = box.querySelector('progress');
  const label = box.querySelector('.label');
  box.hidden = false;
  const source = new EventSource(server.progressUrl);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    bar.value = event.progress;
    label.textContent = server.name + ': ' + event.message;
    if (event.ready || event.failed) {
      source.close();
      following.delete(server.name);
      if (event.failed) { showError(event.message); box.hidden = true; refresh(); }
      else { label.textContent = server.name + ' is ready, opening…'; window.location.href = event.url + 'lab'; }
    }
  };
  source.onerror = () => { source.close(); following.delete(server.name); refresh(); };
}

async function loadOptions() {
  try {
    const compute = await api('/compute');
    const select = $('#image');
    select.replaceChildren(...compute.images.map((image) => { const o = document.createElement('option'); o.value = image; o.textContent = image; return o; }));
    $('#domain').replaceChildren(...compute.domains.map((domain) => { const o = document.createElement('option'); o.value = domain.name; o.textContent = domain.name + ' (' + domain.backend + ')'; return o; }));
    if (compute.domains.length === 0) { $('#start button').disabled = true; showError('No compute domain is available to you; ask an administrator.'); }
    $('#limits').textContent = 'Up to ' + compute.maxServers + ' servers · ' + Math.round(compute.limits.memoryBytes / 1048576) + ' MiB memory and ' + compute.limits.cpus + ' CPU each' + (compute.idleCullSeconds ? ' · idle servers stop after ' + Math.round(compute.idleCullSeconds / 3600) + ' h, files kept' : '');
    if (compute.images.length === 0) { $('#start button').disabled = true; showError('No image is available to you; ask an administrator.'); }
  } catch (err) { showError(err.message); }
}

$('#start').onsubmit = async (event) => {
  event.preventDefault();
  showError('');
  const name = $('#name').value.trim();
  try {
    const server = await api('/users/' + encodeURIComponent(user) + '/servers/' + encodeURIComponent(name), { method: 'POST', body: JSON.stringify({ image: $('#image').value, domain: $('#domain').value }) });
    await refresh();
    follow(server);
  } catch (err) { showError(err.message); }
};

loadOptions();
refresh();
`;

export function homePage(caller: Principal): string {
  const name = escapeHtml(caller.user.name);
  return page(
    'Home',
    `<div class="wide">
      <div class="toolbar"><h1>Your servers</h1>
        <span class="muted">Signed in as <strong>${name}</strong>${caller.user.admin ? ' · platform admin' : ''} · <a href="/hub/logout">Sign out</a></span></div>
      <div id="error" class="error" role="alert" hidden></div>
      <div id="progress" class="card wide" hidden><div class="label">Starting…</div><progress max="100" value="0"></progress></div>
      <p id="empty" class="muted">No server is running. Start one below; your files are kept between servers.</p>
      <table id="servers" hidden><thead><tr><th>Name</th><th>Image</th><th>Domain</th><th>Status</th><th></th><th></th></tr></thead><tbody></tbody></table>
      <form id="start" class="card wide">
        <h2>Start a server</h2>
        <div class="grid">
          <div><label for="name">Name</label><input id="name" value="lab" pattern="[a-z0-9][a-z0-9\\-]{0,31}" title="lower-case letters, digits and -" required></div>
          <div><label for="image">Image</label><select id="image"></select></div>
          <div><label for="domain">Compute domain</label><select id="domain"></select></div>
        </div>
        <p id="limits" class="muted"></p>
        <button type="submit">Start</button>
      </form>
    </div>
    <script>${SCRIPT}</script>`,
    { user: caller.user.name },
  );
}
