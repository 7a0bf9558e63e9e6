/** Which answer a quick query's `Accept` header asks for (docs/mydb.md, "Result formats"). */
import type { Request } from 'express';
import { HttpError } from '../http/errors.ts';
import { CONTENT_TYPES, type StreamFormat } from './resultStream.ts';

const OFFERED = ['application/json', CONTENT_TYPES.arrow.split(';')[0]!, 'text/csv'];

/**
 * JSON unless the client prefers Arrow or CSV; 406 if it accepts none of them. A query with
 * `into` or `session` answers JSON only, so it gets JSON whenever the client accepts it too
 * (JupyterLab asks for Arrow with JSON as second choice).
 */
export function resultFormatOf(
  req: Request,
  body: { into?: unknown; session?: unknown } = {},
): 'json' | StreamFormat {
  if ((body.into !== undefined || body.session !== undefined) && acceptsJson(req)) return 'json';
  const chosen = req.accepts(OFFERED);
  if (chosen === 'application/vnd.apache.arrow.stream') return 'arrow';
  if (chosen === 'text/csv') return 'csv';
  if (chosen === 'application/json') return 'json';
  throw new HttpError(
    406,
    `Quick query results come as ${OFFERED.join(', ')}; the Accept header allows none of them`,
    { reason: 'not_acceptable' },
  );
}

/** Whether the client takes a JSON answer too (second choice or wildcard included). */
export function acceptsJson(req: Request): boolean {
  return req.accepts('application/json') === 'application/json';
}
