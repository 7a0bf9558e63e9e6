/** What the account routes answer (JSON Schema, also the OpenAPI document's). */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict } from '../http/schemas.ts';
import { UserModel } from './userModel.ts';

export const Registered = Strict({ user: UserModel, pending_approval: Type.Boolean() });
export const LoggedIn = Strict({ user: UserModel });

export const Me = Strict({
  ...UserModel.properties,
  scopes: Type.Array(Type.String()),
  token_server: Nullable(
    Type.String({ description: 'The server whose token made the request ("" the default)' }),
  ),
});

/** A list of user models, or (with JupyterHub's pagination media type) one page of it. */
export const UserPage = Type.Union([
  Type.Array(UserModel),
  Strict({
    items: Type.Array(UserModel),
    _pagination: Strict({
      offset: Type.Integer(),
      limit: Type.Integer(),
      total: Type.Integer(),
      next: Nullable(Strict({ offset: Type.Integer(), limit: Type.Integer(), url: Type.String() })),
    }),
  }),
]);

export const NewUsers = Type.Array(UserModel);

export const HubInfo = Strict({
  version: Type.String(),
  openapi: Type.String(),
  sso: Nullable(Type.String({ description: 'Name of the single sign-on provider, if any' })),
});

export const HubDetails = Strict({
  version: Type.String(),
  node: Type.String(),
  sys_executable: Type.String(),
  spawner: Strict({
    class: Type.String(),
    version: Type.String(),
    domains: Type.Array(Strict({ name: Type.String(), backend: Type.String() })),
  }),
  authenticator: Strict({
    class: Type.String(),
    version: Type.String(),
    open_registration: Type.Boolean(),
    require_approval: Type.Boolean(),
  }),
});
