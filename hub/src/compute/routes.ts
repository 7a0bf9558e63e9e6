/**
 * Users' servers over HTTP, as JupyterHub's REST API has them: start (201 or 202, with
 * streamed progress), stop (204, or 202 while stopping), progress, and the activity
 * jupyterhub-singleuser reports. Each server route exists twice, like JupyterHub's: for the
 * default server (`/users/{name}/server`) and for a named one (`/users/{name}/servers/{server}`).
 * Servers are read in the user model (`GET /users/{name}`, accounts).
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { userNamed } from '../accounts/service.ts';
import { selfAdminOrShared, selfOrAdmin } from '../auth/guards.ts';
import { Invalid, NotFound } from '../errors.ts';
import { HttpError } from '../http/errors.ts';
import { type RouteDef, routesOf } from '../http/route.ts';
import { NameParams, NoQuery, Timestamp, Username } from '../http/schemas.ts';
import type { Hub } from '../hub.ts';
import { mayUse } from '../racm/use.ts';
import type { Compute } from './orchestrator.ts';
import { progressKey } from './progress.ts';
import { ComputeOffer, ProgressEvent } from './responses.ts';
import { ServerModel, serverBaseUrl, serverModel } from './serverModel.ts';
import { findServer, type ServerRecord, setActivity } from './store.ts';

/**
 * As in JupyterHub, a path under `/user/<name>/` goes to the named server its first segment
 * names while that one runs, else to the default server. The one name refused is `api`: a
 * server so named would take the default server's REST API (`/user/<name>/api/…`), which
 * tools call by that path. (A running server named `lab` takes `/user/<name>/lab/…`, the
 * default server's JupyterLab page, as it would in JupyterHub.)
 */
export const ServerName = Type.String({
  pattern: '^(?!api$)[a-z0-9][a-z0-9-]{0,31}$',
  description: 'lower-case letters, digits and "-"; not "api"',
});
const ServerParams = Type.Object(
  { name: Username, server: ServerName },
  { additionalProperties: false },
);

// Mounted only on a hub composed with the compute module, which binds its Compute here.
const route = routesOf<Compute>();

/** The server named in the path: "" on the default server's routes, which have no `server`. */
const serverNameOf = (params: { server?: string }) => params.server ?? '';

/**
 * A server route for the default server and for named ones: `path` is written with
 * `{server}`, which becomes `server` and `servers/:server`.
 */
function forEachServer<B extends TSchema, Q extends TSchema>(
  def: Omit<RouteDef<B, Q, typeof ServerParams, Compute>, 'params'>,
) {
  const named = { ...def, params: ServerParams, jupyterhub: true };
  return [
    route({
      ...named,
      path: def.path.replace('{server}', 'server'),
      params: NameParams as never,
    }),
    route({ ...named, path: def.path.replace('{server}', 'servers/:server') }),
  ];
}

function describe(hub: Hub, caller: { scopes: Set<string> } | null, server: ServerRecord) {
  return serverModel(server, {
    idleCullSeconds: hub.config.compute.idleCullSeconds,
    withState: Boolean(caller?.scopes.has('admin:servers')),
  });
}

const serverLabel = (name: string) => (name === '' ? 'default server' : `server "${name}"`);

/**
 * What a start request may carry: JupyterHub's user_options, kept with the server and shown in
 * its model. Orrery reads `image` and `domain`; anything else (a profile, say) is kept as given.
 */
const UserOptions = Type.Object(
  {
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    domain: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'default: the first domain' }),
    ),
  },
  { additionalProperties: true, maxProperties: 32 },
);

