/** Schemas shared by several route modules. */
import { type ObjectOptions, type TProperties, type TSchema, Type } from '@sinclair/typebox';

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

// Building blocks of response schemas. Answers are strict (no undeclared fields), so a field
// added in a handler but not here fails every test that reaches the route.
export const Timestamp = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Strict = <T extends TProperties>(properties: T, options: ObjectOptions = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options });
