/**
 * The public surface of the Orrery JupyterLab extension: plugin ids, command ids,
 * the hub client tokens and the hub API types. Later panels depend on this module only.
 */
import { Token } from '@lumino/coreutils';
import type { components, operations } from './hub-api.js';

/** The npm package name; plugin ids are `${EXTENSION_ID}:<name>`. */
export const EXTENSION_ID = '@orrery/labextension';

export const PluginIDs = {
  userClient: `${EXTENSION_ID}:user-client`,
  groupsClient: `${EXTENSION_ID}:groups-client`,
  serversClient: `${EXTENSION_ID}:servers-client`,
  groups: `${EXTENSION_ID}:groups`,
  status: `${EXTENSION_ID}:status`,
  culling: `${EXTENSION_ID}:culling`,
  mydbClient: `${EXTENSION_ID}:mydb-client`,
  mydb: `${EXTENSION_ID}:mydb`,
  filesClient: `${EXTENSION_ID}:files-client`,
  volumes: `${EXTENSION_ID}:volumes`,
  storageStatus: `${EXTENSION_ID}:storage-status`,
  jobsClient: `${EXTENSION_ID}:jobs-client`,
  jobs: `${EXTENSION_ID}:jobs`,
  sharesClient: `${EXTENSION_ID}:shares-client`,
  sharing: `${EXTENSION_ID}:sharing`,
  coursesClient: `${EXTENSION_ID}:courses-client`,
  courses: `${EXTENSION_ID}:courses`,
} as const;

/** Every user action is a command; the panel's buttons and the palette both run these. */
export enum CommandIDs {
  openGroups = 'orrery:open-groups',
  refreshGroups = 'orrery:refresh-groups',
  createGroup = 'orrery:create-group',
  editGroup = 'orrery:edit-group',
  deleteGroup = 'orrery:delete-group',
  leaveGroup = 'orrery:leave-group',
  inviteMember = 'orrery:invite-member',
  acceptInvitation = 'orrery:accept-invitation',
  declineInvitation = 'orrery:decline-invitation',
  promoteMember = 'orrery:promote-member',
  demoteMember = 'orrery:demote-member',
  removeMember = 'orrery:remove-member',
  joinDomain = 'orrery:join-domain',
  leaveDomain = 'orrery:leave-domain',
  keepServerAlive = 'orrery:keep-server-alive',
  openMyDB = 'orrery:mydb-open',
  runQuery = 'orrery:mydb-run',
  submitBatch = 'orrery:mydb-submit',
  saveToMyDB = 'orrery:mydb-save',
  plotResult = 'orrery:mydb-plot',
  openInNotebook = 'orrery:mydb-open-in-notebook',
  importTable = 'orrery:mydb-import',
  exportTable = 'orrery:mydb-export',
  dropTable = 'orrery:mydb-drop',
  refreshMyDB = 'orrery:mydb-refresh',
  cancelBatch = 'orrery:mydb-cancel-batch',
  loadFromHistory = 'orrery:mydb-load-history',
  rerunFromHistory = 'orrery:mydb-rerun-history',
  openVolumes = 'orrery:volumes-open',
  refreshVolumes = 'orrery:volumes-refresh',
  createVolume = 'orrery:volumes-create',
  renameVolume = 'orrery:volumes-rename',
  describeVolume = 'orrery:volumes-describe',
  deleteVolume = 'orrery:volumes-delete',
  shareVolume = 'orrery:volumes-share',
  shareFolderVolume = 'orrery:volumes-share-folder',
  redeemVolumeCode = 'orrery:volumes-redeem',
  runAsJob = 'orrery:jobs-run-notebook',
  openJobs = 'orrery:jobs-open',
  refreshJobs = 'orrery:jobs-refresh',
  showJobLog = 'orrery:jobs-show-log',
  openJobNotebook = 'orrery:jobs-open-notebook',
  openJobOutput = 'orrery:jobs-open-output',
  cancelJob = 'orrery:jobs-cancel',
  resubmitJob = 'orrery:jobs-resubmit',
  shareServer = 'orrery:share-server',
  openSharedServers = 'orrery:shared-servers-open',
  refreshSharedServers = 'orrery:shared-servers-refresh',
  openCourses = 'orrery:courses-open',
  refreshCourses = 'orrery:courses-refresh',
  createCourse = 'orrery:courses-create',
  selectCourse = 'orrery:courses-select',
  addStudents = 'orrery:courses-add-students',
  addTA = 'orrery:courses-add-ta',
  removeFromRoster = 'orrery:courses-remove-member',
  makeInvitation = 'orrery:courses-make-invitation',
  copyInvitationLink = 'orrery:courses-copy-invitation',
  joinCourse = 'orrery:courses-join',
  leaveCourse = 'orrery:courses-leave',
  distribute = 'orrery:courses-distribute',
  collect = 'orrery:courses-collect',
  returnFeedback = 'orrery:courses-return',
  gradeStudent = 'orrery:courses-grade',
  exportGrades = 'orrery:courses-export-grades',
  fetchAssignment = 'orrery:courses-fetch',
  submitAssignment = 'orrery:courses-submit',
  openFeedback = 'orrery:courses-open-feedback',
}

