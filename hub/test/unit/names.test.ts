import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  databaseRoleFor,
  normaliseUsername,
  safeNameFor,
  validateUsername,
} from '../../src/accounts/names.ts';
import { HttpError } from '../../src/http/errors.ts';

const refuses = (raw: string, pattern: RegExp) =>
  assert.throws(
    () => validateUsername(raw),
    (err: unknown) => err instanceof HttpError && err.status === 400 && pattern.test(err.message),
  );

test('a-b, a_b, 秀樹 map to distinct safe identifiers; A-B is the same account as a-b', () => {
  const names = ['a-b', 'a_b', '秀樹', 'ab', 'a.b'].map(validateUsername);
  const safe = names.map(safeNameFor);
  assert.equal(new Set(safe).size, names.length, `safe names collide: ${safe.join(', ')}`);
  const roles = safe.map(databaseRoleFor);
  assert.equal(new Set(roles).size, names.length);
  assert.equal(validateUsername('A-B'), 'a-b');
  for (const s of safe) assert.match(s, /^[a-z0-9][a-z0-9-]*$/);
  for (const r of roles) assert.match(r, /^orrery_u_[a-z0-9_]+$/);
});

test('has@ and other punctuation are refused with a message that says what is allowed', () => {
  refuses('has@', /letters, digits/);
  refuses('a b', /letters, digits/);
  refuses('../x', /letters, digits/);
  refuses('', /required/);
  refuses('x'.repeat(65), /at most 64/);
  refuses('x'.repeat(65536), /at most 64/);
  refuses('Admin', /reserved/);
});

test('plain names are their own safe name; others carry a hash so they never equal a plain name', () => {
  assert.equal(safeNameFor('alice'), 'alice');
  assert.match(safeNameFor('a-b'), /^a-b-[0-9a-f]{8}$/);
  assert.match(safeNameFor('秀樹'), /^u-[0-9a-f]{8}$/);
  assert.notEqual(safeNameFor('a-b'), safeNameFor('a_b'));
});

test('normalisation folds width and case (NFKC)', () => {
  assert.equal(normaliseUsername('ＡＬＩＣＥ'), 'alice');
  assert.equal(normaliseUsername('  Bob '), 'bob');
});
