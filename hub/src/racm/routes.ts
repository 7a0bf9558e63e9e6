/** RACM over HTTP: contexts and types, resources I can use, privileges to grant and revoke. */
import { Type } from '@sinclair/typebox';
import type { Request } from 'express';
import { normaliseUsername } from '../accounts/names.ts';
import { userNamed } from '../accounts/service.ts';
import { recordFor } from '../activity/record.ts';
import { racmAction } from '../auth/guards.ts';
import { inTransaction, type Queryable } from '../db/pool.ts';
import { findGroup, roleIn } from '../groups/store.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Id, IdParams, NoQuery, Username } from '../http/schemas.ts';
import {
  CheckAnswer,
  ContextList,
  Granted,
  NewResource,
  ResourceDetail,
  ResourceList,
} from './responses.ts';
import {
  actionsOf,
  deleteResource,
  findPrivilege,
  findResource,
  GRANT,
  grant,
  listAllowed,
  listContexts,
  listPrivileges,
  may,
  registerContext,
  registerResource,
  resourceType,
  revoke,
} from './store.ts';

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z][A-Za-z0-9_.:-]*$' });
const ResourceName = Type.String({ minLength: 1, maxLength: 500 });

/** Record a privilege given or taken back, in the transaction that changed it. */
function recordPrivilege(
  client: Queryable,
  req: Request,
  actorId: number,
  type: 'racm.grant' | 'racm.revoke',
  resource: { id: number; name: string },
  privilege: { id: number | undefined; action: string; to?: string },
): Promise<void> {
  return recordFor(client, req, {
    type,
    userId: actorId,
    payload: {
      resource_id: resource.id,
      resource: resource.name,
      action: privilege.action,
      ...(privilege.to ? { to: privilege.to } : {}),
      privilege_id: privilege.id,
    },
  });
}

