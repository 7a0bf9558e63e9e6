/** What the account routes answer (JSON Schema, also the OpenAPI document's). */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';

/** An account as `publicUser` shows it. */
export const User = Strict({
  name: Type.String(),
  safeName: Type.String(),
  email: Nullable(Type.String()),
  admin: Type.Boolean(),
  approved: Type.Boolean(),
  createdAt: Timestamp,
  lastLoginAt: Nullable(Timestamp),
});

export const Registered = Strict({ user: User, pendingApproval: Type.Boolean() });
export const LoggedIn = Strict({ user: User });

export const Me = Strict({
  ...User.properties,
  scopes: Type.Array(Type.String()),
  server: Nullable(Type.String({ description: 'The server whose token made the request' })),
});

/** Admins see whole records; everyone else sees names only. */
export const UserList = Strict({
  users: Type.Array(Type.Union([User, Strict({ name: Type.String() })])),
});

export const HubInfo = Strict({
  version: Type.String(),
  openapi: Type.String(),
  sso: Nullable(Type.String({ description: 'Name of the single sign-on provider, if any' })),
});
