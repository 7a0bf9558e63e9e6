/**
 * The files API. Volumes are named by path parts `:root/:owner/:volume` (e.g.
 * `Storage/alice/persistent`); a path inside a volume is the `path` query field, so the route
 * table (and the lab's allow-list) has one pattern per operation. Every route checks RACM on
 * the volume first: a volume the caller may not read answers 404, one they read but may not
 * write 403.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { Request, Response } from 'express';
import { actorOf } from '../auth/actor.ts';
import { selfOrAdmin } from '../auth/guards.ts';
import { HttpError } from '../http/errors.ts';
import { type HandlerContext, type RouteDef, routesOf } from '../http/route.ts';
import { NameParams, NoQuery, Strict, Username } from '../http/schemas.ts';
import {
  DataVolume,
  Entry,
  FilePath,
  LinkCreated,
  LinkList,
  Listing,
  PathQuery,
  Redeemed,
  RootName,
  RootParams,
  Share,
  ShareBody,
  ShareeQuery,
  ShareList,
  Uploaded,
  UploadState,
  UserUsage,
  Volume,
  VolumeList,
  VolumeName,
  VolumeParams,
} from './responses.ts';
import type { FilesService, VolumeRef } from './service.ts';
import type { DataVolumeRecord, VolumeRecord } from './store.ts';

const route = routesOf<FilesService>();

/** A files route (tag `files`) that code in JupyterLab may call too, as most of them are. */
function labRoute<B extends TSchema, Q extends TSchema, P extends TSchema>(
  def: Omit<RouteDef<B, Q, P, FilesService>, 'tag' | 'lab'>,
) {
  return route({ ...def, tag: 'files', lab: true });
}

const Bool = Type.Union([Type.Literal('true'), Type.Literal('false')]);
const UploadParams = Strict({
  ...VolumeParams.properties,
  upload_id: Type.String({ format: 'uuid' }),
});

const refOf = (params: { root: string; owner: string; volume: string }): VolumeRef => params;
const volumeOut = (v: VolumeRecord) => ({
  root: v.root,
  owner: v.owner,
  volume: v.name,
  description: v.description,
  created_at: v.createdAt,
});
const dataVolumeOut = (d: DataVolumeRecord) => ({
  name: d.name,
  host_path: d.hostPath,
  description: d.description,
  created_at: d.createdAt,
});

type VolumePath = { root: string; owner: string; volume: string };
type Caller = HandlerContext<unknown, unknown, unknown>['caller'];

/** Who acts and on which volume, as the volume service's methods take them. */
const onVolume = (caller: Caller, req: Request, params: VolumePath) =>
  [actorOf(caller!, req), params.root, params.owner, params.volume] as const;

/** Who acts, and the volume they must be able to write (a resumable upload's). */
async function writing(service: FilesService, caller: Caller, req: Request, params: VolumePath) {
  const actor = actorOf(caller!, req);
  return { actor, volume: await service.write(actor, refOf(params)) };
}

/** The body of an upload must be raw bytes; a JSON body was already read by the JSON parser. */
function rawBody(req: Request): Request {
  if (req.readableEnded && req.body !== undefined && req.is('application/json'))
    throw new HttpError(415, 'Send the file as the raw body (application/octet-stream), not JSON');
  return req;
}

/**
 * Run a handler that reads the raw body. If it refuses before the body is read to its end
 * (quota, a bad path), the connection is closed after the answer: the unread bytes must not
 * be taken for the next request on a kept-alive connection.
 */
async function readingBody<T>(req: Request, res: Response, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!req.readableEnded) res.set('Connection', 'close');
    throw err;
  }
}