export const racmRoutes = [
  route({
    method: 'get',
    path: '/racm/contexts',
    tag: 'racm',
    summary: 'Resource contexts with their resource types and actions',
    access: { scope: 'read:racm' },
    response: ContextList,
    query: NoQuery,
    async handler({ hub }) {
      return { contexts: await listContexts(hub.db) };
    },
  }),
  route({
    method: 'post',
    path: '/racm/contexts',
    tag: 'racm',
    summary: 'Register or update a resource context and its types (platform admins and services)',
    access: { scope: 'admin' },
    response: ContextList,
    body: Type.Object(
      {
        name: Name,
        description: Type.Optional(Type.String({ maxLength: 2000 })),
        url: Type.Optional(Type.String({ format: 'uri', maxLength: 2000 })),
        resource_types: Type.Array(
          Type.Object(
            {
              name: Name,
              description: Type.Optional(Type.String({ maxLength: 2000 })),
              actions: Type.Array(Name, { minItems: 1, maxItems: 50, uniqueItems: true }),
              user_creatable: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          { maxItems: 100 },
        ),
      },
      { additionalProperties: false },
    ),
    status: 201,
    async handler({ hub, req, caller, body }) {
      await inTransaction(hub.db, async (client) => {
        // The wire's snake_case to the spec services register their contexts with.
        const { resource_types, ...context } = body;
        await registerContext(client, {
          ...context,
          resourceTypes: resource_types.map(({ user_creatable, ...type }) => ({
            ...type,
            userCreatable: user_creatable,
          })),
        });
        await recordFor(client, req, {
          type: 'racm.context',
          userId: caller!.user.id,
          payload: { name: body.name },
        });
      });
      return {
        contexts: (await listContexts(hub.db)).filter((context) => context.name === body.name),
      };
    },
  }),
  route({
    method: 'get',
    path: '/racm/resources',
    tag: 'racm',
    summary: 'Resources of a type on which I may do an action (default: any action)',
    access: { scope: 'read:racm' },
    response: ResourceList,
    query: Type.Object(
      {
        type: Name,
        action: Type.Optional(Name),
        after: Type.Optional(Id),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      },
      { additionalProperties: false },
    ),
    async handler({ hub, caller, query }) {
      const type = await resourceType(hub.db, query.type);
      if (!type) throw new HttpError(404, `No resource type "${query.type}"`);
      const action = query.action ?? GRANT;
      if (!type.actions.includes(action))
        throw new HttpError(400, `Resource type ${type.name} has no action "${action}"`);
      const page = { limit: query.limit ?? 100, ...(query.after ? { afterId: query.after } : {}) };
      return { resources: await listAllowed(hub.db, caller!.user.id, type.name, action, page) };
    },
  }),
  route({
    method: 'post',
    path: '/racm/resources',
    tag: 'racm',
    summary: 'Register a resource; you own it and hold all its actions',
    access: { scope: 'racm' },
    response: NewResource,
    body: Type.Object(
      {
        type: Name,
        name: ResourceName,
        description: Type.Optional(Type.String({ maxLength: 2000 })),
      },
      { additionalProperties: false },
    ),
    status: 201,
    async handler({ hub, req, caller, body }) {
      const type = await resourceType(hub.db, body.type);
      if (!type) throw new HttpError(404, `No resource type "${body.type}"`);
      if (!type.userCreatable && !caller!.scopes.has('admin')) {
        throw new HttpError(403, `Only platform admins register ${type.name} resources`);
      }
      const registered = await inTransaction(hub.db, async (client) => {
        const id = await registerResource(client, {
          typeId: type.id,
          name: body.name,
          description: body.description ?? '',
          ownerId: caller!.user.id,
        });
        await recordFor(client, req, {
          type: 'racm.register',
          userId: caller!.user.id,
          payload: { resource_id: id, type: type.name, name: body.name },
        });
        const {
          ownerId: _ownerId,
          typeId: _typeId,
          ...visible
        } = (await findResource(client, id))!;
        return { ...visible, actions: type.actions };
      });
      // Its owner now holds every action (a catalog context's read, for one).
      await hub.accessChanges.changed({ resourceId: registered.id, resourceType: type.name });
      return registered;
    },
  }),
  route({
    method: 'get',
    path: '/racm/resources/:id',
    tag: 'racm',
    summary: 'A resource, the actions I hold on it, and (if I hold grant) who holds what',
    access: { scope: 'read:racm', guard: racmAction(undefined) },
    response: ResourceDetail,
    params: IdParams,
    query: NoQuery,
    async handler({ hub, caller, params }) {
      const resource = await findResource(hub.db, params.id);
      if (!resource) throw notFound('Resource');
      const actions = await actionsOf(hub.db, caller!.user.id, resource.id);
      const { ownerId: _ownerId, typeId: _typeId, ...visible } = resource;
      return {
        ...visible,
        my_actions: actions,
        privileges: actions.includes(GRANT) ? await listPrivileges(hub.db, resource.id) : [],
      };
    },
  }),
  route({
    method: 'delete',
    path: '/racm/resources/:id',
    tag: 'racm',
    summary: 'Unregister a resource (its owner, or a platform admin)',
    access: { scope: 'racm', guard: racmAction(GRANT) },
    params: IdParams,
    status: 204,
    async handler({ hub, req, caller, params }) {
      const resource = await findResource(hub.db, params.id);
      if (!resource) throw notFound('Resource');
      if (resource.ownerId !== caller!.user.id && !caller!.scopes.has('admin')) {
        throw new HttpError(403, 'Only the owner can unregister a resource');
      }
      await inTransaction(hub.db, async (client) => {
        await deleteResource(client, resource.id);
        await recordFor(client, req, {
          type: 'racm.unregister',
          userId: caller!.user.id,
          payload: { resource_id: resource.id, name: resource.name },
        });
      });
      await hub.accessChanges.changed({ resourceId: resource.id, resourceType: resource.type });
    },
  }),
  route({
    method: 'post',
    path: '/racm/resources/:id/privileges',
    tag: 'racm',
    summary:
      'Give an action on the resource to a user or a group (needs grant). As in SciServer’s RACM, grant is full delegation: its holder may give any action to anyone, themselves included; only the owner unregisters, and the owner’s own privileges cannot be taken.',
    access: { scope: 'racm', guard: racmAction(GRANT) },
    response: Granted,
    params: IdParams,
    body: Type.Union([
      Type.Object({ action: Name, user: Username }, { additionalProperties: false }),
      Type.Object({ action: Name, group: Id }, { additionalProperties: false }),
    ]),
    status: 201,
    async handler({ hub, req, caller, params, body }) {
      const resource = await findResource(hub.db, params.id);
      if (!resource) throw notFound('Resource');
      const type = await resourceType(hub.db, resource.type);
      if (!type?.actions.includes(body.action))
        throw new HttpError(400, `Resource type ${resource.type} has no action "${body.action}"`);
      let grantee: { userId: number } | { groupId: number };
      let granteeName: string;
      if ('user' in body) {
        const user = await userNamed(hub.db, normaliseUsername(body.user));
        grantee = { userId: user.id };
        granteeName = user.name;
      } else {
        const group = await findGroup(hub.db, body.group);
        const visible =
          group &&
          (group.kind !== 'group' ||
            caller!.scopes.has('admin') ||
            (await roleIn(hub.db, group.id, caller!.user.id)));
        if (!group || !visible) throw new HttpError(404, 'Group not found');
        if (group.kind === 'public' && !caller!.scopes.has('admin')) {
          throw new HttpError(403, 'Only platform admins may share with the Public group');
        }
        grantee = { groupId: group.id };
        granteeName = group.name;
      }
      const granted = await inTransaction(hub.db, async (client) => {
        const id = await grant(client, {
          resourceId: resource.id,
          typeId: resource.typeId,
          action: body.action,
          grantedBy: caller!.user.id,
          ...grantee,
        });
        await recordPrivilege(client, req, caller!.user.id, 'racm.grant', resource, {
          id,
          action: body.action,
          to: granteeName,
        });
        return {
          id,
          action: body.action,
          ...('user' in body
            ? { user: granteeName }
            : { group: { id: body.group, name: granteeName } }),
        };
      });
      // Mirrors of RACM (MyDB's PostgreSQL grants, volume views) apply it before the answer says it is given.
      await hub.accessChanges.changed({ resourceId: resource.id, resourceType: resource.type });
      return granted;
    },
  }),
  route({
    method: 'delete',
    path: '/racm/resources/:id/privileges/:privilege_id',
    tag: 'racm',
    summary: 'Take a privilege back (needs grant; the owner’s own cannot be taken)',
    access: { scope: 'racm', guard: racmAction(GRANT) },
    params: Type.Object({ id: Id, privilege_id: Id }, { additionalProperties: false }),
    status: 204,
    async handler({ hub, req, caller, params }) {
      const resource = await findResource(hub.db, params.id);
      const privilege = resource && (await findPrivilege(hub.db, resource.id, params.privilege_id));
      if (!resource || !privilege) throw notFound('Privilege');
      if (privilege.userId !== null && privilege.userId === resource.ownerId) {
        throw new HttpError(409, 'The owner’s own privileges cannot be revoked');
      }
      await inTransaction(hub.db, async (client) => {
        await revoke(client, resource.id, privilege.id);
        await recordPrivilege(client, req, caller!.user.id, 'racm.revoke', resource, privilege);
      });
      await hub.accessChanges.changed({ resourceId: resource.id, resourceType: resource.type });
    },
  }),
  route({
    method: 'get',
    path: '/racm/check',
    tag: 'racm',
    summary: 'May I do this action on this resource?',
    access: { scope: 'read:racm' },
    response: CheckAnswer,
    query: Type.Object({ resource: Id, action: Name }, { additionalProperties: false }),
    async handler({ hub, caller, query }) {
      const allowed = await may(hub.db, caller!.user.id, query.action, query.resource);
      hub.events.emit('racmCheck', { outcome: allowed ? 'allowed' : 'denied', via: 'check' });
      return { allowed };
    },
  }),
];
