/**
 * The compute service's own errors: what went wrong in its terms, for any caller (a route, the
 * jobs dispatcher). Routes turn them into HTTP answers with `toHttpError`.
 */
import { HttpError } from '../http/errors.ts';

export type ComputeErrorKind =
  | 'invalid' // the request names an image or domain not offered
  | 'forbidden' // RACM says no
  | 'not-found' // no such user or server
  | 'conflict' // the name is taken
  | 'limit' // the user's server limit is reached
  | 'busy' // the hub's spawn limit is reached: try again shortly
  | 'unavailable'; // a domain not configured, a backend that cannot act now

export class ComputeError extends Error {
  constructor(
    readonly kind: ComputeErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ComputeError';
  }
}

const STATUS: Record<ComputeErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  limit: 409,
  busy: 429,
  unavailable: 503,
};

/** The HTTP answer for a compute error; any other error passes through unchanged. */
export function toHttpError(err: unknown): unknown {
  if (!(err instanceof ComputeError)) return err;
  return new HttpError(STATUS[err.kind], err.message, {
    ...(err.kind === 'busy' ? { headers: { 'Retry-After': '10' } } : {}),
  });
}

/** Run `work`, answering compute errors as HTTP errors. */
export async function asHttp<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toHttpError(err);
  }
}
