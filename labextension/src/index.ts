import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  coursesClientPlugin,
  filesClientPlugin,
  groupsClientPlugin,
  jobsClientPlugin,
  mydbClientPlugin,
  serversClientPlugin,
  sharesClientPlugin,
  userClientPlugin,
} from './client-plugin.js';
import { coursesPlugin } from './courses/plugin.js';
import { cullingPlugin } from './culling/plugin.js';
import { groupsPlugin } from './groups/plugin.js';
import { jobsPlugin } from './jobs/plugin.js';
import { mydbPlugin } from './mydb/plugin.js';
import { sharingPlugin } from './sharing/plugin.js';
import { statusPlugin } from './status/plugin.js';
import { volumesPlugin } from './volumes/plugin.js';

export {
  CoursesHubClient,
  FilesHubClient,
  HubClient,
  HubError,
  HubQueryError,
  isHubError,
  JobsHubClient,
  MyDBHubClient,
  requestHub,
} from './api.js';
export * from './tokens.js';

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  userClientPlugin,
  groupsClientPlugin,
  serversClientPlugin,
  groupsPlugin,
  statusPlugin,
  cullingPlugin,
  mydbClientPlugin,
  mydbPlugin,
  filesClientPlugin,
  volumesPlugin,
  jobsClientPlugin,
  jobsPlugin,
  sharesClientPlugin,
  sharingPlugin,
  coursesClientPlugin,
  coursesPlugin,
];

export default plugins;
