/**
 * The only module that makes requests. Everything goes to the Jupyter server's
 * `<base_url>orrery/hub/<path>` proxy (see `orrery_lab/handlers.py`), which adds the
 * hub token server-side; Jupyter's own auth and XSRF apply via `ServerConnection`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type {
  ExportFormat,
  HubId,
  IAssignment,
  IBatchQuery,
  ICollected,
  IComputeInfo,
  ICourse,
  ICourseInvitation,
  ICoursesClient,
  IDomain,
  IFilesClient,
  IGrade,
  IGroupDetail,
  IGroupSummary,
  IGroupsClient,
  IHistoryEntry,
  IHubErrorBody,
  IHubUser,
  IImportResult,
  IInvitation,
  IJob,
  IJobLogs,
  IJobsClient,
  IMyDBClient,
  IMyDBContext,
  IMyDBTable,
  ImportFormat,
  INewAssignment,
  INotebookJobRequest,
  INotebookSweepRequest,
  InvitableRole,
  IQuickQueryAnswer,
  IQuickQueryJSON,
  IQuickQueryRequest,
  IRedeemed,
  IReturned,
  IRosterChange,
  IRosterMember,
  ISavedResult,
  IServerInfo,
  IServerShare,
  IServerShareCode,
  IServerShareCodeCreated,
  IServersClient,
  ISharesClient,
  ISubmission,
  ISubmissionReceipt,
  ISweep,
  IUserClient,
  IUserName,
  IUserUsage,
  IVolume,
  IVolumeFolder,
  IVolumeLink,
  IVolumeLinkCreated,
  IVolumeList,
  IVolumeRef,
  IVolumeShare,
  ServerSharee,
  ShareAccess,
  Sharee,
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

/** A failure as a model keeps it for its panel to show. */
export interface IHubFailure {
  /** The HTTP status; 0 when the hub was not reached or the error is not the hub's. */
  status: number;
  error: string;
  message: string;
}

