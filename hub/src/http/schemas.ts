/** Schemas shared by several route modules. */
import { Type } from '@sinclair/typebox';

export const Id = Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });
export const Username = Type.String({ minLength: 1, maxLength: 64 });
export const NameParams = Type.Object({ name: Username }, { additionalProperties: false });
export const Role = Type.Union([
  Type.Literal('OWNER'),
  Type.Literal('ADMIN'),
  Type.Literal('MEMBER'),
]);
export const NoQuery = Type.Object({}, { additionalProperties: false });
export const Empty = Type.Object({}, { additionalProperties: false });
