/** What the MyDB routes answer. */
import { Type } from '@sinclair/typebox';
import { Strict, Timestamp } from '../http/schemas.ts';

export const MydbSpace = Strict({
  schema: Type.String({ description: 'Your schema in the science database' }),
  role: Type.String({ description: 'The PostgreSQL role your queries will run as' }),
  quota_bytes: Type.Integer({ minimum: 0 }),
  used_bytes: Type.Integer({ minimum: 0, description: 'Tables and their indexes, in bytes' }),
  created_at: Timestamp,
});