/** Arguments the group commands accept; missing ones are asked for in a dialog. */
export interface IGroupCommandArgs {
  groupId?: string;
  username?: string;
  role?: InvitableRole;
  invitationId?: string;
  domainId?: string;
}

// ---------------------------------------------------------------------------
// Hub API types: names for the generated types of the hub's OpenAPI document
// (`hub-api.ts`, rewritten by `npm run contract`), so they cannot drift from the hub.
// ---------------------------------------------------------------------------

/** The JSON body of an operation's answer with status `S`. */
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type HubAnswer<
  Op extends keyof operations,
  S extends keyof operations[Op]['responses'] = 200 & keyof operations[Op]['responses'],
> = JsonOf<operations[Op]['responses'][S]>;

export type IHubUser = HubAnswer<'GET /user'>;
export type IUserName = { name: string };

/** One server in the user model (JupyterHub's server model; "" names the default server). */
export type IServerInfo = NonNullable<HubAnswer<'GET /users/:name'>['servers']>[string];
/** What the hub offers for compute; the culler's settings among them. */
export type IComputeInfo = HubAnswer<'GET /compute'>;

export type IGroupSummary = HubAnswer<'GET /groups'>['groups'][number];
export type IGroupDetail = HubAnswer<'GET /groups/:id'>;
export type IGroupMember = IGroupDetail['members'][number];
export type ISubgroup = IGroupDetail['subgroups'][number];
export type ISentInvitation = IGroupDetail['invitations'][number];
/** An invitation addressed to me. */
export type IInvitation = HubAnswer<'GET /invitations'>['invitations'][number];
export type IDomain = HubAnswer<'GET /domains'>['domains'][number];

export type GroupRole = IGroupSummary['role'];
/** Roles that can be given by invitation or by promotion; ownership is not transferable here. */
export type InvitableRole = ISentInvitation['role'];
export type GroupKind = IGroupSummary['kind'];

/** Ids in request paths: numbers from the hub, strings from command arguments. */
export type HubId = string | number;

/** Every hub error body. */
export type IHubErrorBody = components['schemas']['Error'];

// ---------------------------------------------------------------------------
// Hub clients, one per feature: a panel depends on the clients it uses only.
// `api.ts` implements them over the Jupyter server's `/orrery/hub/` proxy; unit
// tests implement them in memory. Every method rejects with a `HubError` (from
// `api.ts`) carrying the hub's status, code and message.
// ---------------------------------------------------------------------------

/** Who is signed in, and user look-up. */
export interface IUserClient {
  currentUser(): Promise<IHubUser>;
  searchUsers(prefix: string, limit?: number): Promise<IUserName[]>;
}

/** Groups, invitations and science domains. */
export interface IGroupsClient {
  listGroups(): Promise<IGroupSummary[]>;
  getGroup(id: HubId): Promise<IGroupDetail>;
  createGroup(name: string, description: string): Promise<IGroupSummary>;
  updateGroup(id: HubId, patch: { name?: string; description?: string }): Promise<void>;
  deleteGroup(id: HubId): Promise<void>;

