/** What the compute routes answer. */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';

export const ComputeOffer = Strict({
  domains: Type.Array(Strict({ name: Type.String(), backend: Type.String() })),
  images: Type.Array(Type.String()),
  maxServers: Type.Integer({ minimum: 0 }),
  idleCullSeconds: Type.Integer({ minimum: 0, description: '0: idle servers are never stopped' }),
  cullWarningSeconds: Type.Integer({ minimum: 0 }),
  limits: Strict({ memoryBytes: Type.Integer(), cpus: Type.Number(), pids: Type.Integer() }),
});

export const Server = Strict({
  name: Type.String(),
  image: Type.String(),
  domain: Type.String(),
  status: Type.Union([Type.Literal('starting'), Type.Literal('running'), Type.Literal('stopping')]),
  url: Type.String({ description: 'Where the server answers, under this hub' }),
  progressUrl: Type.String(),
  startedAt: Timestamp,
  readyAt: Nullable(Timestamp),
  lastActivityAt: Timestamp,
  cullAt: Nullable(Timestamp),
});

export const ServerList = Strict({ servers: Type.Array(Server) });

/** One server-sent event of a spawn's progress. */
export const ProgressEvent = Strict({
  progress: Type.Number({ minimum: 0, maximum: 100 }),
  message: Type.String(),
  ready: Type.Optional(Type.Boolean()),
  failed: Type.Optional(Type.Boolean()),
  url: Type.Optional(Type.String()),
});
