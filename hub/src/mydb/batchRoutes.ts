/** Batch queries, sessions and the query history over HTTP; always the caller's own. */
import { actorOf } from '../auth/actor.ts';
import { selfOnly } from '../auth/guards.ts';
import { routesOf } from '../http/route.ts';
import { NameParams, NoQuery } from '../http/schemas.ts';
import {
  BatchBody,
  BatchList,
  BatchListQuery,
  BatchParams,
  BatchQuery,
  HistoryList,
  HistoryQuery,
  SessionParams,
} from './batchSchemas.ts';
import type { MydbService } from './service.ts';

const route = routesOf<MydbService>();

export const batchRoutes = [
  route({
    method: 'post',
    path: '/users/:name/mydb/batch',
    tag: 'mydb',
    summary:
      'Submit a batch query: queued, run as your own role with a long time limit, its result saved as a MyDB table',
    // SQL runs as the account's own role: never an admin's for someone else.
    access: { scope: 'mydb', guard: selfOnly() },
    status: 202,
    response: BatchQuery,
    lab: true,
    params: NameParams,
    query: NoQuery,
    body: BatchBody,
    async handler({ service, req, caller, params, body }) {
      const space = await service.ownSpace(actorOf(caller!, req), params.name);
      return service.batch.submit(space, body);
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/mydb/batch',
    tag: 'mydb',
    summary: 'Your batch queries, newest first, with their status and queue position',
    access: { scope: 'read:mydb', guard: selfOnly() },
    response: BatchList,
    lab: true,
    params: NameParams,
    query: BatchListQuery,
    async handler({ service, req, caller, params, query }) {
      const space = await service.ownSpace(actorOf(caller!, req), params.name);
      return service.batch.list(space.userId, {
        ...(query.status ? { status: query.status } : {}),
        limit: query.limit ?? 100,
        offset: query.offset ?? 0,
      });
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/mydb/batch/:id',
    tag: 'mydb',
    summary: 'One of your batch queries',
    access: { scope: 'read:mydb', guard: selfOnly() },
    response: BatchQuery,
    lab: true,
    params: BatchParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      const space = await service.ownSpace(actorOf(caller!, req), params.name);
      return service.batch.get(space.userId, params.id);
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/mydb/batch/:id/cancel',
    tag: 'mydb',
    summary: 'Cancel a queued or running batch query; a running one leaves no table',
    access: { scope: 'mydb', guard: selfOnly() },
    response: BatchQuery,
    lab: true,
    params: BatchParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      const space = await service.ownSpace(actorOf(caller!, req), params.name);
      return service.batch.cancel(space, params.id);
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name/mydb/sessions/:session',
    tag: 'mydb',
    summary:
      'Close one of your quick-query sessions (its temporary tables and settings go); closing none is fine',
    access: { scope: 'mydb', guard: selfOnly() },
    status: 204,
    lab: true,
    params: SessionParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      await service.closeSession(actorOf(caller!, req), params.name, params.session);
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/mydb/history',
    tag: 'mydb',
    summary: 'Your MyDB queries, quick and batch, newest first; q searches their SQL',
    access: { scope: 'read:mydb', guard: selfOnly() },
    response: HistoryList,
    lab: true,
    params: NameParams,
    query: HistoryQuery,
    async handler({ service, req, caller, params, query }) {
      return service.historyOf(actorOf(caller!, req), params.name, {
        ...(query.q ? { q: query.q } : {}),
        ...(query.kind ? { kind: query.kind } : {}),
        limit: query.limit ?? 100,
        offset: query.offset ?? 0,
      });
    },
  }),
];
