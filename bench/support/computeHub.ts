/**
 * The hub of the compute benchmark, run as a child process (`fork` with an IPC channel) so that
 * its CPU and memory are its own: the load generator does not share its event loop, and its
 * RSS can be read from /proc/<pid>/status. The parent sends the configuration over IPC (never
 * on the command line: it holds the hub's secret key) and may ask for a garbage collection.
 *
 * Messages in:  {type: 'start', config} | {type: 'gc'} | {type: 'route', owner, server, url} | {type: 'stop'}
 * Messages out: {type: 'started', url} | {type: 'gc', heapUsed} | {type: 'routed'} | {type: 'stopped'} | {type: 'error', message}
 */

import { computeModule } from '../../hub/src/compute/module.ts';
import type { HubConfig } from '../../hub/src/config.ts';
import { type RunningHub, startHub } from '../../hub/src/server.ts';

export type HubRequest =
  | { type: 'start'; config: HubConfig }
  | { type: 'gc' }
  | { type: 'route'; owner: string; server: string; url: string }
  | { type: 'stop' };
export type HubReply =
  | { type: 'started'; url: string }
  | { type: 'gc'; heapUsed: number }
  | { type: 'routed' }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

const send = (reply: HubReply) => process.send?.(reply);
let running: RunningHub | undefined;

process.on('message', (message: HubRequest) => {
  void (async () => {
    try {
      if (message.type === 'start') {
        running = await startHub(message.config);
        send({ type: 'started', url: running.url });
      } else if (message.type === 'gc') {
        (globalThis as { gc?: () => void }).gc?.();
        send({ type: 'gc', heapUsed: process.memoryUsage().heapUsed });
      } else if (message.type === 'route') {
        // Point the proxy's route at another upstream address (the container's own address on
        // the user network instead of the published port), to measure the proxy without
        // docker-proxy behind it. Only the route's URL changes.
        const routes = running!.modules.serviceOf(computeModule).routes;
        const route = routes.lookup(message.owner, message.server);
        if (!route) throw new Error(`no route ${message.owner}/${message.server}`);
        routes.set({
          id: route.serverId,
          userId: route.userId,
          ownerSafeName: route.ownerSafeName,
          name: route.serverName,
          image: route.image,
          url: message.url,
          startedAt: route.startedAt,
        });
        send({ type: 'routed' });
      } else if (message.type === 'stop') {
        await running?.close();
        send({ type: 'stopped' });
        process.disconnect();
      }
    } catch (err) {
      send({
        type: 'error',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  })();
});
// The parent going away must not leave a hub behind.
process.on('disconnect', () => {
  void (running?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
