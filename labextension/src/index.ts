import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  groupsClientPlugin,
  mydbClientPlugin,
  serversClientPlugin,
  userClientPlugin,
} from './client-plugin.js';
import { cullingPlugin } from './culling/plugin.js';
import { groupsPlugin } from './groups/plugin.js';
import { mydbPlugin } from './mydb/plugin.js';
import { statusPlugin } from './status/plugin.js';

export {
  HubClient,
  HubError,
  HubQueryError,
  isHubError,
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
];

export default plugins;
