/** What the token routes answer. */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';

export const Token = Strict({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('api'), Type.Literal('server')]),
  serverName: Nullable(Type.String()),
  prefix: Type.String(),
  note: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  lastUsedAt: Nullable(Timestamp),
});

export const TokenList = Strict({ tokens: Type.Array(Token) });

export const NewToken = Strict({
  ...Token.properties,
  token: Type.String({ description: 'The secret; shown this once' }),
});
