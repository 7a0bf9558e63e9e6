/** What the account routes answer (JSON Schema, also the OpenAPI document's). */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict } from '../http/schemas.ts';
import { UserModel } from './userModel.ts';

export const Registered = Strict({ user: UserModel, pending_approval: Type.Boolean() });
export const LoggedIn = Strict({ user: UserModel });

const tokenServer = Nullable(
  Type.String({ description: 'The server whose token made the request ("" the default)' }),
);

/**
 * Who is calling: the user model with the credential's scopes; only the identity (JupyterHub's
 * `read:users:name` view) for a credential without `read:users`, such as the OAuth token a
 * jupyterhub-singleuser server checks, whose scopes are then spelled as JupyterHub's filtered
 * ones (`access:servers!server=alice/`).
 */
export const Me = Type.Union([
  Strict({
    ...UserModel.properties,
    scopes: Type.Array(Type.String()),
    token_server: tokenServer,
  }),
  Strict({
    kind: Type.Literal('user'),
    name: Type.String(),
    admin: Type.Boolean(),
    scopes: Type.Array(Type.String()),
    token_server: tokenServer,
  }),
]);

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
  version: Type.String({ description: 'The JupyterHub release whose REST API Orrery answers' }),
  orrery_version: Type.String(),
  openapi: Type.String(),
  sso: Nullable(Type.String({ description: 'Name of the single sign-on provider, if any' })),
});

export const HubDetails = Strict({
  version: Type.String({ description: 'The JupyterHub release whose REST API Orrery answers' }),
  orrery_version: Type.String(),
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
