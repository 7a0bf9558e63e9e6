import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertScope, effectiveScopes, SCOPES } from '../../src/auth/scopes.ts';
import { route } from '../../src/http/route.ts';

test('all expands to every scope, but the admin-only ones only for admins', () => {
  const user = effectiveScopes(['all'], false);
  for (const scope of [
    'admin',
    'admin:users',
    'admin:servers',
    'read:hub',
    'read:metrics',
  ] as const)
    assert.ok(!user.has(scope), scope);
  assert.equal(user.size, Object.keys(SCOPES).length - 5);
  assert.equal(effectiveScopes(['all'], true).size, Object.keys(SCOPES).length);
});

test('JupyterHub’s scope hierarchy: admin:users and servers imply their parts', () => {
  assert.deepEqual([...effectiveScopes(['servers'], false)].sort(), [
    'delete:servers',
    'read:servers',
    'servers',
  ]);
  assert.deepEqual([...effectiveScopes(['admin:users'], false)], []);
  assert.ok(effectiveScopes(['admin:users'], true).has('read:users:activity'));
  assert.ok(effectiveScopes(['tokens'], false).has('read:tokens'));
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
