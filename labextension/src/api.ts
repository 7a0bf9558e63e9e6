/**
 * The only module that makes requests. Everything goes to the Jupyter server's
 * `<base_url>orrery/hub/<path>` proxy (see `orrery_lab/handlers.py`), which adds the
 * hub token server-side; Jupyter's own auth and XSRF apply via `ServerConnection`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type {
  HubId,
  IComputeInfo,
  IDomain,
  IGroupDetail,
  IGroupSummary,
  IGroupsClient,
  IHubErrorBody,
  IHubUser,
  IInvitation,
  InvitableRole,
  IServerInfo,
  IServersClient,
  IUserClient,
  IUserName,
} from './tokens.js';

/** A failed hub request: HTTP status (0 when the server was not reached), code, readable message. */
export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }

  /** Build from a parsed body if it has the hub's `{error, message}` shape. */
  static fromBody(status: number, body: unknown, fallback: string): HubError {
    if (body && typeof body === 'object') {
      const b = body as Partial<IHubErrorBody> & { reason?: string };
      if (typeof b.message === 'string' && b.message) {
        return new HubError(status, typeof b.error === 'string' ? b.error : 'error', b.message);
      }
    }
    return new HubError(status, 'http_error', fallback);
  }
}

/** True for errors that carry a message fit for a dialog. */
export function isHubError(e: unknown): e is HubError {
  return e instanceof HubError;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** URL path segment (ids and user names may contain anything). */
const seg = (v: HubId): string => encodeURIComponent(String(v));

/**
 * Make one hub request through the proxy and decode the JSON answer.
 * Rejects with `HubError` for every failure, including network errors.
 */
export async function requestHub<T>(
  settings: ServerConnection.ISettings,
  method: Method,
  path: string,
  body?: unknown,
  query?: Record<string, string>,
): Promise<T> {
  const url =
    URLExt.join(settings.baseUrl, 'orrery', 'hub', path) +
    (query ? URLExt.objectToQueryString(query) : '');
  // 'no-cache' (revalidate) rather than the default 'no-store', for which ServerConnection
  // appends a timestamp to the query string that would be forwarded to the hub.
  const init: RequestInit = { method, cache: 'no-cache' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new HubError(0, 'network_error', `Could not reach the Jupyter server: ${reason}`);
  }
  const text = await response.text();
  let data: unknown;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) {
    throw HubError.fromBody(
      response.status,
      data,
      `The hub answered ${response.status} ${response.statusText}`.trim(),
    );
  }
  return data as T;
}

/** Every hub client over the Jupyter server proxy; each plugin provides it as one feature's client. */
export class HubClient implements IUserClient, IGroupsClient, IServersClient {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private req<T>(
    method: Method,
    path: string,
    body?: unknown,
    query?: Record<string, string>,
  ): Promise<T> {
    return requestHub<T>(this.settings, method, path, body, query);
  }

  currentUser(): Promise<IHubUser> {
    return this.req('GET', 'user');
  }

  async searchUsers(prefix: string, limit = 10): Promise<IUserName[]> {
    // JupyterHub's answer without its pagination media type: a plain list of user models.
    const users = await this.req<IUserName[]>('GET', 'users', undefined, {
      prefix,
      limit: String(limit),
    });
    return users.map((user) => ({ name: user.name }));
  }

  async listGroups(): Promise<IGroupSummary[]> {
    return (await this.req<{ groups: IGroupSummary[] }>('GET', 'groups')).groups;
  }

  getGroup(id: HubId): Promise<IGroupDetail> {
    return this.req('GET', `groups/${seg(id)}`);
  }

  createGroup(name: string, description: string): Promise<IGroupSummary> {
    return this.req('POST', 'groups', { name, description });
  }

  async updateGroup(id: HubId, patch: { name?: string; description?: string }): Promise<void> {
    await this.req('PATCH', `groups/${seg(id)}`, patch);
  }

  async deleteGroup(id: HubId): Promise<void> {
    await this.req('DELETE', `groups/${seg(id)}`);
  }

  async invite(groupId: HubId, username: string, role: InvitableRole): Promise<void> {
    await this.req('POST', `groups/${seg(groupId)}/invitations`, { username, role });
  }

  async listInvitations(): Promise<IInvitation[]> {
    return (await this.req<{ invitations: IInvitation[] }>('GET', 'invitations')).invitations;
  }

  async acceptInvitation(id: HubId): Promise<void> {
    await this.req('POST', `invitations/${seg(id)}/accept`);
  }

  async declineInvitation(id: HubId): Promise<void> {
    await this.req('POST', `invitations/${seg(id)}/decline`);
  }

  async setMemberRole(groupId: HubId, username: string, role: InvitableRole): Promise<void> {
    await this.req('PATCH', `groups/${seg(groupId)}/members/${seg(username)}`, { role });
  }

  async removeMember(groupId: HubId, username: string): Promise<void> {
    await this.req('DELETE', `groups/${seg(groupId)}/members/${seg(username)}`);
  }

  async listDomains(): Promise<IDomain[]> {
    return (await this.req<{ domains: IDomain[] }>('GET', 'domains')).domains;
  }

  async joinDomain(id: HubId): Promise<void> {
    await this.req('POST', `domains/${seg(id)}/join`);
  }

  async leaveDomain(id: HubId): Promise<void> {
    await this.req('POST', `domains/${seg(id)}/leave`);
  }

  computeInfo(): Promise<IComputeInfo> {
    return this.req('GET', 'compute');
  }

  /** The server from the user model (JupyterHub's: servers keyed by name, "" the default). */
  async serverInfo(user: string, server: string): Promise<IServerInfo> {
    const model = await this.req<{ servers?: Record<string, IServerInfo> }>(
      'GET',
      `users/${seg(user)}`,
    );
    const info = model.servers?.[server];
    if (!info) throw new HubError(404, 'not_found', 'This server is not running');
    return info;
  }

  /** Reports activity now (JupyterHub's activity API), then reads the server again. */
  async keepServerAlive(user: string, server: string): Promise<IServerInfo> {
    const now = new Date().toISOString();
    await this.req('POST', `users/${seg(user)}/activity`, {
      servers: { [server]: { last_activity: now } },
    });
    return this.serverInfo(user, server);
  }
}