function contentLength(req: Request): number | null {
  const raw = req.headers['content-length'];
  if (raw === undefined) return null;
  const length = Number(raw);
  if (!Number.isSafeInteger(length) || length < 0)
    throw new HttpError(400, 'Content-Length is not a number of bytes');
  return length;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` over a file of `size`; one range only. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () =>
    new HttpError(
      416,
      `The range "${header}" is outside the file (${size} bytes) or not one range`,
      {
        reason: 'range_not_satisfiable',
        headers: { 'Content-Range': `bytes */${size}` },
      },
    );
  if (!match || (match[1] === '' && match[2] === '')) throw unsatisfiable();
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(size - Number(match[2]), 0);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) throw unsatisfiable();
  return { start, end };
}

/** Stream a file (or one range of it), then close it. */
async function sendFile(
  req: Request,
  res: Response,
  opened: Awaited<ReturnType<FilesService['ops']['openForRead']>>,
) {
  const { file, size, mtime, name } = opened;
  try {
    const range = parseRange(req.headers.range, size);
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    res.status(range ? 206 : 200);
    res.set({
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(Math.max(end - start + 1, 0)),
      'Accept-Ranges': 'bytes',
      'Last-Modified': mtime.toUTCString(),
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (size === 0 || req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = file.createReadStream({ start, end, autoClose: false, highWaterMark: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      res.on('close', resolve);
      stream.pipe(res);
    });
  } finally {
    await file.close();
  }
}

export const filesRoutes = [
  // Volumes.
  labRoute({
    method: 'get',
    path: '/volumes',
    summary:
      'Every volume you may read (yours, shared with you, data volumes), and your usage; your default volumes are made on first use',
    access: { scope: 'read:files' },
    response: VolumeList,
    query: NoQuery,
    async handler({ service, caller, req }) {
      const actor = actorOf(caller!, req);
      const volumes = await service.volumes.readable(actor.userId);
      const usage = [];
      for (const root of service.volumes.rootVolumes)
        usage.push(await service.quotas.usage(actor.userId, root));
      return {
        volumes: volumes.map((v) => ({
          root: v.root,
          owner: v.owner,
          volume: v.name,
          kind: v.kind,
          description: v.description,
          read_only: !v.writable,
          may_share: v.mayGrant,
          mine: v.ownerId === actor.userId,
        })),
        usage,
      };
    },
  }),
  labRoute({
    method: 'post',
    path: '/volumes/:root',
    summary:
      'Create a user volume of yours under a root volume (name: 1-64 letters, digits, -_. ; no leading dot)',
    access: { scope: 'files' },
    response: Volume,
    status: 201,
    params: RootParams,
    query: NoQuery,
    body: Strict({
      name: VolumeName,
      description: Type.Optional(Type.String({ maxLength: 1000 })),
    }),
    async handler({ service, caller, req, params, body }) {
      return volumeOut(
        await service.volumes.create(
          actorOf(caller!, req),
          params.root,
          body.name,
          body.description,
        ),
      );
    },
  }),
  labRoute({
    method: 'patch',
    path: '/volumes/:root/:owner/:volume',
    summary: 'Rename or describe a volume of yours (its files stay where they are)',
    access: { scope: 'files' },
    response: Volume,
    params: VolumeParams,
    query: NoQuery,
    body: Strict({
      name: Type.Optional(VolumeName),
      description: Type.Optional(Type.String({ maxLength: 1000 })),
    }),
    async handler({ service, caller, req, params, body }) {
      return volumeOut(await service.volumes.update(...onVolume(caller, req, params), body));
    },
  }),
  labRoute({
    method: 'delete',
    path: '/volumes/:root/:owner/:volume',
    summary:
      'Delete a volume of yours: its shares go at once, its files to quarantine (docs/files.md)',
    access: { scope: 'files' },
    status: 204,
    params: VolumeParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      await service.volumes.delete(...onVolume(caller, req, params));
    },
  }),
  // Sharing.
  labRoute({
    method: 'get',
    path: '/volumes/:root/:owner/:volume/shares',
    summary: 'Who a volume is shared with (needs grant on it)',
    access: { scope: 'read:files' },
    response: ShareList,
    params: VolumeParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      return { shares: await service.volumes.shares(...onVolume(caller, req, params)) };
    },
  }),
  labRoute({
    method: 'put',
    path: '/volumes/:root/:owner/:volume/shares',
    summary:
      'Share a volume read-only or read-write with a user or a group (needs grant; the Public group: admins only)',
    access: { scope: 'files' },
    response: Share,
    params: VolumeParams,
    query: NoQuery,
    body: ShareBody,
    async handler({ service, caller, req, params, body }) {
      return service.volumes.share(...onVolume(caller, req, params), body as never);
    },
  }),
  labRoute({
    method: 'delete',
    path: '/volumes/:root/:owner/:volume/shares',
    summary: 'Stop sharing a volume with a user (?user=) or a group (?group=)',
    access: { scope: 'files' },
    status: 204,
    params: VolumeParams,
    query: ShareeQuery,
    async handler({ service, caller, req, params, query }) {
      await service.volumes.unshare(...onVolume(caller, req, params), query);
    },
  }),
  labRoute({
    method: 'post',
    path: '/volumes/:root/:owner/:volume/links',
    summary:
      'Make an expiring invite code that gives read access to whoever redeems it (needs grant)',
    access: { scope: 'files' },
    response: LinkCreated,
    status: 201,
    params: VolumeParams,
    query: NoQuery,
    body: Strict({ expires_in_hours: Type.Integer({ minimum: 1, maximum: 24 * 90 }) }),
    async handler({ service, caller, req, params, body }) {
      return service.volumes.createLink(...onVolume(caller, req, params), body.expires_in_hours);
    },
  }),
  labRoute({
    method: 'get',
    path: '/volumes/:root/:owner/:volume/links',
    summary: 'A volume’s live invite codes (not the codes themselves; needs grant)',
    access: { scope: 'read:files' },
    response: LinkList,
    params: VolumeParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      return { links: await service.volumes.links(...onVolume(caller, req, params)) };
    },
  }),
  labRoute({
    method: 'delete',
    path: '/volumes/:root/:owner/:volume/links/:link_id',
    summary: 'Revoke an invite code (shares already made by it stay, revocable one by one)',
    access: { scope: 'files' },
    status: 204,
    params: Strict({ ...VolumeParams.properties, link_id: Type.Integer({ minimum: 1 }) }),
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      await service.volumes.revokeLink(...onVolume(caller, req, params), params.link_id);
    },
  }),
  labRoute({
    method: 'post',
    path: '/volume-links/redeem',
    summary:
      'Redeem an invite code: the volume is shared with you read-only (recorded in both activity logs)',
    access: { scope: 'files' },
    response: Redeemed,
    query: NoQuery,
    body: Strict({ code: Type.String({ minLength: 1, maxLength: 200 }) }),
    async handler({ service, caller, req, body }) {
      return service.volumes.redeem(actorOf(caller!, req), body.code);
    },
  }),
  // Files.
  labRoute({
    method: 'get',
    path: '/files/:root/:owner/:volume/list',
    summary:
      'A folder’s entries: name, type (file, folder, link, other), size, mtime; links are not followed',
    access: { scope: 'read:files' },
    response: Listing,
    params: VolumeParams,
    query: PathQuery,
    async handler({ service, caller, req, params, query }) {
      const path = query.path ?? '';
      return { path, entries: await service.list(actorOf(caller!, req), refOf(params), path) };
    },
  }),
  labRoute({
    method: 'get',
    path: '/files/:root/:owner/:volume/content',
    summary: 'Download a file, streamed; one `Range: bytes=` range answers 206',
    access: { scope: 'read:files' },
    response: Type.String({ description: 'the file’s bytes (application/octet-stream)' }),
    params: VolumeParams,
    query: Strict({ path: FilePath }),
    async handler({ service, caller, req, res, params, query }) {
      const volume = await service.read(actorOf(caller!, req), refOf(params));
      await sendFile(req, res, await service.ops.openForRead(volume, query.path));
    },
  }),
  labRoute({
    method: 'put',
    path: '/files/:root/:owner/:volume/content',
    summary:
      'Upload a file as the raw body, streamed; it appears whole or not at all (413 quota_exceeded, 507 disk full)',
    access: { scope: 'files' },
    response: Uploaded,
    status: 201,
    params: VolumeParams,
    query: Strict({ path: FilePath, overwrite: Type.Optional(Bool) }),
    async handler({ service, caller, req, res, params, query }) {
      return readingBody(req, res, () =>
        service.upload(
          actorOf(caller!, req),
          refOf(params),
          query.path,
          rawBody(req),
          contentLength(req),
          query.overwrite === 'true',
        ),
      );
    },
  }),
  labRoute({
    method: 'delete',
    path: '/files/:root/:owner/:volume/content',
    summary: 'Delete a file, or a folder with everything in it',
    access: { scope: 'files' },
    status: 204,
    params: VolumeParams,
    query: Strict({ path: FilePath }),
    async handler({ service, caller, req, params, query }) {
      await service.remove(actorOf(caller!, req), refOf(params), query.path);
    },
  }),
  labRoute({
    method: 'post',
    path: '/files/:root/:owner/:volume/folders',
    summary: 'Make a folder (parents: make missing ones on the way)',
    access: { scope: 'files' },
    response: Entry,
    status: 201,
    params: VolumeParams,
    query: NoQuery,
    body: Strict({ path: FilePath, parents: Type.Optional(Type.Boolean()) }),
    async handler({ service, caller, req, params, body }) {
      return service.mkdir(actorOf(caller!, req), refOf(params), body.path, body.parents ?? false);
    },
  }),
  labRoute({
    method: 'post',
    path: '/files/:root/:owner/:volume/move',
    summary: 'Rename or move a file or folder, within the volume or to another you may write',
    access: { scope: 'files' },
    response: Entry,
    params: VolumeParams,
    query: NoQuery,
    body: Strict({
      from: FilePath,
      to: FilePath,
      to_root: Type.Optional(RootName),
      to_owner: Type.Optional(Username),
      to_volume: Type.Optional(VolumeName),
      overwrite: Type.Optional(Type.Boolean()),
    }),
    async handler({ service, caller, req, params, body }) {
      return service.move(
        actorOf(caller!, req),
        refOf(params),
        body.from,
        { root: body.to_root, owner: body.to_owner, volume: body.to_volume, path: body.to },
        body.overwrite ?? false,
      );
    },
  }),
  // Resumable uploads.
  labRoute({
    method: 'post',
    path: '/files/:root/:owner/:volume/uploads',
    summary: 'Start a resumable upload of `size` bytes (checked against the quota now)',
    access: { scope: 'files' },
    response: UploadState,
    status: 201,
    params: VolumeParams,
    query: NoQuery,
    body: Strict({
      path: FilePath,
      size: Type.Integer({ minimum: 0 }),
      overwrite: Type.Optional(Type.Boolean()),
    }),
    async handler({ service, caller, req, params, body }) {
      const { actor, volume } = await writing(service, caller, req, params);
      return service.uploads.start(
        actor.userId,
        volume,
        body.path,
        body.size,
        body.overwrite ?? false,
      );
    },
  }),
  labRoute({
    method: 'get',
    path: '/files/:root/:owner/:volume/uploads/:upload_id',
    summary: 'A resumable upload’s offset: where to send the next chunk from',
    access: { scope: 'files' },
    response: UploadState,
    params: UploadParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      const { actor } = await writing(service, caller, req, params);
      return service.uploads.state(actor.userId, params.upload_id);
    },
  }),
  labRoute({
    method: 'put',
    path: '/files/:root/:owner/:volume/uploads/:upload_id',
    summary:
      'Send a chunk (raw body) at `offset`, which must be the upload’s offset (409 otherwise)',
    access: { scope: 'files' },
    response: UploadState,
    params: UploadParams,
    query: Strict({ offset: Type.String({ pattern: '^[0-9]{1,16}$' }) }),
    async handler({ service, caller, req, res, params, query }) {
      return readingBody(req, res, async () => {
        const { actor, volume } = await writing(service, caller, req, params);
        return service.uploads.append(
          actor.userId,
          volume,
          params.upload_id,
          Number(query.offset),
          rawBody(req),
        );
      });
    },
  }),
  labRoute({
    method: 'post',
    path: '/files/:root/:owner/:volume/uploads/:upload_id/complete',
    summary: 'Complete a resumable upload: the file appears at its path',
    access: { scope: 'files' },
    response: Entry,
    params: UploadParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      const { actor, volume } = await writing(service, caller, req, params);
      return service.uploads.complete(actor.userId, volume, params.upload_id);
    },
  }),
  labRoute({
    method: 'delete',
    path: '/files/:root/:owner/:volume/uploads/:upload_id',
    summary: 'Cancel a resumable upload: its bytes and its quota reservation go',
    access: { scope: 'files' },
    status: 204,
    params: UploadParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      const { actor, volume } = await writing(service, caller, req, params);
      await service.uploads.cancel(actor.userId, volume, params.upload_id);
    },
  }),
  // Usage and quotas.
  labRoute({
    method: 'get',
    path: '/users/:name/files/usage',
    summary: 'A user’s usage per root volume: used, quota, percent, warning at 90%',
    access: { scope: 'read:files', guard: selfOrAdmin() },
    response: UserUsage,
    params: NameParams,
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      return service.usageOf(actorOf(caller!, req), params.name);
    },
  }),
  route({
    method: 'put',
    path: '/users/:name/files/quota',
    tag: 'files',
    summary: 'Set a user’s quota in a root volume (null: back to the root’s); platform admins',
    access: { scope: 'admin' },
    response: UserUsage,
    params: NameParams,
    query: NoQuery,
    body: Strict({
      root: RootName,
      quota_bytes: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    }),
    async handler({ service, caller, req, params, body }) {
      return service.setQuota(actorOf(caller!, req), params.name, body.root, body.quota_bytes);
    },
  }),
  // Data volumes.
  route({
    method: 'get',
    path: '/data-volumes',
    tag: 'files',
    summary: 'Registered data volumes with their host folders (platform admins)',
    access: { scope: 'admin' },
    response: Strict({ data_volumes: Type.Array(DataVolume) }),
    query: NoQuery,
    async handler({ service }) {
      const all = await service.volumes.dataVolumes();
      return { data_volumes: all.map(dataVolumeOut) };
    },
  }),
  route({
    method: 'post',
    path: '/data-volumes',
    tag: 'files',
    summary:
      'Register a host folder as a read-only data volume (platform admins); share it like a volume at Data/data/<name>',
    access: { scope: 'admin' },
    response: DataVolume,
    status: 201,
    query: NoQuery,
    body: Strict({
      name: VolumeName,
      host_path: Type.String({ minLength: 1, maxLength: 4096 }),
      description: Type.Optional(Type.String({ maxLength: 1000 })),
    }),
    async handler({ service, caller, req, body }) {
      return dataVolumeOut(await service.volumes.registerData(actorOf(caller!, req), body));
    },
  }),
  route({
    method: 'delete',
    path: '/data-volumes/:name',
    tag: 'files',
    summary: 'Unregister a data volume (its files are the operator’s and stay)',
    access: { scope: 'admin' },
    status: 204,
    params: Strict({ name: VolumeName }),
    query: NoQuery,
    async handler({ service, caller, req, params }) {
      await service.volumes.unregisterData(actorOf(caller!, req), params.name);
    },
  }),
];
