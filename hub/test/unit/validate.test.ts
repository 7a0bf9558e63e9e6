import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { HttpError } from '../../src/http/errors.ts';
import { compileValidator, validatePart } from '../../src/http/validate.ts';

const schema = Type.Object(
  { name: Type.String({ maxLength: 5 }), n: Type.Optional(Type.Integer()) },
  { additionalProperties: false },
);

const message = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 400);
    return err.message;
  }
  assert.fail('did not throw');
};

test('body errors name the field', () => {
  const v = compileValidator(schema, 'body');
  assert.equal(
    message(() => validatePart(v, { name: 1 }, 'body')),
    'Invalid body field "name": must be string',
  );
  assert.equal(
    message(() => validatePart(v, { name: 'a', extra: 1 }, 'body')),
    'Unknown body field "extra"',
  );
  assert.equal(
    message(() => validatePart(v, {}, 'body')),
    'Missing body field "name"',
  );
  assert.match(
    message(() => validatePart(v, undefined, 'body')),
    /JSON request body is required/,
  );
  assert.match(
    message(() => validatePart(v, { name: 'toolong' }, 'body')),
    /"name": must NOT have more than 5 characters/,
  );
});

test('query values are coerced, and bad ones named', () => {
  const v = compileValidator(schema, 'query');
  const query = { name: 'a', n: '3' };
  validatePart(v, query, 'query');
  assert.equal(query.n, 3);
  assert.equal(
    message(() => validatePart(v, { name: 'a', n: 'x' }, 'query')),
    'Invalid query parameter "n": must be integer',
  );
});
