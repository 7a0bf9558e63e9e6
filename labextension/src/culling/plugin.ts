/**
 * The idle-stop warning: when the hub is about to stop this server for being idle, a
 * notification counts down and offers to keep the server running (SciServer stops idle
 * containers after days; users asked to be warned first). Only active in a hub-spawned
 * server, whose token names its server. The timing lives in `CullWatcher`; this only wires.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { isHubError } from '../api.js';
import { browserClock } from '../clock.js';
import { CommandIDs, IServersClient, IUserClient, PluginIDs } from '../tokens.js';
import { formatDuration } from './model.js';
import { CullWatcher, type ICullWarning } from './watcher.js';

export const cullingPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.culling,
  description: 'Warns before the hub stops this server for being idle, and can keep it running.',
  autoStart: true,
  requires: [IServersClient, IUserClient],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: IServersClient,
    users: IUserClient,
    translator: ITranslator | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('orrery');
    let watcher: CullWatcher | null = null;

    app.commands.addCommand(CommandIDs.keepServerAlive, {
      label: trans.__('Keep This Server Running'),
      caption: trans.__(
        'Count now as activity, so the hub does not stop this server for being idle',
      ),
      isEnabled: () => watcher !== null,
      execute: async () => {
        try {
          await watcher?.keepAlive();
          Notification.success(trans.__('This server will keep running.'), { autoClose: 3000 });
        } catch (e) {
          Notification.error(isHubError(e) ? e.message : String(e));
        }
      },
    });

    let notice: string | null = null;
    const actions = [
      {
        label: trans.__('Keep it running'),
        caption: trans.__('Postpone the idle stop'),
        callback: () => void app.commands.execute(CommandIDs.keepServerAlive),
      },
    ];
    const warning: ICullWarning = {
      show: (left) => {
        const message = trans.__(
          'This server has been idle and will be stopped in %1. Your files are kept.',
          formatDuration(left),
        );
        if (notice && Notification.manager.has(notice)) {
          Notification.update({ id: notice, message, type: 'warning', autoClose: false, actions });
        } else {
          notice = Notification.warning(message, { autoClose: false, actions });
        }
      },
      hide: () => {
        if (notice) {
          Notification.dismiss(notice);
        }
        notice = null;
      },
    };

    void app.restored.then(async () => {
      try {
        const [me, compute] = await Promise.all([users.currentUser(), client.computeInfo()]);
        // The server whose token asks ("" is the default server); null outside a server.
        if (me.token_server === null || !compute.idle_cull_seconds) {
          return;
        }
        watcher = new CullWatcher({
          client,
          user: me.name,
          server: me.token_server,
          warningSeconds: compute.cull_warning_seconds,
          clock: browserClock,
          warning,
        });
        await watcher.check();
      } catch {
        // Not behind a hub (a developer's own JupyterLab): nothing to warn about.
      }
    });
  },
};
