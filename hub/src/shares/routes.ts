/**
 * Sharing servers over HTTP, in JupyterHub 5's shapes: `/shares/{user}/{server}` (who a server is
 * shared with), `/share-codes/{user}/{server}` (codes that share it with whoever redeems them),
 * `/users/{name}/shared` (what is shared with me; redeem a code; leave a share). As in
 * JupyterHub, the default server is `/shares/{user}/` (the path without a server name).
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { Request } from 'express';
import { userNamed } from '../accounts/service.ts';
import { selfOnly, selfOrAdmin } from '../auth/guards.ts';
import type { Principal } from '../auth/principal.ts';
import { ServerName } from '../compute/routes.ts';
import { HttpError } from '../http/errors.ts';
import { type Guard, type RouteDef, routesOf } from '../http/route.ts';
import { NoQuery, Strict, Username } from '../http/schemas.ts';
import { actionsOf, GRANT } from '../racm/store.ts';
import { Share, ShareCodeCreated, ShareCodeList, ShareList } from './responses.ts';
import { type Actor, MAX_CODE_SECONDS, type SharesService } from './service.ts';
import { findServerResource } from './store.ts';

const route = routesOf<SharesService>();

const ServerParams = Strict({ name: Username, server: ServerName });
const OwnerParams = Strict({ name: Username });
const SharedParams = Strict({ name: Username, owner: Username, server: ServerName });
const SharedOwnerParams = Strict({ name: Username, owner: Username });

const actorOf = (caller: Principal, req: Request): Actor => ({
  user: caller.user,
  // A server's own token acts for its owner only, never with the owner's admin powers.
  admin: caller.scopes.has('admin') && caller.serverName === undefined,
  address: req.ip ?? null,
});

/**
 * The caller may share the server `:name/:server`: they own it, or hold RACM `grant` on its
 * `Server` resource; with `admins`, a platform admin passes too (to see and take back shares).
 * Someone it is not shared with is told it does not exist.
 */
const serverGrant = (admins: boolean): Guard => ({
  describe: admins
    ? 'the server’s owner, RACM "grant" on its Server resource, or a platform admin'
    : 'the server’s owner, or RACM "grant" on its Server resource',
  async check({ hub, caller, params }) {
    if (params.name === caller.user.name) return;
    if (admins && caller.scopes.has('admin') && caller.serverName === undefined) return;
    const owner = await userNamed(hub.db, params.name as string).catch(() => undefined);
    const resource =
      owner && (await findServerResource(hub.db, owner, (params.server as string) ?? ''));
    const held = resource ? await actionsOf(hub.db, caller.user.id, resource.id) : [];
    hub.events.emit('racmCheck', {
      outcome: held.includes(GRANT) ? 'allowed' : 'denied',
      via: 'guard',
    });
    if (held.length === 0) throw new HttpError(404, 'No such server shared with you');
    if (!held.includes(GRANT))
      throw new HttpError(403, 'Only the owner (or someone they let) shares this server');
  },
});

/** A route for the default server (`/…/:name`) and for named ones (`/…/:name/:server`). */
function forEachServer<B extends TSchema, Q extends TSchema>(
  path: string,
  def: Omit<RouteDef<B, Q, typeof ServerParams, SharesService>, 'params' | 'path'>,
) {
  const withName = { ...def, jupyterhub: true };
  return [
    route({ ...withName, path, params: OwnerParams as never }),
    route({ ...withName, path: `${path}/:server`, params: ServerParams }),
  ];
}

const serverOf = (params: { server?: string }) => params.server ?? '';

const ShareBody = Type.Union([
  Strict({
    user: Username,
    scopes: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 })),
  }),
  Strict({
    group: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 })),
  }),
]);
const SCOPES_DOC =
  'scopes: "access:servers" (always given) and "servers" (start and stop), unfiltered or filtered to the server ("!server=alice/")';

