/** Schemas of the files API's bodies and answers (snake_case, strict). */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp, Username } from '../http/schemas.ts';

export const RootName = Type.String({ minLength: 1, maxLength: 32 });
export const VolumeName = Type.String({ minLength: 1, maxLength: 64 });
/** A path inside a volume; names.ts checks it (traversal, Unicode, lengths) for a clear 400. */
export const FilePath = Type.String({ maxLength: 8192 });

export const VolumeParams = Strict({ root: RootName, owner: Username, volume: VolumeName });
export const RootParams = Strict({ root: RootName });
export const PathQuery = Strict({ path: Type.Optional(FilePath) });

export const Usage = Strict({
  root: Type.String(),
  used_bytes: Type.Integer(),
  quota_bytes: Nullable(Type.Integer()),
  percent: Nullable(Type.Number()),
  warning: Type.Boolean(),
});

export const VolumeInfo = Strict({
  root: Type.String(),
  owner: Type.String(),
  volume: Type.String(),
  kind: Type.Union([Type.Literal('user'), Type.Literal('data')]),
  description: Type.String(),
  read_only: Type.Boolean(),
  may_share: Type.Boolean(),
  mine: Type.Boolean(),
});
export const VolumeList = Strict({ volumes: Type.Array(VolumeInfo), usage: Type.Array(Usage) });

export const Volume = Strict({
  root: Type.String(),
  owner: Type.String(),
  volume: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
});

export const ShareAccess = Type.Union([Type.Literal('read'), Type.Literal('read_write')]);
export const Share = Strict({
  user: Nullable(Type.String()),
  group: Nullable(Strict({ id: Type.Integer(), name: Type.String() })),
  access: ShareAccess,
});
export const ShareList = Strict({
  shares: Type.Array(Strict({ ...Share.properties, may_grant: Type.Boolean() })),
});
export const ShareBody = Type.Union([
  Strict({ user: Username, access: ShareAccess }),
  Strict({ group: Id, access: ShareAccess }),
]);
export const ShareeQuery = Strict({ user: Type.Optional(Username), group: Type.Optional(Id) });

export const LinkCreated = Strict({
  id: Type.Integer(),
  code: Type.String(),
  expires_at: Timestamp,
  created_at: Timestamp,
});
export const LinkList = Strict({
  links: Type.Array(
    Strict({
      id: Type.Integer(),
      created_by: Nullable(Type.String()),
      expires_at: Timestamp,
      created_at: Timestamp,
    }),
  ),
});
export const Redeemed = Strict({
  root: Type.String(),
  owner: Type.String(),
  volume: Type.String(),
  read_only: Type.Boolean(),
});

export const Entry = Strict({
  name: Type.String(),
  type: Type.Union([
    Type.Literal('file'),
    Type.Literal('folder'),
    Type.Literal('link'),
    Type.Literal('other'),
  ]),
  size: Type.Integer(),
  mtime: Timestamp,
});
export const Listing = Strict({ path: Type.String(), entries: Type.Array(Entry) });
export const Uploaded = Strict({ ...Entry.properties, usage: Usage });

export const UploadState = Strict({
  upload_id: Type.String(),
  path: Type.String(),
  size: Type.Integer(),
  offset: Type.Integer(),
});

export const UserUsage = Strict({
  user: Type.String(),
  roots: Type.Array(Strict({ ...Usage.properties, scanned_at: Nullable(Timestamp) })),
});

export const DataVolume = Strict({
  name: Type.String(),
  host_path: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
});
