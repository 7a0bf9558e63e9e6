import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  CoursesHubClient,
  FilesHubClient,
  HubClient,
  JobsHubClient,
  MyDBHubClient,
} from './api.js';
import {
  ICoursesClient,
  IFilesClient,
  IGroupsClient,
  IJobsClient,
  IMyDBClient,
  IServersClient,
  ISharesClient,
  IUserClient,
  PluginIDs,
} from './tokens.js';

const clientOf = (app: JupyterFrontEnd) => new HubClient(app.serviceManager.serverSettings);

/** The signed-in user and user look-up, for every panel that shows or picks users. */
export const userClientPlugin: JupyterFrontEndPlugin<IUserClient> = {
  id: PluginIDs.userClient,
  description: 'The Orrery user client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IUserClient,
  activate: clientOf,
};

/** Groups, invitations and science domains, for the Groups panel. */
export const groupsClientPlugin: JupyterFrontEndPlugin<IGroupsClient> = {
  id: PluginIDs.groupsClient,
  description: 'The Orrery groups client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IGroupsClient,
  activate: clientOf,
};

/** The user's servers, for the idle-stop warning. */
export const serversClientPlugin: JupyterFrontEndPlugin<IServersClient> = {
  id: PluginIDs.serversClient,
  description: 'The Orrery servers client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IServersClient,
  activate: clientOf,
};

/** Sharing this server, and the servers shared with me. */
export const sharesClientPlugin: JupyterFrontEndPlugin<ISharesClient> = {
  id: PluginIDs.sharesClient,
  description: 'The Orrery sharing client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: ISharesClient,
  activate: clientOf,
};

/** MyDB: contexts, tables, queries, batch jobs, history, for the MyDB panel. */
export const mydbClientPlugin: JupyterFrontEndPlugin<IMyDBClient> = {
  id: PluginIDs.mydbClient,
  description: 'The Orrery MyDB client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IMyDBClient,
  activate: (app: JupyterFrontEnd) => new MyDBHubClient(app.serviceManager.serverSettings),
};

/** Volumes, sharing and usage, for the Volumes panel and the storage status item. */
export const filesClientPlugin: JupyterFrontEndPlugin<IFilesClient> = {
  id: PluginIDs.filesClient,
  description: 'The Orrery files client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IFilesClient,
  activate: (app: JupyterFrontEnd) => new FilesHubClient(app.serviceManager.serverSettings),
};

/** Batch jobs, for the Run-as-job dialog and the Jobs panel. */
export const jobsClientPlugin: JupyterFrontEndPlugin<IJobsClient> = {
  id: PluginIDs.jobsClient,
  description: 'The Orrery jobs client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IJobsClient,
  activate: (app: JupyterFrontEnd) => new JobsHubClient(app.serviceManager.serverSettings),
};

/** Courses, for the Course panel. */
export const coursesClientPlugin: JupyterFrontEndPlugin<ICoursesClient> = {
  id: PluginIDs.coursesClient,
  description: 'The Orrery courses client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: ICoursesClient,
  activate: (app: JupyterFrontEnd) => new CoursesHubClient(app.serviceManager.serverSettings),
};