/** The message of any error (a `HubError`'s is fit for a dialog). */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Any error as a failure to show: the hub's status and code, else 0 and `unexpected`. */
export function hubFailureOf(e: unknown): IHubFailure {
  if (e instanceof HubError) {
    return { status: e.status, error: e.error, message: e.message };
  }
  return { status: 0, error: 'unexpected', message: messageOf(e) };
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** URL path segment (ids and user names may contain anything). */
const seg = (v: HubId): string => encodeURIComponent(String(v));

/** JupyterHub's sharing paths: `{base}/{owner}` for the default server, `{base}/{owner}/{server}`. */
const serverPath = (base: string, owner: string, server: string): string =>
  server === '' ? `${base}/${seg(owner)}` : `${base}/${seg(owner)}/${seg(server)}`;

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

/** What the JSON hub clients share: the Jupyter server's settings and one request through them. */
abstract class JSONHubClient {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  protected req<T>(
    method: Method,
    path: string,
    body?: unknown,
    query?: Record<string, string>,
  ): Promise<T> {
    return requestHub<T>(this.settings, method, path, body, query);
  }
}

/** Every hub client over the Jupyter server proxy; each plugin provides it as one feature's client. */
export class HubClient
  extends JSONHubClient
  implements IUserClient, IGroupsClient, IServersClient, ISharesClient
{
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

  // Sharing servers: `/shares/{owner}` is the default server's, `/shares/{owner}/{server}` a named one's.

  listServerShares(owner: string, server: string): Promise<IServerShare[]> {
    return this.req<{ items: IServerShare[] }>('GET', serverPath('shares', owner, server)).then(
      (answer) => answer.items,
    );
  }

  shareServer(
    owner: string,
    server: string,
    sharee: ServerSharee,
    manage: boolean,
  ): Promise<IServerShare> {
    return this.req('POST', serverPath('shares', owner, server), {
      ...sharee,
      scopes: manage ? ['access:servers', 'servers'] : ['access:servers'],
    });
  }

  async unshareServer(owner: string, server: string, sharee: ServerSharee): Promise<void> {
    await this.req('PATCH', serverPath('shares', owner, server), sharee);
  }

  listServerShareCodes(owner: string, server: string): Promise<IServerShareCode[]> {
    return this.req<{ items: IServerShareCode[] }>(
      'GET',
      serverPath('share-codes', owner, server),
    ).then((answer) => answer.items);
  }

  createServerShareCode(
    owner: string,
    server: string,
    expiresInSeconds: number,
    manage: boolean,
  ): Promise<IServerShareCodeCreated> {
    return this.req('POST', serverPath('share-codes', owner, server), {
      expires_in: expiresInSeconds,
      scopes: manage ? ['access:servers', 'servers'] : ['access:servers'],
    });
  }

  async revokeServerShareCode(owner: string, server: string, id: number): Promise<void> {
    await this.req('DELETE', serverPath('share-codes', owner, server), undefined, {
      id: String(id),
    });
  }

  async sharedWithMe(user: string): Promise<IServerShare[]> {
    return (await this.req<{ items: IServerShare[] }>('GET', `users/${seg(user)}/shared`)).items;
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

// ---------------------------------------------------------------------------
// MyDB: answers that are not always JSON (Arrow results, exported files) and bodies that
// are files (imports), so these requests carry their own Accept and Content-Type.
// ---------------------------------------------------------------------------

/** The Arrow IPC stream media type of the MyDB contract. */
export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

/** A refused query: the hub's error, and PostgreSQL's 1-based position in the SQL if given. */
export class HubQueryError extends HubError {
  constructor(
    status: number,
    error: string,
    message: string,
    readonly position: number | null,
  ) {
    super(status, error, message);
    this.name = 'HubQueryError';
  }
}

/** The position of a hub error body: `position` at the top or in `error`/`detail`. */
function positionOf(body: unknown): number | null {
  if (!body || typeof body !== 'object') {
    return null;
  }
  const b = body as Record<string, unknown>;
  for (const v of [b['position'], (b['detail'] as Record<string, unknown>)?.['position']]) {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n > 0) {
      return n;
    }
  }
  return null;
}

/**
 * One hub request whose answer is handed back as a `Response` (read by the caller), with
 * `accept` forwarded by the proxy and a raw or JSON body. Rejects with `HubQueryError`.
 */
export async function requestHubRaw(
  settings: ServerConnection.ISettings,
  method: Method,
  path: string,
  options: {
    accept?: string;
    json?: unknown;
    body?: Blob;
    contentType?: string;
    query?: Record<string, string>;
  } = {},
): Promise<Response> {
  const url =
    URLExt.join(settings.baseUrl, 'orrery', 'hub', path) +
    (options.query ? URLExt.objectToQueryString(options.query) : '');
  const headers: Record<string, string> = {};
  const init: RequestInit = { method, cache: 'no-cache', headers };
  if (options.accept) {
    headers['Accept'] = options.accept;
  }
  if (options.json !== undefined) {
    init.body = JSON.stringify(options.json);
    headers['Content-Type'] = 'application/json';
  } else if (options.body !== undefined) {
    init.body = options.body;
    headers['Content-Type'] = options.contentType ?? 'application/octet-stream';
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new HubQueryError(
      0,
      'network_error',
      `Could not reach the Jupyter server: ${reason}`,
      null,
    );
  }
  if (!response.ok) {
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    const e = HubError.fromBody(
      response.status,
      data,
      `The hub answered ${response.status} ${response.statusText}`.trim(),
    );
    throw new HubQueryError(e.status, e.error, e.message, positionOf(data));
  }
  return response;
}

/** The MyDB client over the Jupyter server proxy. */
export class MyDBHubClient implements IMyDBClient {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  private async json<T>(
    method: Method,
    path: string,
    body?: unknown,
    query?: Record<string, string>,
  ): Promise<T> {
    const r = await requestHubRaw(this.settings, method, path, {
      accept: 'application/json',
      json: body,
      query,
    });
    const text = await r.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  contexts(): Promise<IMyDBContext[]> {
    return this.json('GET', 'mydb/contexts');
  }

  tables(context: string): Promise<IMyDBTable[]> {
    return this.json('GET', `mydb/contexts/${seg(context)}/tables`);
  }

  async query(user: string, request: IQuickQueryRequest): Promise<IQuickQueryAnswer> {
    const r = await requestHubRaw(this.settings, 'POST', `users/${seg(user)}/mydb/query`, {
      accept: `${ARROW_STREAM}, application/json;q=0.5`,
      json: request,
    });
    const type = (r.headers.get('Content-Type') ?? '').split(';')[0]!.trim();
    if (type === ARROW_STREAM) {
      const flag = r.headers.get('Orrery-Truncated');
      return {
        format: 'arrow',
        bytes: new Uint8Array(await r.arrayBuffer()),
        truncated: flag === null ? null : flag === 'true',
      };
    }
    return { format: 'json', body: (await r.json()) as IQuickQueryJSON };
  }

  saveInto(user: string, request: IQuickQueryRequest & { into: string }): Promise<ISavedResult> {
    return this.json('POST', `users/${seg(user)}/mydb/query`, request);
  }

  submitBatch(
    user: string,
    request: { sql: string; context?: string; table?: string },
  ): Promise<IBatchQuery> {
    return this.json('POST', `users/${seg(user)}/mydb/batch`, request);
  }

  listBatch(user: string, limit = 50): Promise<{ queries: IBatchQuery[]; total: number }> {
    return this.json('GET', `users/${seg(user)}/mydb/batch`, undefined, { limit: String(limit) });
  }

  getBatch(user: string, id: HubId): Promise<IBatchQuery> {
    return this.json('GET', `users/${seg(user)}/mydb/batch/${seg(id)}`);
  }

  cancelBatch(user: string, id: HubId): Promise<IBatchQuery> {
    return this.json('POST', `users/${seg(user)}/mydb/batch/${seg(id)}/cancel`, {});
  }

  history(
    user: string,
    options: { q?: string; limit?: number; offset?: number } = {},
  ): Promise<{ queries: IHistoryEntry[]; total: number }> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(options)) {
      if (v !== undefined && v !== '') {
        query[k] = String(v);
      }
    }
    return this.json('GET', `users/${seg(user)}/mydb/history`, undefined, query);
  }

  async exportTable(user: string, table: string, format: ExportFormat): Promise<Blob> {
    const r = await requestHubRaw(
      this.settings,
      'GET',
      `users/${seg(user)}/mydb/tables/${seg(table)}/export`,
      { accept: '*/*', query: { format } },
    );
    return r.blob();
  }

  async importTable(
    user: string,
    table: string,
    format: ImportFormat,
    file: Blob,
  ): Promise<IImportResult> {
    const r = await requestHubRaw(
      this.settings,
      'POST',
      `users/${seg(user)}/mydb/tables/${seg(table)}/import`,
      {
        accept: 'application/json',
        body: file,
        contentType: IMPORT_TYPES[format],
        query: { format },
      },
    );
    return (await r.json()) as IImportResult;
  }

  async dropTable(user: string, table: string): Promise<void> {
    await requestHubRaw(this.settings, 'DELETE', `users/${seg(user)}/mydb/tables/${seg(table)}`);
  }
}

const IMPORT_TYPES: Record<ImportFormat, string> = {
  csv: 'text/csv',
  votable: 'application/x-votable+xml',
  fits: 'application/fits',
};

/** The path of a volume's routes: `<prefix>/<root>/<owner>/<volume>`, each part encoded. */
const volumePath = (ref: IVolumeRef, ...rest: string[]): string =>
  ['volumes', seg(ref.root), seg(ref.owner), seg(ref.volume), ...rest].join('/');

const shareeQuery = (sharee: Sharee): Record<string, string> =>
  'user' in sharee ? { user: sharee.user } : { group: String(sharee.group) };

/** Volumes, sharing, invite codes and usage through the Jupyter server proxy. */
export class FilesHubClient extends JSONHubClient implements IFilesClient {
  listVolumes(): Promise<IVolumeList> {
    return this.req('GET', 'volumes');
  }

  createVolume(root: string, name: string, description?: string): Promise<IVolume> {
    return this.req('POST', `volumes/${seg(root)}`, {
      name,
      ...(description !== undefined ? { description } : {}),
    });
  }

  updateVolume(ref: IVolumeRef, patch: { name?: string; description?: string }): Promise<IVolume> {
    return this.req('PATCH', volumePath(ref), patch);
  }

  async deleteVolume(ref: IVolumeRef): Promise<void> {
    await this.req('DELETE', volumePath(ref));
  }

  async listShares(ref: IVolumeRef): Promise<IVolumeShare[]> {
    return (await this.req<{ shares: IVolumeShare[] }>('GET', volumePath(ref, 'shares'))).shares;
  }

  async share(ref: IVolumeRef, sharee: Sharee, access: ShareAccess): Promise<void> {
    await this.req('PUT', volumePath(ref, 'shares'), { ...sharee, access });
  }

  async unshare(ref: IVolumeRef, sharee: Sharee): Promise<void> {
    await this.req('DELETE', volumePath(ref, 'shares'), undefined, shareeQuery(sharee));
  }

  async listLinks(ref: IVolumeRef): Promise<IVolumeLink[]> {
    return (await this.req<{ links: IVolumeLink[] }>('GET', volumePath(ref, 'links'))).links;
  }

  createLink(ref: IVolumeRef, expiresInHours: number): Promise<IVolumeLinkCreated> {
    return this.req('POST', volumePath(ref, 'links'), { expires_in_hours: expiresInHours });
  }

  async revokeLink(ref: IVolumeRef, id: number): Promise<void> {
    await this.req('DELETE', volumePath(ref, 'links', seg(id)));
  }

  redeem(code: string): Promise<IRedeemed> {
    return this.req('POST', 'volume-links/redeem', { code });
  }

  usage(user: string): Promise<IUserUsage> {
    return this.req('GET', `users/${seg(user)}/files/usage`);
  }
}

/** Batch jobs through the Jupyter server proxy (docs/jobs.md). */
export class JobsHubClient extends JSONHubClient implements IJobsClient {
  submitNotebook(user: string, request: INotebookJobRequest): Promise<IJob> {
    return this.req('POST', `users/${seg(user)}/jobs`, request);
  }

  submitSweep(user: string, request: INotebookSweepRequest): Promise<ISweep> {
    return this.req('POST', `users/${seg(user)}/jobs/sweeps`, request);
  }

  async listJobs(user: string, limit = 100): Promise<IJob[]> {
    const answer = await this.req<{ jobs: IJob[] }>('GET', `users/${seg(user)}/jobs`, undefined, {
      limit: String(limit),
    });
    return answer.jobs;
  }

  getJob(user: string, id: HubId): Promise<IJob> {
    return this.req('GET', `users/${seg(user)}/jobs/${seg(id)}`);
  }

  cancelJob(user: string, id: HubId): Promise<IJob> {
    return this.req('POST', `users/${seg(user)}/jobs/${seg(id)}/cancel`, {});
  }

  resubmitJob(user: string, id: HubId): Promise<IJob> {
    return this.req('POST', `users/${seg(user)}/jobs/${seg(id)}/resubmit`, {});
  }

  logs(
    user: string,
    id: HubId,
    offsets: { stdout: number; stderr: number } = { stdout: 0, stderr: 0 },
  ): Promise<IJobLogs> {
    return this.req('GET', `users/${seg(user)}/jobs/${seg(id)}/logs`, undefined, {
      stdout_offset: String(offsets.stdout),
      stderr_offset: String(offsets.stderr),
    });
  }
}

/** `courses/<slug>[/assignments/<name>]/<rest>`, each part encoded. */
const coursePath = (slug: string, ...rest: string[]): string =>
  ['courses', seg(slug), ...rest].join('/');
const assignmentPath = (slug: string, name: string, ...rest: string[]): string =>
  coursePath(slug, 'assignments', seg(name), ...rest);

/** Courses through the Jupyter server proxy (docs/courses.md). */
export class CoursesHubClient extends JSONHubClient implements ICoursesClient {
  async listCourses(): Promise<ICourse[]> {
    return (await this.req<{ courses: ICourse[] }>('GET', 'courses')).courses;
  }

  createCourse(course: {
    slug: string;
    title: string;
    term?: string;
    ends_at: string;
  }): Promise<ICourse> {
    return this.req('POST', 'courses', course);
  }

  getCourse(slug: string): Promise<ICourse> {
    return this.req('GET', coursePath(slug));
  }

  async roster(slug: string): Promise<IRosterMember[]> {
    return (await this.req<{ members: IRosterMember[] }>('GET', coursePath(slug, 'roster')))
      .members;
  }

  addToRoster(
    slug: string,
    entries: { names?: string[]; csv?: string; role?: 'student' | 'ta' },
  ): Promise<IRosterChange> {
    return this.req('POST', coursePath(slug, 'roster'), entries);
  }

  async removeFromRoster(slug: string, name: string): Promise<void> {
    await this.req('DELETE', coursePath(slug, 'roster', seg(name)));
  }

  async leave(slug: string): Promise<void> {
    await this.req('POST', coursePath(slug, 'leave'), {});
  }

  makeInvitation(slug: string, hours?: number): Promise<ICourseInvitation> {
    return this.req('POST', coursePath(slug, 'invitation'), hours === undefined ? {} : { hours });
  }

  redeemInvitation(code: string): Promise<ICourse> {
    return this.req('POST', 'course-invitations/redeem', { code });
  }

  async listAssignments(slug: string): Promise<IAssignment[]> {
    return (await this.req<{ assignments: IAssignment[] }>('GET', coursePath(slug, 'assignments')))
      .assignments;
  }

  distribute(slug: string, assignment: INewAssignment): Promise<IAssignment> {
    return this.req('POST', coursePath(slug, 'assignments'), assignment);
  }

  fetchAssignment(slug: string, name: string): Promise<{ path: string }> {
    return this.req('POST', assignmentPath(slug, name, 'fetch'), {});
  }

  submit(slug: string, name: string, from?: IVolumeFolder): Promise<ISubmissionReceipt> {
    return this.req('POST', assignmentPath(slug, name, 'submissions'), from ? { from } : {});
  }

  async listSubmissions(slug: string, name: string): Promise<ISubmission[]> {
    return (
      await this.req<{ submissions: ISubmission[] }>(
        'GET',
        assignmentPath(slug, name, 'submissions'),
      )
    ).submissions;
  }

  collect(slug: string, name: string): Promise<ICollected> {
    return this.req('POST', assignmentPath(slug, name, 'collect'), {});
  }

  returnFeedback(slug: string, name: string, students?: string[]): Promise<IReturned> {
    return this.req('POST', assignmentPath(slug, name, 'return'), students ? { students } : {});
  }

  async setGrade(
    slug: string,
    name: string,
    student: string,
    grade: { score: number | null; comment?: string },
  ): Promise<void> {
    await this.req('PUT', assignmentPath(slug, name, 'grades', seg(student)), grade);
  }

  async grades(slug: string): Promise<IGrade[]> {
    return (await this.req<{ grades: IGrade[] }>('GET', coursePath(slug, 'grades'))).grades;
  }

  async gradesCSV(slug: string): Promise<string> {
    const r = await requestHubRaw(this.settings, 'GET', coursePath(slug, 'grades.csv'), {
      accept: 'text/csv',
    });
    return r.text();
  }
}
