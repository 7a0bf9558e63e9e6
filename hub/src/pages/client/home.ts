/**
 * The home page: lists the user's servers with open and stop, starts one (name, image, compute
 * domain) and follows its progress over server-sent events. All data comes from the REST API.
 */
import { api, errorMessage, fillXsrfFields } from './api.ts';
import { element, make, showError } from './dom.ts';
import type {
  ComputeInfo,
  ProgressEvent,
  ServerInfo,
  ShareCodeMade,
  ShareInfo,
  UserModel,
} from './types.ts';

const user = document.body.dataset.user ?? '';
const userPath = `/users/${encodeURIComponent(user)}`;
/** JupyterHub's paths: `/server` for the default server (""), `/servers/<name>` for the others. */
const serverPath = (name: string) =>
  name === '' ? `${userPath}/server` : `${userPath}/servers/${encodeURIComponent(name)}`;
const serverLabel = (name: string) => name || 'default';
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '');

function row(server: ServerInfo): HTMLTableRowElement {
  const tr = make('tr');
  tr.dataset.server = server.name;
  const cull = server.cull_at ? `stops when idle after ${when(server.cull_at)}` : '';
  const since =
    server.status === 'running' ? `since ${when(server.ready_at)}${cull ? ` · ${cull}` : ''}` : '';
  const badge = make('span', { className: `badge ${server.status}`, textContent: server.status });
  const status = make('td');
  status.append(badge);
  const actions = make('td', { className: 'actions' });
  if (server.status === 'running') {
    actions.append(
      make('a', { className: 'button small', href: `${server.url}lab`, textContent: 'Open' }),
    );
  }
  if (server.status === 'running') {
    const share = make('button', { className: 'secondary small share', textContent: 'Share' });
    share.addEventListener('click', () => void makeShareCode(server.name));
    actions.append(share);
  }
  if (server.status !== 'stopping') {
    const stop = make('button', { className: 'secondary small', textContent: 'Stop' });
    stop.addEventListener('click', async () => {
      stop.disabled = true;
      stop.textContent = 'Stopping…';
      try {
        await api(serverPath(server.name), { method: 'DELETE' });
      } catch (err) {
        showError(errorMessage(err));
      }
      await refresh();
    });
    actions.append(stop);
  }
  tr.append(
    make('td', { className: 'name', textContent: serverLabel(server.name) }),
    make('td', { className: 'image', textContent: server.image }),
    make('td', { className: 'domain', textContent: server.domain }),
    status,
    make('td', { className: 'muted when', textContent: since }),
    actions,
  );
  return tr;
}

async function refresh(): Promise<void> {
  try {
    const model = await api<UserModel>(userPath);
    const servers = Object.values(model.servers ?? {});
    element('#servers tbody').replaceChildren(...servers.map(row));
    element('#empty').hidden = servers.length > 0;
    element('#servers').hidden = servers.length === 0;
    for (const server of servers) if (server.status === 'starting') follow(server);
  } catch (err) {
    showError(errorMessage(err));
  }
}

/** A code that shares the server for a day (the lab's "Share this server…" offers more). */
async function makeShareCode(name: string): Promise<void> {
  showError('');
  try {
    const path = `/share-codes/${encodeURIComponent(user)}${name ? `/${encodeURIComponent(name)}` : ''}`;
    const made = await api<ShareCodeMade>(path, { method: 'POST', body: {} });
    element('#share-server').textContent = `${user}/${name}`;
    element('#share-expires').textContent = when(made.expires_at);
    element<HTMLInputElement>('#share-url').value = made.accept_url;
    element('#share-made').hidden = false;
  } catch (err) {
    showError(errorMessage(err));
  }
}

