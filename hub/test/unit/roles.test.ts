import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atLeast, mayChangeRole, mayInvite, mayRemove } from '../../src/groups/roles.ts';

test('role ranking', () => {
  assert.ok(atLeast('OWNER', 'ADMIN'));
  assert.ok(atLeast('ADMIN', 'ADMIN'));
  assert.ok(!atLeast('MEMBER', 'ADMIN'));
  assert.ok(!atLeast(null, 'MEMBER'));
});

test('admins invite members and admins; only owners invite owners; members invite nobody', () => {
  assert.ok(mayInvite('ADMIN', 'MEMBER'));
  assert.ok(mayInvite('ADMIN', 'ADMIN'));
  assert.ok(!mayInvite('ADMIN', 'OWNER'));
  assert.ok(mayInvite('OWNER', 'OWNER'));
  assert.ok(!mayInvite('MEMBER', 'MEMBER'));
  assert.ok(!mayInvite(null, 'MEMBER'));
});

test('only owners touch owners', () => {
  assert.ok(mayChangeRole('ADMIN', 'MEMBER', 'ADMIN'));
  assert.ok(!mayChangeRole('ADMIN', 'OWNER', 'MEMBER'));
  assert.ok(!mayChangeRole('ADMIN', 'MEMBER', 'OWNER'));
  assert.ok(mayChangeRole('OWNER', 'ADMIN', 'OWNER'));
  assert.ok(!mayChangeRole('MEMBER', 'MEMBER', 'ADMIN'));
});

test('anyone may leave; admins remove members and admins; owners only by owners', () => {
  assert.ok(mayRemove('MEMBER', 'MEMBER', true));
  assert.ok(!mayRemove('MEMBER', 'MEMBER', false));
  assert.ok(mayRemove('ADMIN', 'ADMIN', false));
  assert.ok(!mayRemove('ADMIN', 'OWNER', false));
  assert.ok(mayRemove('OWNER', 'OWNER', false));
});