  invite(groupId: HubId, username: string, role: InvitableRole): Promise<void>;
  listInvitations(): Promise<IInvitation[]>;
  acceptInvitation(id: HubId): Promise<void>;
  declineInvitation(id: HubId): Promise<void>;

  setMemberRole(groupId: HubId, username: string, role: InvitableRole): Promise<void>;
  /** Removes a member; removing oneself is leaving the group. */
  removeMember(groupId: HubId, username: string): Promise<void>;

  listDomains(): Promise<IDomain[]>;
  joinDomain(id: HubId): Promise<void>;
  leaveDomain(id: HubId): Promise<void>;
}

/** This user's servers: what compute offers, a server's state, keeping it alive. */
export interface IServersClient {
  computeInfo(): Promise<IComputeInfo>;
  serverInfo(user: string, server: string): Promise<IServerInfo>;
  /** Counts as activity now, postponing the idle stop; returns the new state. */
  keepServerAlive(user: string, server: string): Promise<IServerInfo>;
}

/** A share of a server (JupyterHub 5's share model): to a user or a group, with its scopes. */
export type IServerShare = HubAnswer<'GET /shares/:name/:server'>['items'][number];
/** A live share code of a server (never the code itself). */
export type IServerShareCode = HubAnswer<'GET /share-codes/:name/:server'>['items'][number];
/** A share code just made: the code and its accept_url, shown once. */
export type IServerShareCodeCreated = HubAnswer<'POST /share-codes/:name/:server', 201>;
/** Who a server is shared with: a user or a group, by name. */
export type ServerSharee = { user: string } | { group: string };

/**
 * Sharing servers (docs/jupyterhub.md, "Sharing a server"). `server` is "" for the default
 * server. `manage` adds start and stop (JupyterHub's `servers` scope) to access.
 */
export interface ISharesClient {
  listServerShares(owner: string, server: string): Promise<IServerShare[]>;
  shareServer(
    owner: string,
    server: string,
    sharee: ServerSharee,
    manage: boolean,
  ): Promise<IServerShare>;
  unshareServer(owner: string, server: string, sharee: ServerSharee): Promise<void>;
  listServerShareCodes(owner: string, server: string): Promise<IServerShareCode[]>;
  createServerShareCode(
    owner: string,
    server: string,
    expiresInSeconds: number,
    manage: boolean,
  ): Promise<IServerShareCodeCreated>;
  revokeServerShareCode(owner: string, server: string, id: number): Promise<void>;
  /** The servers shared with `user` (me), directly or through my groups. */
  sharedWithMe(user: string): Promise<IServerShare[]>;
}

export const ISharesClient = new Token<ISharesClient>(
  `${EXTENSION_ID}:ISharesClient`,
  'Sharing Orrery servers, and the servers shared with me, through the Jupyter server.',
);

export const IUserClient = new Token<IUserClient>(
  `${EXTENSION_ID}:IUserClient`,
  'The signed-in Orrery user and user look-up, through the Jupyter server.',
);

export const IGroupsClient = new Token<IGroupsClient>(
  `${EXTENSION_ID}:IGroupsClient`,
  'Orrery groups, invitations and science domains, through the Jupyter server.',
);

export const IServersClient = new Token<IServersClient>(
  `${EXTENSION_ID}:IServersClient`,
  'The Orrery servers of the signed-in user, through the Jupyter server.',
);

// ---------------------------------------------------------------------------
// MyDB (docs/mydb.md). The routes the hub already serves are typed from hub-api.ts; the
// ones of this wave's contract that are not generated yet (batch, history, into, import,
// export) are written here as the contract gives them, until `npm run contract` has them.
// ---------------------------------------------------------------------------

export type IMyDBContext = HubAnswer<'GET /mydb/contexts'>[number];
export type IMyDBTable = HubAnswer<'GET /mydb/contexts/:context/tables'>[number];
export type IMyDBColumn = IMyDBTable['columns'][number];
/** The JSON answer of a quick query. */
/** A quick query's rows (the answer without `into`; with it, the hub answers `ISavedResult`). */
export type IQuickQueryJSON = Extract<HubAnswer<'POST /users/:name/mydb/query'>, { rows: unknown }>;