/** One server shared with me: open it while it runs; leave a share made to me by name. */
function sharedRow(share: ShareInfo): HTMLTableRowElement {
  const tr = make('tr');
  tr.dataset.server = share.server.full_name;
  const status = make('td');
  const running = share.server.ready ? 'running' : 'stopped';
  status.append(make('span', { className: `badge ${running}`, textContent: running }));
  const actions = make('td', { className: 'actions' });
  if (share.server.ready)
    actions.append(
      make('a', { className: 'button small', href: `${share.server.url}lab`, textContent: 'Open' }),
    );
  if (share.kind === 'user') {
    const leave = make('button', { className: 'secondary small', textContent: 'Leave' });
    leave.addEventListener('click', async () => {
      leave.disabled = true;
      const owner = encodeURIComponent(share.server.user.name);
      const name = share.server.name ? `/${encodeURIComponent(share.server.name)}` : '';
      try {
        await api(`${userPath}/shared/${owner}${name}`, { method: 'DELETE' });
      } catch (err) {
        showError(errorMessage(err));
      }
      await refreshShared();
    });
    actions.append(leave);
  }
  const may = share.scopes.some((scope) => scope.startsWith('servers!'))
    ? 'use, start and stop'
    : 'use';
  tr.append(
    make('td', { className: 'name', textContent: share.server.full_name }),
    make('td', { textContent: share.kind === 'user' ? 'you' : `group ${share.group?.name}` }),
    make('td', { textContent: may }),
    status,
    actions,
  );
  return tr;
}

async function refreshShared(): Promise<void> {
  try {
    const { items } = await api<{ items: ShareInfo[] }>(`${userPath}/shared`);
    element('#shared tbody').replaceChildren(...items.map(sharedRow));
    element('#shared-empty').hidden = items.length > 0;
    element('#shared').hidden = items.length === 0;
  } catch (err) {
    showError(errorMessage(err));
  }
}

const following = new Set<string>();

function follow(server: ServerInfo): void {
  if (following.has(server.name)) return;
  following.add(server.name);
  const box = element('#progress');
  const bar = element<HTMLProgressElement>('progress', box);
  const label = element('.label', box);
  box.hidden = false;
  const source = new EventSource(server.progress_url);
  source.addEventListener('message', (message: MessageEvent<string>) => {
    const event = JSON.parse(message.data) as ProgressEvent;
    bar.value = event.progress;
    label.textContent = `${serverLabel(server.name)}: ${event.message}`;
    if (!event.ready && !event.failed) return;
    source.close();
    following.delete(server.name);
    if (event.failed) {
      showError(event.message);
      box.hidden = true;
      void refresh();
    } else {
      label.textContent = `${serverLabel(server.name)} is ready, opening…`;
      window.location.href = `${event.url}lab`;
    }
  });
  source.addEventListener('error', () => {
    source.close();
    following.delete(server.name);
    void refresh();
  });
}

const option = (value: string, text: string) => make('option', { value, textContent: text });

async function loadOptions(): Promise<void> {
  try {
    const compute = await api<ComputeInfo>('/compute');
    const start = element<HTMLButtonElement>('#start button');
    element('#image').replaceChildren(...compute.images.map((image) => option(image, image)));
    element('#domain').replaceChildren(
      ...compute.domains.map((domain) => option(domain.name, `${domain.name} (${domain.backend})`)),
    );
    const memory = Math.round(compute.limits.memory_bytes / 1048576);
    const culling = compute.idle_cull_seconds
      ? ` · idle servers stop after ${Math.round(compute.idle_cull_seconds / 3600)} h, files kept`
      : '';
    element('#limits').textContent =
      `Up to ${compute.max_servers} servers · ${memory} MiB memory and ${compute.limits.cpus} CPU each${culling}`;
    if (compute.domains.length === 0) {
      start.disabled = true;
      showError('No compute domain is available to you; ask an administrator.');
    }
    if (compute.images.length === 0) {
      start.disabled = true;
      showError('No image is available to you; ask an administrator.');
    }
  } catch (err) {
    showError(errorMessage(err));
  }
}

element<HTMLFormElement>('#start').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('');
  const name = element<HTMLInputElement>('#name').value.trim();
  try {
    // An empty name starts the default server, as JupyterHub's home page does.
    const server = await api<ServerInfo>(serverPath(name), {
      method: 'POST',
      body: {
        image: element<HTMLSelectElement>('#image').value,
        domain: element<HTMLSelectElement>('#domain').value,
      },
    });
    await refresh();
    follow(server);
  } catch (err) {
    showError(errorMessage(err));
  }
});

fillXsrfFields();
void loadOptions();
void refresh();
void refreshShared();
