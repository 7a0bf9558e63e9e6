/** What the compute routes answer. */
import { Type } from '@sinclair/typebox';
import { Strict } from '../http/schemas.ts';

export const ComputeOffer = Strict({
  domains: Type.Array(Strict({ name: Type.String(), backend: Type.String() })),
  images: Type.Array(Type.String()),
  max_servers: Type.Integer({ minimum: 0 }),
  idle_cull_seconds: Type.Integer({ minimum: 0, description: '0: idle servers are never stopped' }),
  cull_warning_seconds: Type.Integer({ minimum: 0 }),
  limits: Strict({ memory_bytes: Type.Integer(), cpus: Type.Number(), pids: Type.Integer() }),
});

/** One server-sent event of a spawn's progress. */
export const ProgressEvent = Strict({
  progress: Type.Number({ minimum: 0, maximum: 100 }),
  message: Type.String(),
  ready: Type.Optional(Type.Boolean()),
  failed: Type.Optional(Type.Boolean()),
  url: Type.Optional(Type.String()),
});