/** A quick query's request body (contract: `context`, `session` and `into` are additions). */
export interface IQuickQueryRequest {
  sql: string;
  context?: string;
  max_rows?: number;
  timeout_seconds?: number;
  session?: string;
  into?: string;
}

/** A quick query's answer in the format the hub chose (Arrow when it offers it). */
export type IQuickQueryAnswer =
  | { format: 'json'; body: IQuickQueryJSON }
  | { format: 'arrow'; bytes: Uint8Array; truncated: boolean | null };

/** The answer of a quick query with `into`. */
export interface ISavedResult {
  table: string;
  row_count: number;
  elapsed_ms: number;
}

export type BatchStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

/** An error of a query; `position` is PostgreSQL's 1-based character offset in the SQL. */
export interface IQueryError {
  message: string;
  position?: number | null;
}

export interface IBatchQuery {
  id: number;
  sql: string;
  context: string;
  table: string;
  status: BatchStatus;
  queue_position: number | null;
  submitted_at: string;
  started_at: string | null;
  finished_at: string | null;
  row_count: number | null;
  error: IQueryError | null;
}

export interface IHistoryEntry {
  id: number | string;
  kind: 'quick' | 'batch';
  sql: string;
  context: string;
  session: string | null;
  submitted_at: string;
  duration_ms: number | null;
  row_count: number | null;
  status: 'running' | 'finished' | 'failed' | 'cancelled' | 'timed_out' | 'queued';
  /** The hub's message for a query that failed (a string, as the contract's HistoryEntry). */
  error: string | null;
  table: string | null;
}

export type ExportFormat = 'csv' | 'votable' | 'fits' | 'parquet';
export type ImportFormat = 'csv' | 'votable' | 'fits';

export interface IImportResult {
  table: string;
  row_count: number;
  columns: { name: string; type: string }[];
}

/** MyDB: contexts, the schema browser, queries, batch jobs, history, tables in and out. */
export interface IMyDBClient {
  contexts(): Promise<IMyDBContext[]>;
  tables(context: string): Promise<IMyDBTable[]>;
  /** A quick query; asks for Arrow and takes JSON from hubs that do not offer it. */
  query(user: string, request: IQuickQueryRequest): Promise<IQuickQueryAnswer>;
  /** A quick query whose result becomes MyDB table `request.into`. */
  saveInto(user: string, request: IQuickQueryRequest & { into: string }): Promise<ISavedResult>;
  submitBatch(
    user: string,
    request: { sql: string; context?: string; table?: string },
  ): Promise<IBatchQuery>;
  listBatch(user: string, limit?: number): Promise<{ queries: IBatchQuery[]; total: number }>;
  getBatch(user: string, id: HubId): Promise<IBatchQuery>;
  cancelBatch(user: string, id: HubId): Promise<IBatchQuery>;
  history(
    user: string,
    options?: { q?: string; limit?: number; offset?: number },
  ): Promise<{ queries: IHistoryEntry[]; total: number }>;
  exportTable(user: string, table: string, format: ExportFormat): Promise<Blob>;
  importTable(
    user: string,
    table: string,
    format: ImportFormat,
    file: Blob,
  ): Promise<IImportResult>;
  dropTable(user: string, table: string): Promise<void>;
}

export const IMyDBClient = new Token<IMyDBClient>(
  `${EXTENSION_ID}:IMyDBClient`,
  'Orrery MyDB: contexts, tables, queries and batch jobs, through the Jupyter server.',
);

// ---------------------------------------------------------------------------
// Files: volumes, their shares and invite codes, usage (docs/files.md).
// ---------------------------------------------------------------------------

