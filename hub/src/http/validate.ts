/** Request validation from the route's JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12). */
import type { TSchema } from '@sinclair/typebox';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { HttpError } from './errors.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

const strictAjv = new Ajv2020({ allErrors: false, strict: false });
// Path and query values arrive as strings; coerce them to the declared types.
const coercingAjv = new Ajv2020({
  allErrors: false,
  strict: false,
  coerceTypes: true,
  useDefaults: true,
});
addFormats(strictAjv);
addFormats(coercingAjv);

export type Part = 'body' | 'query' | 'path';

export function compileValidator(schema: TSchema, part: Part): ValidateFunction {
  return (part === 'body' ? strictAjv : coercingAjv).compile(schema);
}

function fieldOf(error: ErrorObject, part: Part): string {
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return path ? `${path}.${extra}` : extra;
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  return path || (part === 'body' ? 'body' : part);
}

/** A short message naming the field, e.g. `Invalid body: "username" must be string`. */
export function describeError(error: ErrorObject, part: Part): string {
  const field = fieldOf(error, part);
  const where =
    part === 'path' ? 'path parameter' : part === 'query' ? 'query parameter' : 'body field';
  switch (error.keyword) {
    case 'additionalProperties':
      return `Unknown ${where} "${field}"`;
    case 'required':
      return `Missing ${where} "${field}"`;
    default:
      return `Invalid ${where} "${field}": ${error.message ?? 'is not valid'}`;
  }
}

export function validatePart(validator: ValidateFunction, value: unknown, part: Part): void {
  if (part === 'body' && (value === undefined || value === null)) {
    throw new HttpError(400, 'A JSON request body is required (Content-Type: application/json)');
  }
  if (!validator(value)) {
    const error = validator.errors?.[0];
    throw new HttpError(400, error ? describeError(error, part) : `Invalid ${part}`);
  }
}
