/** The files service's pure rules: volume names, path checks, root volume config, ranges. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRootVolumes } from '../../src/files/config.ts';
import { checkVolumeName, pathSegments } from '../../src/files/names.ts';
import { describeUsage } from '../../src/files/quota.ts';
import { parseRange } from '../../src/files/routes.ts';

test('volume names: 1-64 of letters, digits, -_. and no leading dot', () => {
  for (const good of ['persistent', 'a', 'run_2024-01.v2', 'x'.repeat(64), '_x', '-x'])
    assert.equal(checkVolumeName(good), good);
  for (const bad of ['', '.hidden', 'x'.repeat(65), 'a/b', 'a b', 'é', '..', 'a\u0000'])
    assert.throws(() => checkVolumeName(bad), /volume name/, JSON.stringify(bad));
});

test('paths split into checked segments; the volume itself is empty', () => {
  assert.deepEqual(pathSegments(''), []);
  assert.deepEqual(pathSegments('a/b/c.txt'), ['a', 'b', 'c.txt']);
  assert.deepEqual(pathSegments('a/b/'), ['a', 'b']);
  assert.deepEqual(pathSegments('秀樹/caf\u00e9'), ['秀樹', 'caf\u00e9']);
});

test('every escape and odd name is refused', () => {
  const refused = [
    '/etc',
    '\\share',
    '..',
    'a/..',
    'a/../b',
    './a',
    'a//b',
    'a\u0000',
    'cafe\u0301',
    'a\u202Eb',
    'a\u200Fb',
    'a\u2066b',
    'a\u200Bb',
    '\ufeffa',
    'a\u0085b',
    'tab\tname',
    'x'.repeat(256),
    'é'.repeat(128),
    Array.from({ length: 17 }, () => 'y'.repeat(250)).join('/'),
  ];
  for (const bad of refused)
    assert.throws(() => pathSegments(bad), { reason: 'bad_path' }, JSON.stringify(bad));
  assert.deepEqual(pathSegments('x'.repeat(255)), ['x'.repeat(255)]);
});

test('root volumes: defaults under the state folder; a bad entry stops the hub', () => {
  const roots = parseRootVolumes(undefined, '/srv/orrery');
  assert.deepEqual(
    roots.map((r) => [r.name, r.path, r.quota_bytes, r.purge_after_days]),
    [
      ['Storage', '/srv/orrery/volumes/storage', 10 * 1024 ** 3, undefined],
      ['Temporary', '/srv/orrery/volumes/temporary', undefined, 30],
    ],
  );
  const custom = parseRootVolumes(
    '[{"name":"Storage","path":"/nfs/s","quota_bytes":5,"backed_up":true}]',
    '/x',
  );
  assert.deepEqual(custom, [{ name: 'Storage', path: '/nfs/s', quota_bytes: 5, backed_up: true }]);
  for (const bad of [
    'not json',
    '[]',
    '[{"name":"Data","path":"/d"}]',
    '[{"name":"S","path":"relative"}]',
    '[{"name":"S","path":"/a"},{"name":"s","path":"/b"}]',
    '[{"name":"S","path":"/a","quota_bytes":-1}]',
    '[{"name":"S","path":"/a","extra":1}]',
  ])
    assert.throws(() => parseRootVolumes(bad, '/x'), /ORRERY_ROOT_VOLUMES/, bad);
});

test('usage warns at 90% of the quota', () => {
  assert.equal(describeUsage('Storage', 899, 1000).warning, false);
  assert.deepEqual(describeUsage('Storage', 900, 1000), {
    root: 'Storage',
    used_bytes: 900,
    quota_bytes: 1000,
    percent: 90,
    warning: true,
  });
  assert.equal(describeUsage('Temporary', 10 ** 12, null).warning, false);
});

test('ranges: one range, clipped to the file; outside it is 416', () => {
  assert.equal(parseRange(undefined, 10), null);
  assert.deepEqual(parseRange('bytes=2-5', 10), { start: 2, end: 5 });
  assert.deepEqual(parseRange('bytes=7-', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
  for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-'])
    assert.throws(() => parseRange(bad, 10), { status: 416 }, bad);
});