export type IVolumeList = HubAnswer<'GET /volumes'>;
/** A volume I may read: mine, shared with me, or a data volume. */
export type IVolumeInfo = IVolumeList['volumes'][number];
/** My usage of one root volume (Storage, Temporary). */
export type IRootUsage = IVolumeList['usage'][number];
export type IVolume = HubAnswer<'POST /volumes/:root', 201>;
export type IVolumeShare = HubAnswer<'GET /volumes/:root/:owner/:volume/shares'>['shares'][number];
export type ShareAccess = IVolumeShare['access'];
export type IVolumeLink = HubAnswer<'GET /volumes/:root/:owner/:volume/links'>['links'][number];
export type IVolumeLinkCreated = HubAnswer<'POST /volumes/:root/:owner/:volume/links', 201>;
export type IRedeemed = HubAnswer<'POST /volume-links/redeem'>;
export type IUserUsage = HubAnswer<'GET /users/:name/files/usage'>;

/** A volume's address: `<root>/<owner>/<volume>`, as in its mount path and its routes. */
export interface IVolumeRef {
  root: string;
  owner: string;
  volume: string;
}

/** A share's grantee: a user by name or a group by id. */
export type Sharee = { user: string } | { group: number };

/** Volumes, sharing, invite codes and usage. */
export interface IFilesClient {
  listVolumes(): Promise<IVolumeList>;
  createVolume(root: string, name: string, description?: string): Promise<IVolume>;
  updateVolume(ref: IVolumeRef, patch: { name?: string; description?: string }): Promise<IVolume>;
  deleteVolume(ref: IVolumeRef): Promise<void>;
  listShares(ref: IVolumeRef): Promise<IVolumeShare[]>;
  share(ref: IVolumeRef, sharee: Sharee, access: ShareAccess): Promise<void>;
  unshare(ref: IVolumeRef, sharee: Sharee): Promise<void>;
  listLinks(ref: IVolumeRef): Promise<IVolumeLink[]>;
  createLink(ref: IVolumeRef, expiresInHours: number): Promise<IVolumeLinkCreated>;
  revokeLink(ref: IVolumeRef, id: number): Promise<void>;
  redeem(code: string): Promise<IRedeemed>;
  usage(user: string): Promise<IUserUsage>;
}

export const IFilesClient = new Token<IFilesClient>(
  `${EXTENSION_ID}:IFilesClient`,
  'Orrery volumes, their shares and invite codes, and usage, through the Jupyter server.',
);

// ---------------------------------------------------------------------------
// Batch jobs (docs/jobs.md): the answers are the generated types; the request is written out
// so that only notebook jobs are submitted from here.
// ---------------------------------------------------------------------------

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
export type JobKind = 'command' | 'notebook';

/** A parameter value as papermill takes it: anything JSON. */
export type JobParameterValue =
  | string
  | number
  | boolean
  | null
  | JobParameterValue[]
  | { [name: string]: JobParameterValue };
export type JobParameters = { [name: string]: JobParameterValue };

/** A job as the hub answers it (generated from the hub's OpenAPI document). */
export type IJob = HubAnswer<'GET /users/:name/jobs/:id'>;

/** What a notebook job is submitted with; the hub fills in what is left out. */
export interface INotebookJobRequest {
  notebook: string;
  parameters?: JobParameters;
  image?: string;
  domain?: string;
  working_dir?: string;
  cpus?: number;
  memory_mb?: number;
  time_limit_seconds?: number;
  idempotency_key?: string;
}

/**
 * A notebook sweep: one job per parameter set, from one definition (`POST /jobs/sweeps`, all
 * queued or none). Each set is its job's `parameters`.
 */
export interface INotebookSweepRequest
  extends Omit<INotebookJobRequest, 'parameters' | 'idempotency_key'> {
  parameter_sets: JobParameters[];
}

/** A queued sweep: its id and its jobs, in the sets' order. */
export interface ISweep {
  sweep_id: string;
  jobs: IJob[];
}

/** Logs after the given byte offsets, and the offsets to ask with next. */
export type IJobLogs = HubAnswer<'GET /users/:name/jobs/:id/logs'>;

/** Jobs: submit, list, follow, cancel, resubmit. */
export interface IJobsClient {
  submitNotebook(user: string, request: INotebookJobRequest): Promise<IJob>;
  submitSweep(user: string, request: INotebookSweepRequest): Promise<ISweep>;
  listJobs(user: string, limit?: number): Promise<IJob[]>;
  getJob(user: string, id: HubId): Promise<IJob>;
  cancelJob(user: string, id: HubId): Promise<IJob>;
  resubmitJob(user: string, id: HubId): Promise<IJob>;
  logs(user: string, id: HubId, offsets?: { stdout: number; stderr: number }): Promise<IJobLogs>;
}

