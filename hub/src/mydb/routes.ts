/** MyDB over HTTP: the user's space (made on first use) and the database contexts they may query. */
import { Type } from '@sinclair/typebox';
import { actorOf } from '../auth/actor.ts';
import { selfOnly, selfOrAdmin } from '../auth/guards.ts';
import { routesOf } from '../http/route.ts';
import { NameParams, NoQuery } from '../http/schemas.ts';
import { batchRoutes } from './batchRoutes.ts';
import { IntoResult } from './batchSchemas.ts';
import {
  ContextFunctions,
  ContextTables,
  DatabaseContextList,
  ExportedFile,
  ExportQuery,
  ImportQuery,
  ImportResult,
  MydbSpace,
  QuickQueryBody,
  QuickQueryResult,
  QuotaBody,
  Share,
  ShareBody,
  ShareList,
  TableParams,
} from './responses.ts';
import { acceptsJson, resultFormatOf } from './resultFormat.ts';
import type { MydbService } from './service.ts';

const route = routesOf<MydbService>();

export const mydbRoutes = [
  route({
    method: 'get',
    path: '/users/:name/mydb',
    tag: 'mydb',
    summary: 'A user’s MyDB: schema, role, quota and size; made on first use',
    access: { scope: 'read:mydb', guard: selfOrAdmin() },
    response: MydbSpace,
    lab: true,
    params: NameParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.spaceOf(actorOf(caller!, req), params.name);
    },
  }),
  route({
    method: 'patch',
    path: '/users/:name/mydb',
    tag: 'mydb',
    summary:
      'Set a user’s MyDB quota (platform admins); writing is refused or allowed again at once',
    access: { scope: 'admin' },
    response: MydbSpace,
    params: NameParams,
    query: NoQuery,
    body: QuotaBody,
    async handler({ service, req, caller, params, body }) {
      return service.setQuota(actorOf(caller!, req), params.name, body.quota_bytes);
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/mydb/shares',
    tag: 'mydb',
    summary: 'Who your MyDB and its tables are shared with (read-only, through RACM)',
    access: { scope: 'read:mydb', guard: selfOrAdmin() },
    response: ShareList,
    lab: true,
    params: NameParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.shares(actorOf(caller!, req), params.name);
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/mydb/shares',
    tag: 'mydb',
    summary:
      'Share your MyDB, or one table (`table`), read-only with a user, a group you belong to, or everyone (`public: true`)',
    access: { scope: 'mydb', guard: selfOnly() },
    response: Share,
    lab: true,
    params: NameParams,
    query: NoQuery,
    body: ShareBody,
    status: 201,
    async handler({ service, req, caller, params, body }) {
      return service.share(actorOf(caller!, req), params.name, body);
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name/mydb/shares/:share',
    tag: 'mydb',
    summary: 'Take a share back; the grantee’s next query is refused',
    access: { scope: 'mydb', guard: selfOrAdmin() },
    lab: true,
    params: Type.Object(
      { name: Type.String({ minLength: 1, maxLength: 64 }), share: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    ),
    query: NoQuery,
    status: 204,
    async handler({ service, req, caller, params }) {
      await service.unshare(actorOf(caller!, req), params.name, params.share);
    },
  }),
  route({
    method: 'get',
    path: '/mydb/contexts',
    tag: 'mydb',
    summary: 'The database contexts you may read: your MyDB and the catalogs granted to you',
    access: { scope: 'read:mydb' },
    response: DatabaseContextList,
    lab: true,
    query: NoQuery,
    async handler({ service, req, caller }) {
      return service.contexts.list(actorOf(caller!, req));
    },
  }),
  route({
    method: 'get',
    path: '/mydb/contexts/:context/tables',
    tag: 'mydb',
    summary: 'A context’s tables and views, with columns, units and descriptions',
    access: { scope: 'read:mydb' },
    response: ContextTables,
    lab: true,
    params: Type.Object(
      { context: Type.String({ minLength: 1, maxLength: 64 }) },
      { additionalProperties: false },
    ),
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.contexts.tables(actorOf(caller!, req), params.context);
    },
  }),
  route({
    method: 'get',
    path: '/mydb/contexts/:context/functions',
    tag: 'mydb',
    summary:
      'A context’s functions and the shared spatial ones (cone search, cross-match), with arguments, result and description',
    access: { scope: 'read:mydb' },
    response: ContextFunctions,
    lab: true,
    params: Type.Object(
      { context: Type.String({ minLength: 1, maxLength: 64 }) },
      { additionalProperties: false },
    ),
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      return service.contexts.functions(actorOf(caller!, req), params.context);
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/mydb/query',
    tag: 'mydb',
    summary:
      'Run a quick query in your MyDB as your own database role (time limit, row cap; 408 past the limit, 429 above the running-queries cap)',
    // Never for someone else, admins included: SQL runs as the account's own role.
    access: { scope: 'mydb', guard: selfOnly() },
    // `into` answers where the result went instead of its rows.
    response: Type.Union([QuickQueryResult, IntoResult]),
    lab: true,
    params: NameParams,
    query: NoQuery,
    body: QuickQueryBody,
    async handler({ service, req, res, caller, params, body }) {
      const format = resultFormatOf(req, body);
      if (format === 'json') return service.quickQuery(actorOf(caller!, req), params.name, body);
      return service.quickQueryStream(actorOf(caller!, req), params.name, body, format, res, {
        orJson: acceptsJson(req),
      });
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/mydb/tables/:table/export',
    tag: 'mydb',
    summary:
      'Download one of your MyDB tables as CSV, VOTable, FITS or Parquet (streamed; units and descriptions from column comments)',
    access: { scope: 'read:mydb', guard: selfOnly() },
    response: ExportedFile,
    lab: true,
    params: TableParams,
    query: ExportQuery,
    async handler({ service, req, res, caller, params, query }) {
      await service.exportTable(
        actorOf(caller!, req),
        params.name,
        params.table,
        query.format,
        res,
      );
      return undefined;
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/mydb/tables/:table/import',
    tag: 'mydb',
    summary:
      'Make a new MyDB table from a CSV, VOTable or FITS file sent as the raw body (all or nothing; 409 if it exists)',
    access: { scope: 'mydb', guard: selfOnly() },
    status: 201,
    response: ImportResult,
    lab: true,
    params: TableParams,
    query: ImportQuery,
    async handler({ service, req, caller, params, query }) {
      return service.importTable(
        actorOf(caller!, req),
        params.name,
        params.table,
        query.format,
        req,
      );
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name/mydb/tables/:table',
    tag: 'mydb',
    summary: 'Drop one of your MyDB tables',
    access: { scope: 'mydb', guard: selfOnly() },
    status: 204,
    lab: true,
    params: TableParams,
    query: NoQuery,
    async handler({ service, req, caller, params }) {
      await service.dropTable(actorOf(caller!, req), params.name, params.table);
    },
  }),
  ...batchRoutes,
];
