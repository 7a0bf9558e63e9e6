import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request, Response } from 'express';
import {
  Conflict,
  type DomainError,
  Forbidden,
  Invalid,
  LimitReached,
  NotFound,
  TimedOut,
  Unavailable,
} from '../../src/errors.ts';
import { errorWriter, HttpError, toHttpError } from '../../src/http/errors.ts';
import { createLogger } from '../../src/log.ts';

/** What the error writer answers for `err`: status, headers and the JSON body. */
function answerTo(err: unknown) {
  const answer = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const res = {
    headersSent: false,
    status(code: number) {
      answer.status = code;
      return res;
    },
    set(headers: Record<string, string>) {
      Object.assign(answer.headers, headers);
      return res;
    },
    json(body: unknown) {
      answer.body = body;
      return res;
    },
  };
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(line) });
  const req = { method: 'POST', path: '/hub/api/groups' } as Request;
  errorWriter(log)(err, req, res as unknown as Response, () => {});
  return { ...answer, lines };
}

test('each kind of domain error becomes one status, its word, and the rule that refused', () => {
  const cases: [DomainError, number, string][] = [
    [new NotFound('group', 'Group not found'), 404, 'not_found'],
    [new Forbidden('role_rank', 'You cannot remove a OWNER'), 403, 'forbidden'],
    [new Conflict('last_owner', 'The last owner cannot leave'), 409, 'conflict'],
    [new Invalid('nest_self', 'A group cannot contain itself'), 400, 'bad_request'],
    [new LimitReached('group_cap', 'You own 3 groups'), 429, 'too_many_requests'],
    [new TimedOut('query_time_limit', 'The query reached the time limit'), 408, 'timeout'],
    [new Unavailable('no_image', 'No image is offered'), 503, 'unavailable'],
  ];
  for (const [err, status, word] of cases) {
    const answer = answerTo(err);
    assert.equal(answer.status, status, err.name);
    assert.deepEqual(answer.body, { error: word, message: err.message, rule: err.reason });
  }
});

test('a momentary refusal carries its retry hint as Retry-After; others carry none', () => {
  const busy = answerTo(
    new LimitReached('spawn_busy', 'Too many servers are starting', { retryAfterSeconds: 10 }),
  );
  assert.equal(busy.status, 429);
  assert.equal(busy.headers['Retry-After'], '10');
  assert.deepEqual(busy.body, {
    error: 'too_many_requests',
    message: 'Too many servers are starting',
    rule: 'spawn_busy',
  });
  const partial = answerTo(new Unavailable('stop_failed', 'Try later', { retryAfterSeconds: 2.5 }));
  assert.equal(partial.headers['Retry-After'], '3', 'whole seconds, rounded up');
  const capped = answerTo(new LimitReached('group_cap', 'You own 3 groups'));
  assert.equal(capped.status, 429);
  assert.equal(capped.headers['Retry-After'], undefined, 'a per-user cap is not waited out');
});

test('a refusal is logged with its rule; a domain error is never a 500', () => {
  const answer = answerTo(new Conflict('last_owner', 'The last owner cannot leave'));
  assert.equal(answer.lines.length, 1);
  const line = JSON.parse(answer.lines[0]!);
  assert.equal(line.msg, 'request refused');
  assert.equal(line.reason, 'last_owner');
  assert.equal(line.level, 30, 'info, not error');
});

test('HTTP errors keep their answer: no rule unless one was given', () => {
  assert.deepEqual(answerTo(new HttpError(404, 'Group not found')).body, {
    error: 'not_found',
    message: 'Group not found',
  });
  const limited = answerTo(new HttpError(429, 'Slow down', { headers: { 'Retry-After': '3' } }));
  assert.equal(limited.headers['Retry-After'], '3');
});

test('anything else is a 500 that tells the client nothing of the cause', () => {
  const answer = answerTo(new TypeError('secret detail'));
  assert.equal(answer.status, 500);
  assert.deepEqual(answer.body, {
    error: 'internal_error',
    message: 'Something went wrong on our side',
  });
  assert.equal(toHttpError(new Error('x')), undefined);
  assert.equal(toHttpError({ code: '23505' })?.status, 409, 'a unique violation is a conflict');
});

test('a domain error’s details are fields of the answer, never in place of error, message or rule', () => {
  const answer = answerTo(
    new Forbidden('quota_exceeded', 'Over quota', {
      details: { used_bytes: 10, quota_bytes: 5, error: 'spoofed', rule: 'spoofed' },
    }),
  );
  assert.equal(answer.status, 403);
  assert.deepEqual(answer.body, {
    used_bytes: 10,
    quota_bytes: 5,
    error: 'forbidden',
    message: 'Over quota',
    rule: 'quota_exceeded',
  });
});
