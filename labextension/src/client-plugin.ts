import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { HubClient } from './api.js';
import { IHubClient, PluginIDs } from './tokens.js';

/** Provides the hub client to every Orrery panel. */
export const hubClientPlugin: JupyterFrontEndPlugin<IHubClient> = {
  id: PluginIDs.hubClient,
  description: 'The Orrery hub client, reaching the hub through the Jupyter server.',
  autoStart: true,
  provides: IHubClient,
  activate: (app: JupyterFrontEnd): IHubClient => new HubClient(app.serviceManager.serverSettings),
};
