/** Users' servers over HTTP: list, start (with streamed progress), stop, keep alive. */
import { Type } from '@sinclair/typebox';
import { userNamed } from '../accounts/service.ts';
import { selfOrAdmin } from '../auth/guards.ts';
import { NotFound } from '../errors.ts';
import { HttpError } from '../http/errors.ts';
import { routesOf } from '../http/route.ts';
import { NameParams, NoQuery, Username } from '../http/schemas.ts';
import type { Hub } from '../hub.ts';
import { mayUse } from '../racm/use.ts';
import { type Compute, serverBaseUrl } from './orchestrator.ts';
import { progressKey } from './progress.ts';
import { ComputeOffer, ProgressEvent, Server, ServerList } from './responses.ts';
import { findServer, type ServerRecord, serversOf, setActivity } from './store.ts';

const ServerName = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
  description: 'lower-case letters, digits and "-"',
});
const ServerParams = Type.Object(
  { name: Username, server: ServerName },
  { additionalProperties: false },
);

// Mounted only on a hub composed with the compute module, which binds its Compute here.
const route = routesOf<Compute>();

function describe(compute: Compute, server: ServerRecord) {
  const url = serverBaseUrl(server.ownerSafeName, server.name);
  return {
    name: server.name,
    image: server.image,
    domain: server.domain,
    status: server.status,
    url,
    progressUrl: `/hub/api/users/${encodeURIComponent(server.owner)}/servers/${server.name}/progress`,
    startedAt: server.startedAt,
    readyAt: server.readyAt,
    lastActivityAt: server.lastActivityAt,
    cullAt: compute.cullAt(server),
  };
}

const noServer = (name: string) => new NotFound('server', `No server named "${name}" is running`);

async function serverOrThrow(hub: Hub, name: string, server: string) {
  const user = await userNamed(hub.db, name);
  const record = await findServer(hub.db, user.id, server);
  if (!record) throw noServer(server);
  return { user, record };
}

export const computeRoutes = [
  route({
    method: 'get',
    path: '/compute',
    tag: 'compute',
    summary: 'What I may start: images, compute domains (the first is the default), limits',
    access: { scope: 'read:servers' },
    response: ComputeOffer,
    lab: true,
    query: NoQuery,
    async handler({ hub, service: compute, caller }) {
      const images: string[] = [];
      for (const image of hub.config.compute.images) {
        if (await mayUse(hub.db, caller!.user.id, 'DockerImage', image)) images.push(image);
      }
      const domains: { name: string; backend: string }[] = [];
      for (const [name, backend] of compute.backends) {
        if (await mayUse(hub.db, caller!.user.id, 'ComputeDomain', name))
          domains.push({ name, backend: backend.kind });
      }
      return {
        domains,
        images,
        maxServers: hub.config.compute.maxServersPerUser,
        idleCullSeconds: hub.config.compute.idleCullSeconds,
        cullWarningSeconds: hub.config.compute.cullWarningSeconds,
        limits: hub.config.compute.limits,
      };
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/servers',
    tag: 'compute',
    summary: 'A user’s servers',
    access: { scope: 'read:servers', guard: selfOrAdmin() },
    response: ServerList,
    params: NameParams,
    query: NoQuery,
    async handler({ hub, service: compute, params }) {
      const user = await userNamed(hub.db, params.name);
      return {
        servers: (await serversOf(hub.db, user.id)).map((server) => describe(compute, server)),
      };
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/servers/:server',
    tag: 'compute',
    summary: 'One server: status, where it answers, when it would be stopped for idleness',
    access: { scope: 'read:servers', guard: selfOrAdmin() },
    response: Server,
    lab: true,
    params: ServerParams,
    query: NoQuery,
    async handler({ hub, service: compute, params }) {
      const { record } = await serverOrThrow(hub, params.name, params.server);
      return describe(compute, record);
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/servers/:server',
    tag: 'compute',
    summary: 'Start a server; follow progressUrl (server-sent events) until it is ready',
    access: { scope: 'servers', guard: selfOrAdmin() },
    response: Server,
    params: ServerParams,
    body: Type.Object(
      {
        image: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
        domain: Type.Optional(
          Type.String({ minLength: 1, maxLength: 64, description: 'default: the first domain' }),
        ),
      },
      { additionalProperties: false },
    ),
    status: 202,
    async handler({ hub, service: compute, params, body }) {
      const user = await userNamed(hub.db, params.name);
      const record = await compute.start(user, params.server, body.image, body.domain);
      return describe(compute, record);
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name/servers/:server',
    tag: 'compute',
    summary: 'Stop a server; its files stay in the workspace',
    access: { scope: 'servers', guard: selfOrAdmin() },
    params: ServerParams,
    status: 204,
    async handler({ hub, service: compute, caller, params }) {
      const { user, record } = await serverOrThrow(hub, params.name, params.server);
      const reason = caller!.user.id === user.id ? 'user' : 'admin';
      await compute.stop(record, reason);
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/servers/:server/keepalive',
    tag: 'compute',
    summary: 'Count now as activity, postponing the idle stop (the “extend” button)',
    access: { scope: 'access:servers', guard: selfOrAdmin() },
    response: Server,
    lab: true,
    params: ServerParams,
    async handler({ hub, service: compute, params }) {
      const { record } = await serverOrThrow(hub, params.name, params.server);
      await setActivity(hub.db, record.id, new Date());
      const { record: fresh } = await serverOrThrow(hub, params.name, params.server);
      return describe(compute, fresh);
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/servers/:server/progress',
    tag: 'compute',
    summary: 'Spawn progress as server-sent events: {progress, message, ready?, failed?, url?}',
    access: { scope: 'read:servers', guard: selfOrAdmin() },
    events: ProgressEvent,
    params: ServerParams,
    query: NoQuery,
    async handler({ hub, service: compute, req, res, caller, params }) {
      const user = await userNamed(hub.db, params.name);
      const record = await findServer(hub.db, user.id, params.server);
      const key = progressKey(user.id, params.server);
      // A spawn that failed has no row, but its events (with the reason) are still kept a while.
      if (!record && !compute.progress.failedRecently(key)) {
        throw noServer(params.server);
      }
      // Each open stream holds a connection and a listener: a user holds only so many at once.
      const release = hub.limits.eventStreamsPerUser.acquire(`user:${caller!.user.id}`);
      if (!release) {
        throw new HttpError(
          429,
          `You have ${hub.config.maxEventStreamsPerUser} progress streams open, the most allowed; close one first`,
        );
      }
      res.on('close', release);
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const send = (event: object) => res.write(`data: ${JSON.stringify(event)}\n\n`);
      const url = serverBaseUrl(user.safeName, params.server);
      const unsubscribe = compute.progress.subscribe(key, (event) => {
        send(event);
        if (event.ready || event.failed) res.end();
      });
      if (!unsubscribe) {
        // Started by an earlier hub process, or long ago: say where it stands.
        send(
          record?.status === 'running'
            ? { progress: 100, message: 'Server ready', ready: true, url }
            : { progress: 50, message: `Server is ${record?.status}` },
        );
        res.end();
        return;
      }
      req.on('close', unsubscribe);
    },
  }),
];
