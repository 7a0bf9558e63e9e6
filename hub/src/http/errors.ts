/**
 * One error type and one error writer. User-facing text (`message`) and log
 * text (`logMessage`) are kept apart; stack traces never reach a client.
 */
import type { ErrorRequestHandler } from 'express';
import { DomainError, type DomainErrorKind } from '../errors.ts';
import { clip, type Logger } from '../log.ts';

const REASONS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
};

export class HttpError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly logMessage: string | undefined;
  readonly headers: Record<string, string>;
  /** The rule that refused (a domain error's reason), sent as `rule` next to `error`. */
  readonly rule: string | undefined;
  /** More fields of the answer (a domain error's details). */
  readonly details: Record<string, number | string | boolean> | undefined;

  constructor(
    status: number,
    message: string,
    options: {
      reason?: string;
      logMessage?: string;
      headers?: Record<string, string>;
      rule?: string;
      details?: Record<string, number | string | boolean>;
    } = {},
  ) {
    super(message);
    this.status = status;
    this.reason = options.reason ?? REASONS[status] ?? 'error';
    this.logMessage = options.logMessage;
    this.headers = options.headers ?? {};
    this.rule = options.rule;
    this.details = options.details;
  }
}

/** The one place a domain error's kind becomes an HTTP status. */
const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  invalid: 400,
  limit_reached: 429,
  timed_out: 408,
  unavailable: 503,
};

/** A service's refusal as the HTTP answer: `error` stays the status's word, `rule` says which rule. */
export function fromDomain(err: DomainError): HttpError {
  return new HttpError(STATUS_OF_KIND[err.kind], err.message, {
    rule: err.reason,
    ...(err.details ? { details: err.details } : {}),
    ...(err.retryAfterSeconds === undefined
      ? {}
      : { headers: { 'Retry-After': String(Math.ceil(err.retryAfterSeconds)) } }),
  });
}

/** Any error as the HttpError to answer with, or undefined for a fault of our own (500). */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof DomainError) return fromDomain(err);
  if (typeof err !== 'object' || err === null) return undefined;
  return fromBodyParser(err as BodyParserError) ?? fromDatabase(err as { code?: string });
}

export const notFound = (what: string) => new HttpError(404, `${what} not found`);
export const forbidden = (message = 'You are not allowed to do this') =>
  new HttpError(403, message);

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Express's body parser raises its own errors; translate the ones a client can cause. */
function fromBodyParser(err: BodyParserError): HttpError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpError(413, 'The request body is too large');
    case 'entity.parse.failed':
      return new HttpError(400, 'The request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'The request body encoding is not supported');
    case 'request.aborted':
      return new HttpError(400, 'The request was aborted');
    default:
      if (err.expose && (err.status ?? 0) >= 400 && (err.status ?? 0) < 500) {
        return new HttpError(err.status!, 'The request could not be read');
      }
      return undefined;
  }
}

/** Postgres constraint violations that a racing client can cause become 409, not 500. */
function fromDatabase(err: { code?: string }): HttpError | undefined {
  if (err.code === '23505') return new HttpError(409, 'That already exists');
  if (err.code === '23503')
    return new HttpError(409, 'That refers to something that no longer exists');
  return undefined;
}

export function errorWriter(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err) ?? new HttpError(500, 'Something went wrong on our side');
    const fields = { method: req.method, path: clip(req.path, 120), status: httpError.status };
    if (httpError.status >= 500) {
      log.error(
        { ...fields, err: { message: clip(err?.message, 300), stack: clip(err?.stack, 600) } },
        'request failed',
      );
    } else {
      log.info(
        {
          ...fields,
          reason: httpError.rule ?? httpError.reason,
          detail: clip(httpError.logMessage ?? httpError.message, 200),
        },
        'request refused',
      );
    }
    if (res.headersSent) return;
    res
      .status(httpError.status)
      .set(httpError.headers)
      .json({
        ...httpError.details,
        error: httpError.reason,
        message: httpError.message,
        ...(httpError.rule ? { rule: httpError.rule } : {}),
      });
  };
}
