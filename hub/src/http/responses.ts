/**
 * Response checking: each JSON answer against its route's declared schema. On in the test
 * suites (`validateResponses`), so the OpenAPI document cannot drift from what the hub sends.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Logger } from '../log.ts';
import { HttpError } from './errors.ts';
import { type RouteDef, routeId } from './route.ts';

type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

// allErrors: a drift report lists every mismatch at once, not the first.
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);

export type ResponseCheck = (body: unknown) => void;

/** A check for `def`'s answers, or undefined when the route declares no JSON body. */
export function responseChecker(def: RouteDef, log: Logger): ResponseCheck | undefined {
  if (!def.response) return undefined;
  const validate: ValidateFunction = ajv.compile(def.response as TSchema);
  const id = routeId(def);
  return (body) => {
    // What the client receives: Dates become strings, undefined fields vanish.
    const sent = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
    if (validate(sent)) return;
    const mismatches = (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? 'is not valid'}${
          e.keyword === 'additionalProperties'
            ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
            : ''
        }`,
    );
    log.error({ route: id, mismatches }, 'response does not match the declared schema');
    throw new HttpError(500, `The answer of ${id} does not match its declared schema`, {
      reason: 'response_mismatch',
      logMessage: mismatches.join('; '),
    });
  };
}
