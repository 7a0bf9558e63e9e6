/**
 * The idle-stop warning: when the hub is about to stop this server for being idle, a
 * notification counts down and offers to keep the server running (SciServer stops idle
 * containers after days; users asked to be warned first). Only active in a hub-spawned
 * server, whose token names its server.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { isHubError } from '../api.js';
import { CommandIDs, type IServerInfo, IServersClient, IUserClient, PluginIDs } from '../tokens.js';
import { formatDuration, nextCheckSeconds, secondsUntilCull } from './model.js';

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
    let user = '';
    let server = '';
    let warningSeconds = 3600;
    let info: IServerInfo | null = null;
    let notice: string | null = null;
    let ticker: number | undefined;
    let timer: number | undefined;

    const dismiss = () => {
      if (notice) {
        Notification.dismiss(notice);
      }
      notice = null;
      window.clearInterval(ticker);
      ticker = undefined;
    };

    app.commands.addCommand(CommandIDs.keepServerAlive, {
      label: trans.__('Keep This Server Running'),
      caption: trans.__(
        'Count now as activity, so the hub does not stop this server for being idle',
      ),
      isEnabled: () => Boolean(server),
      execute: async () => {
        try {
          info = await client.keepServerAlive(user, server);
          dismiss();
          Notification.success(trans.__('This server will keep running.'), { autoClose: 3000 });
          schedule();
        } catch (e) {
          Notification.error(isHubError(e) ? e.message : String(e));
        }
      },
    });

    const message = (left: number) =>
      trans.__(
        'This server has been idle and will be stopped in %1. Your files are kept.',
        formatDuration(left),
      );

    const show = () => {
      const left = secondsUntilCull(info?.cullAt ?? null, Date.now(), warningSeconds);
      if (left === null) {
        dismiss();
        return;
      }
      const actions = [
        {
          label: trans.__('Keep it running'),
          caption: trans.__('Postpone the idle stop'),
          callback: () => void app.commands.execute(CommandIDs.keepServerAlive),
        },
      ];
      if (notice && Notification.manager.has(notice)) {
        Notification.update({
          id: notice,
          message: message(left),
          type: 'warning',
          autoClose: false,
          actions,
        });
      } else {
        notice = Notification.warning(message(left), { autoClose: false, actions });
      }
    };

    const check = async () => {
      try {
        info = await client.serverInfo(user, server);
      } catch (e) {
        // The server is going away, or the hub is unreachable for a moment: try again later.
        info = null;
      }
      show();
      if (
        secondsUntilCull(info?.cullAt ?? null, Date.now(), warningSeconds) !== null &&
        ticker === undefined
      ) {
        ticker = window.setInterval(show, 1000);
      }
      schedule();
    };

    function schedule(): void {
      window.clearTimeout(timer);
      const wait = nextCheckSeconds(info?.cullAt ?? null, Date.now(), warningSeconds);
      timer = window.setTimeout(() => void check(), wait * 1000);
    }

    void app.restored.then(async () => {
      try {
        const [me, compute] = await Promise.all([users.currentUser(), client.computeInfo()]);
        if (!me.server || !compute.idleCullSeconds) {
          return;
        }
        user = me.name;
        server = me.server;
        warningSeconds = compute.cullWarningSeconds;
        await check();
      } catch {
        // Not behind a hub (a developer's own JupyterLab): nothing to warn about.
      }
    });
  },
};
