/** What the token routes answer: JupyterHub's token model, plus Orrery's prefix and server. */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';
import type { TokenRecord } from './tokens.ts';

export const Token = Strict({
  id: Type.Integer(),
  kind: Type.Union([
    Type.Literal('api_token'),
    Type.Literal('server_token'),
    Type.Literal('oauth_token'),
  ]),
  user: Type.String(),
  server_name: Nullable(Type.String({ description: 'A server token’s server ("" the default)' })),
  prefix: Type.String(),
  note: Type.String(),
  scopes: Type.Array(Type.String()),
  created: Timestamp,
  expires_at: Timestamp,
  last_activity: Nullable(Timestamp),
});

export const TokenList = Strict({ api_tokens: Type.Array(Token) });

export const NewToken = Strict({
  ...Token.properties,
  token: Type.String({ description: 'The secret; shown this once' }),
});

export function tokenModel(owner: string, token: TokenRecord) {
  return {
    id: token.id,
    kind: `${token.kind}_token` as const,
    user: owner,
    server_name: token.serverName,
    prefix: token.prefix,
    note: token.note,
    scopes: token.scopes,
    created: token.createdAt,
    expires_at: token.expiresAt,
    last_activity: token.lastUsedAt,
  };
}
