import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertScope, effectiveScopes, SCOPES } from '../../src/auth/scopes.ts';
import { route } from '../../src/http/route.ts';

test('all expands to every scope, but admin only for admins', () => {
  const user = effectiveScopes(['all'], false);
  assert.ok(!user.has('admin'));
  assert.equal(user.size, Object.keys(SCOPES).length - 1);
  assert.ok(effectiveScopes(['all'], true).has('admin'));
});

test('write scopes imply their read scopes; unknown scopes give nothing', () => {
  assert.deepEqual([...effectiveScopes(['groups'], false)].sort(), ['groups', 'read:groups']);
  assert.deepEqual([...effectiveScopes(['nonsense'], false)], []);
  assert.deepEqual([...effectiveScopes(['admin'], false)], []);
});

test('a route naming an unknown scope fails when declared, not when called', () => {
  assert.throws(() => assertScope('groupz'), /Unknown scope "groupz"/);
  assert.throws(
    () =>
      route({
        method: 'get',
        path: '/x',
        tag: 't',
        summary: 's',
        access: { scope: 'nope' as never },
        handler: async () => ({}),
      }),
    /Unknown scope/,
  );
});
