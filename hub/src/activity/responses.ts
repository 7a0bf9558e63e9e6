/** What the activity search answers. */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp } from '../http/schemas.ts';

export const ActivityPage = Strict({
  events: Type.Array(
    Strict({
      id: Id,
      at: Timestamp,
      type: Type.String(),
      user: Nullable(Type.String()),
      actor: Nullable(Type.String()),
      address: Nullable(Type.String()),
      payload: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});