/** JupyterHub refuses activity from more than an hour ahead; so does Orrery. */
function activityTime(value: string): Date {
  const at = new Date(value);
  if (at.getTime() - Date.now() > 59 * 60_000)
    throw new Invalid('future_activity', `Activity from more than an hour in the future: ${value}`);
  return at;
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
      const { limits } = hub.config.compute;
      return {
        domains,
        images,
        max_servers: hub.config.compute.maxServersPerUser,
        idle_cull_seconds: hub.config.compute.idleCullSeconds,
        cull_warning_seconds: hub.config.compute.cullWarningSeconds,
        limits: { memory_bytes: limits.memoryBytes, cpus: limits.cpus, pids: limits.pids },
      };
    },
  }),
  ...forEachServer({
    method: 'post',
    path: '/users/:name/{server}',
    tag: 'compute',
    summary:
      'Start a server (JupyterHub: 202 while it starts, follow progress_url; 400 if it runs or is stopping). The body is its user_options.',
    access: { scope: 'servers', guard: selfAdminOrShared('manage') },
    response: ServerModel,
    body: UserOptions,
    status: 202,
    async handler({ hub, service: compute, caller, params, body }) {
      const user = await userNamed(hub.db, params.name);
      const name = serverNameOf(params);
      const existing = await findServer(hub.db, user.id, name);
      // JupyterHub: a start already pending answers 202 again; running or stopping, 400.
      if (existing?.status === 'starting') return describe(hub, caller, existing);
      if (existing?.status === 'stopping')
        throw new Invalid('server_stopping', `The ${serverLabel(name)} is stopping`);
      const options = (body ?? {}) as { image?: string; domain?: string } & Record<string, unknown>;
      const record = await compute.start(user, name, {
        ...(options.image ? { image: options.image } : {}),
        ...(options.domain ? { domain: options.domain } : {}),
        userOptions: options,
      });
      return describe(hub, caller, record);
    },
  }),
  ...forEachServer({
    method: 'delete',
    path: '/users/:name/{server}',
    tag: 'compute',
    summary:
      'Stop a server; its files stay in the workspace (JupyterHub: 204 stopped, 202 still stopping)',
    access: { scope: 'delete:servers', guard: selfAdminOrShared('manage') },
    body: Type.Optional(
      Type.Object(
        {
          remove: Type.Optional(
            Type.Boolean({
              description:
                'JupyterHub’s "forget the named server"; a stopped server is gone anyway',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    status: 204,
    async handler({ hub, service: compute, res, caller, params, body }) {
      const user = await userNamed(hub.db, params.name);
      const name = serverNameOf(params);
      if (name === '' && body.remove)
        throw new Invalid('default_server', 'The default server cannot be removed');
      const record = await findServer(hub.db, user.id, name);
      // JupyterHub: a default server that is not running is already stopped; a named one unknown.
      if (!record) {
        if (name === '') return;
        throw new NotFound('server', `No server named "${name}"`);
      }
      if (record.status === 'stopping') {
        res.status(202).end();
        return;
      }
      // Someone the server is shared with (to start and stop) stops it as its owner would.
      const reason = caller!.user.id === user.id || !caller!.user.admin ? 'user' : 'admin';
      await compute.stop(record, reason);
    },
  }),
  ...forEachServer({
    method: 'get',
    path: '/users/:name/{server}/progress',
    tag: 'compute',
    summary: 'Spawn progress as server-sent events: {progress, message, ready?, failed?, url?}',
    access: { scope: 'read:servers', guard: selfAdminOrShared('manage') },
    events: ProgressEvent,
    query: NoQuery,
    async handler({ hub, service: compute, req, res, caller, params }) {
      const user = await userNamed(hub.db, params.name);
      const name = serverNameOf(params);
      const record = await findServer(hub.db, user.id, name);
      const key = progressKey(user.id, name);
      // A spawn that failed has no row, but its events (with the reason) are still kept a while.
      if (!record && !compute.progress.failedRecently(key)) {
        throw new NotFound('server', `No ${serverLabel(name)} is running`);
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
      const url = serverBaseUrl(user.safeName, name);
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
  route({
    method: 'post',
    path: '/users/:name/activity',
    jupyterhub: true,
    tag: 'compute',
    summary:
      'Report activity (what jupyterhub-singleuser posts; the lab’s “extend” button): postpones the idle stop',
    access: { scope: 'users:activity', guard: selfOrAdmin() },
    lab: true,
    params: NameParams,
    body: Type.Object(
      {
        last_activity: Type.Optional(Timestamp),
        servers: Type.Optional(
          Type.Record(
            Type.String({ maxLength: 32 }),
            Type.Object({ last_activity: Timestamp }, { additionalProperties: true }),
            { maxProperties: 64 },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    status: 204,
    async handler({ hub, params, body }) {
      const user = await userNamed(hub.db, params.name);
      if (!body.last_activity && !body.servers)
        throw new Invalid('no_activity', 'Send last_activity or servers, or both');
      const updates: { id: number; at: Date }[] = [];
      for (const [name, info] of Object.entries(body.servers ?? {})) {
        const record = await findServer(hub.db, user.id, name);
        if (!record) throw new Invalid('no_such_server', `No ${serverLabel(name)} is running`);
        updates.push({ id: record.id, at: activityTime(info.last_activity) });
      }
      // Orrery keeps activity per server; a user's own last_activity is read from them.
      if (body.last_activity) activityTime(body.last_activity);
      for (const { id, at } of updates) await setActivity(hub.db, id, at);
    },
  }),
];
