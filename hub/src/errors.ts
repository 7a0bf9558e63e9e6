/**
 * Domain errors: what a service throws when one of its rules refuses. They speak of the rule,
 * not of HTTP, so a job dispatcher or a course roster can call the same service and read the
 * same refusal; the error writer (http/errors.ts) maps each kind to a status in one place.
 * `reason` is a stable code (`last_owner`, `public_group`) that clients and tests may match;
 * `message` is written for the person who asked; `details`, when set, carries figures beside it. `retryAfterSeconds`, when set, says the refusal
 * is momentary and when asking again may succeed.
 */
export type DomainErrorKind =
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'invalid'
  | 'limit_reached'
  | 'timed_out'
  | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  readonly retryAfterSeconds: number | undefined;
  /** Figures the client may act on, sent beside `message` (e.g. a quota's `used_bytes`). */
  readonly details: Record<string, number | string | boolean> | undefined;
  constructor(
    readonly reason: string,
    message: string,
    options: {
      retryAfterSeconds?: number;
      details?: Record<string, number | string | boolean>;
    } = {},
  ) {
    super(message);
    this.name = new.target.name;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

/** The base of one kind's class: each kind below is this with its doc comment. */
function ofKind<K extends DomainErrorKind>(kind: K) {
  abstract class OfKind extends DomainError {
    readonly kind = kind;
  }
  return OfKind;
}

/** The thing does not exist, or the caller may not know that it does. */
export class NotFound extends ofKind('not_found') {}

/** The caller may see the thing but not do this to it. */
export class Forbidden extends ofKind('forbidden') {}

/** The request is well formed but clashes with the state of things (a rule such as "one owner"). */
export class Conflict extends ofKind('conflict') {}

/** The request itself makes no sense (a group inside itself). */
export class Invalid extends ofKind('invalid') {}

/** A cap is reached: a user's (undo something first) or the hub's for now (retry later). */
export class LimitReached extends ofKind('limit_reached') {}

/** The work ran past its time limit and was stopped (a quick query); retrying it unchanged will too. */
export class TimedOut extends ofKind('timed_out') {}

/** Something the request needs is not offered on this hub right now. */
export class Unavailable extends ofKind('unavailable') {}
