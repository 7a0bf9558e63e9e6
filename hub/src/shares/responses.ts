/** Response schemas of the shares routes: JupyterHub 5's share and share-code models. */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';

const Named = Strict({ name: Type.String() });

export const SharedServer = Strict({
  name: Type.String({ description: '"" for the default server' }),
  full_name: Type.String({ description: 'owner/server' }),
  user: Named,
  url: Type.String(),
  ready: Type.Boolean({ description: 'the server is running' }),
});

export const Share = Strict({
  server: SharedServer,
  scopes: Type.Array(Type.String(), {
    description: '"access:servers!server=…" and, with start/stop, "servers!server=…"',
  }),
  kind: Type.Union([Type.Literal('user'), Type.Literal('group')]),
  user: Nullable(Named),
  group: Nullable(Named),
  created_at: Timestamp,
});
export const ShareList = Strict({ items: Type.Array(Share) });

const CodeFields = {
  id: Type.Integer(),
  server: Strict({ name: Type.String(), full_name: Type.String(), user: Named }),
  scopes: Type.Array(Type.String()),
  created_at: Timestamp,
  expires_at: Timestamp,
  exchange_count: Type.Integer(),
  last_exchanged_at: Nullable(Timestamp),
};
export const ShareCode = Strict(CodeFields);
export const ShareCodeList = Strict({ items: Type.Array(ShareCode) });
export const ShareCodeCreated = Strict({
  ...CodeFields,
  code: Type.String({ description: 'shown once; only its hash is kept' }),
  accept_url: Type.String({ description: 'the page where a signed-in user redeems the code' }),
});