export const IJobsClient = new Token<IJobsClient>(
  `${EXTENSION_ID}:IJobsClient`,
  'Orrery batch jobs: submit notebooks, follow their status and logs, through the Jupyter server.',
);

// ---------------------------------------------------------------------------
// Courses (issue #13, docs/courses.md): answers are the generated types of the hub's routes;
// requests are written out.
// ---------------------------------------------------------------------------

export type ICourse = HubAnswer<'GET /courses/:slug'>;
export type CourseRole = ICourse['role'];
export type IRosterMember = HubAnswer<'GET /courses/:slug/roster'>['members'][number];
export type IRosterChange = HubAnswer<'POST /courses/:slug/roster'>;
export type ICourseInvitation = HubAnswer<'POST /courses/:slug/invitation', 201>;
export type IAssignment = HubAnswer<'GET /courses/:slug/assignments'>['assignments'][number];
export type AssignmentMode = IAssignment['mode'];
/** A student's own state of an assignment. */
export type IMyAssignment = NonNullable<IAssignment['mine']>;
export type IAssignmentCounts = NonNullable<IAssignment['counts']>;
export type ISubmissionReceipt = HubAnswer<
  'POST /courses/:slug/assignments/:name/submissions',
  201
>;
export type ISubmission =
  HubAnswer<'GET /courses/:slug/assignments/:name/submissions'>['submissions'][number];
export type ICollected = HubAnswer<'POST /courses/:slug/assignments/:name/collect'>;
export type IReturned = HubAnswer<'POST /courses/:slug/assignments/:name/return'>;
export type IGrade = HubAnswer<'GET /courses/:slug/grades'>['grades'][number];

/** A folder in a volume: where assignments come from, submissions are taken, collections go. */
export interface IVolumeFolder {
  root: string;
  owner: string;
  volume: string;
  path: string;
}

export interface INewAssignment {
  name: string;
  title?: string;
  source: IVolumeFolder;
  mode: AssignmentMode;
  release_at?: string;
  due_at?: string;
}

/** Courses: roster, invitation codes, assignments, submissions, collection, grades. */
export interface ICoursesClient {
  listCourses(): Promise<ICourse[]>;
  createCourse(course: {
    slug: string;
    title: string;
    term?: string;
    ends_at: string;
  }): Promise<ICourse>;
  getCourse(slug: string): Promise<ICourse>;

  roster(slug: string): Promise<IRosterMember[]>;
  addToRoster(
    slug: string,
    entries: { names?: string[]; csv?: string; role?: 'student' | 'ta' },
  ): Promise<IRosterChange>;
  removeFromRoster(slug: string, name: string): Promise<void>;
  leave(slug: string): Promise<void>;
  makeInvitation(slug: string, hours?: number): Promise<ICourseInvitation>;
  redeemInvitation(code: string): Promise<ICourse>;

  listAssignments(slug: string): Promise<IAssignment[]>;
  distribute(slug: string, assignment: INewAssignment): Promise<IAssignment>;
  fetchAssignment(slug: string, name: string): Promise<{ path: string }>;
  submit(slug: string, name: string, from?: IVolumeFolder): Promise<ISubmissionReceipt>;
  listSubmissions(slug: string, name: string): Promise<ISubmission[]>;
  collect(slug: string, name: string): Promise<ICollected>;
  returnFeedback(slug: string, name: string, students?: string[]): Promise<IReturned>;
  setGrade(
    slug: string,
    name: string,
    student: string,
    grade: { score: number | null; comment?: string },
  ): Promise<void>;
  grades(slug: string): Promise<IGrade[]>;
  gradesCSV(slug: string): Promise<string>;
}

export const ICoursesClient = new Token<ICoursesClient>(
  `${EXTENSION_ID}:ICoursesClient`,
  'Orrery courses: roster, assignments, submissions and grades, through the Jupyter server.',
);