export const shareRoutes = [
  ...forEachServer('/shares/:name', {
    method: 'get',
    tag: 'shares',
    summary: 'Who the server is shared with: users and groups, with their scopes',
    access: { scope: 'read:shares', guard: serverGrant(true) },
    response: ShareList,
    lab: true,
    query: NoQuery,
    async handler({ hub, service, caller, req, params }) {
      const owner = await userNamed(hub.db, params.name);
      return { items: await service.list(actorOf(caller!, req), owner, serverOf(params)) };
    },
  }),
  ...forEachServer('/shares/:name', {
    method: 'post',
    tag: 'shares',
    summary: `Share the server with a user or a group (${SCOPES_DOC}); adds to an existing share`,
    access: { scope: 'shares', guard: serverGrant(false) },
    response: Share,
    body: ShareBody,
    lab: true,
    query: NoQuery,
    async handler({ hub, service, caller, req, params, body }) {
      const owner = await userNamed(hub.db, params.name);
      return service.share(actorOf(caller!, req), owner, serverOf(params), body);
    },
  }),
  ...forEachServer('/shares/:name', {
    method: 'patch',
    tag: 'shares',
    summary:
      'Take back scopes of one user’s or group’s share (all of it without scopes; "servers" alone leaves access)',
    access: { scope: 'shares', guard: serverGrant(true) },
    body: ShareBody,
    status: 204,
    lab: true,
    query: NoQuery,
    async handler({ hub, service, caller, req, params, body }) {
      const owner = await userNamed(hub.db, params.name);
      await service.revoke(actorOf(caller!, req), owner, serverOf(params), body);
    },
  }),
  ...forEachServer('/shares/:name', {
    method: 'delete',
    tag: 'shares',
    summary: 'Take back every share of the server (codes stay until revoked or expired)',
    access: { scope: 'shares', guard: serverGrant(true) },
    status: 204,
    lab: true,
    query: NoQuery,
    async handler({ hub, service, caller, req, params }) {
      const owner = await userNamed(hub.db, params.name);
      await service.revokeAll(actorOf(caller!, req), owner, serverOf(params));
    },
  }),
  ...forEachServer('/share-codes/:name', {
    method: 'get',
    tag: 'shares',
    summary: 'The server’s live share codes (never the codes themselves)',
    access: { scope: 'read:shares', guard: serverGrant(true) },
    response: ShareCodeList,
    lab: true,
    query: NoQuery,
    async handler({ hub, service, caller, req, params }) {
      const owner = await userNamed(hub.db, params.name);
      return { items: await service.codes(actorOf(caller!, req), owner, serverOf(params)) };
    },
  }),
  ...forEachServer('/share-codes/:name', {
    method: 'post',
    tag: 'shares',
    summary:
      'Make a share code: whoever holds it and is signed in redeems it at accept_url until it expires (default a day)',
    access: { scope: 'shares', guard: serverGrant(false) },
    response: ShareCodeCreated,
    status: 201,
    lab: true,
    query: NoQuery,
    body: Type.Optional(
      Strict({
        expires_in: Type.Optional(
          Type.Integer({ minimum: 60, maximum: MAX_CODE_SECONDS, description: 'seconds' }),
        ),
        scopes: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 })),
      }),
    ),
    async handler({ hub, service, caller, req, params, body }) {
      const owner = await userNamed(hub.db, params.name);
      return service.createCode(actorOf(caller!, req), owner, serverOf(params), body ?? {});
    },
  }),
  ...forEachServer('/share-codes/:name', {
    method: 'delete',
    tag: 'shares',
    summary:
      'Revoke a share code (?id= or ?code=), or every code of the server; shares it made stay',
    access: { scope: 'shares', guard: serverGrant(true) },
    status: 204,
    lab: true,
    query: Strict({
      id: Type.Optional(Type.Integer({ minimum: 1 })),
      code: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    }),
    async handler({ hub, service, caller, req, params, query }) {
      const owner = await userNamed(hub.db, params.name);
      await service.revokeCodes(actorOf(caller!, req), owner, serverOf(params), query);
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/shared',
    tag: 'shares',
    jupyterhub: true,
    summary: 'The servers shared with me, directly or through my groups',
    access: { scope: 'read:users:shares', guard: selfOrAdmin() },
    response: ShareList,
    lab: true,
    params: OwnerParams,
    query: NoQuery,
    async handler({ hub, service, params }) {
      return { items: await service.sharedWithMe(await userNamed(hub.db, params.name)) };
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/shared',
    tag: 'shares',
    summary: 'Redeem a share code: the server is shared with me as the code says',
    access: { scope: 'users:shares', guard: selfOnly() },
    response: Share,
    params: OwnerParams,
    query: NoQuery,
    body: Strict({ code: Type.String({ minLength: 1, maxLength: 200 }) }),
    async handler({ service, caller, req, body }) {
      return service.redeem(actorOf(caller!, req), body.code);
    },
  }),
  ...[
    { path: '/users/:name/shared/:owner', params: SharedOwnerParams },
    { path: '/users/:name/shared/:owner/:server', params: SharedParams },
  ].flatMap(({ path, params: schema }) => [
    route({
      method: 'get',
      path,
      tag: 'shares',
      jupyterhub: true,
      summary: 'One server shared with me',
      access: { scope: 'read:users:shares', guard: selfOrAdmin() },
      response: Share,
      params: schema as typeof SharedParams,
      query: NoQuery,
      async handler({ hub, service, params }) {
        const user = await userNamed(hub.db, params.name);
        const owner = await userNamed(hub.db, params.owner);
        return service.sharedWithMeOne(user, owner, params.server ?? '');
      },
    }),
    route({
      method: 'delete',
      path,
      tag: 'shares',
      jupyterhub: true,
      summary: 'Leave a server shared with me (my own share; a group’s stays the group’s)',
      access: { scope: 'users:shares', guard: selfOnly() },
      params: schema as typeof SharedParams,
      status: 204,
      query: NoQuery,
      async handler({ hub, service, caller, req, params }) {
        const owner = await userNamed(hub.db, params.owner);
        await service.leave(actorOf(caller!, req), owner, params.server ?? '');
      },
    }),
  ]),
];
