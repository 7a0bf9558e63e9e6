/** The pure rules of a course: roles, who may change whom, dates, names, the roster CSV, links. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDates,
  checkSlug,
  courseRoleOf,
  csvField,
  groupRoleOf,
  inviteHours,
  isArchived,
  isDue,
  isLate,
  linkStaysInside,
  mayLeave,
  mayManage,
  requireStaff,
  requireTeacher,
  rosterEntries,
} from '../../src/courses/rules.ts';

test('course roles are group roles: teacher OWNER, TA ADMIN, student MEMBER', () => {
  assert.equal(courseRoleOf('OWNER'), 'teacher');
  assert.equal(courseRoleOf('ADMIN'), 'ta');
  assert.equal(courseRoleOf('MEMBER'), 'student');
  assert.equal(courseRoleOf(null), null);
  for (const role of ['teacher', 'ta', 'student'] as const)
    assert.equal(courseRoleOf(groupRoleOf(role)), role);
});

test('who may add or remove whom', () => {
  const table: [Parameters<typeof mayManage>[0], Parameters<typeof mayManage>[1], boolean][] = [
    ['teacher', 'student', true],
    ['teacher', 'ta', true],
    ['teacher', 'teacher', false],
    ['ta', 'student', true],
    ['ta', 'ta', false],
    ['ta', 'teacher', false],
    ['student', 'student', false],
    ['student', 'ta', false],
    [null, 'student', false],
  ];
  for (const [actor, target, expected] of table)
    assert.equal(mayManage(actor, target), expected, `${actor} → ${target}`);
  assert.equal(mayLeave('student'), true);
  assert.equal(mayLeave('ta'), true);
  assert.equal(mayLeave('teacher'), false);
  assert.throws(() => requireStaff('student'), { reason: 'not_staff' });
  assert.doesNotThrow(() => requireStaff('ta'));
  assert.throws(() => requireTeacher('ta'), { reason: 'not_teacher' });
});

test('date rules: released at, late after (not at) the due date, archived from the end date', () => {
  const t = (iso: string) => new Date(iso);
  assert.equal(isDue(t('2026-09-02T08:00:00Z'), t('2026-09-02T07:59:59Z')), false);
  assert.equal(isDue(t('2026-09-02T08:00:00Z'), t('2026-09-02T08:00:00Z')), true);
  assert.equal(isLate(t('2026-09-09T08:00:00Z'), t('2026-09-09T08:00:00Z')), false);
  assert.equal(isLate(t('2026-09-09T08:00:00Z'), t('2026-09-09T08:00:00.001Z')), true);
  assert.equal(isLate(null, t('2099-01-01T00:00:00Z')), false, 'no due date: never late');
  assert.equal(isArchived(t('2026-12-20T00:00:00Z'), t('2026-12-19T23:59:59Z')), false);
  assert.equal(isArchived(t('2026-12-20T00:00:00Z'), t('2026-12-20T00:00:00Z')), true);
  assert.throws(() => checkDates(t('2026-09-02T00:00:00Z'), t('2026-09-01T00:00:00Z')), {
    reason: 'due_before_release',
  });
  assert.throws(() => checkDates(t('2026-09-02T00:00:00Z'), t('2026-09-02T00:00:00Z')));
  assert.throws(() => checkDates(new Date('nope'), null), { reason: 'date' });
  assert.doesNotThrow(() => checkDates(t('2026-09-02T00:00:00Z'), null));
});

test('slugs and names: lower-case letters, digits and "-", 1-40, no leading "-"', () => {
  for (const good of ['a', 'astro101', 'hw-1', '9', 'a'.repeat(40)])
    assert.equal(checkSlug(good, 'slug'), good);
  for (const bad of ['', '-a', 'A', 'a_b', 'a.b', 'a/b', '..', 'a'.repeat(41), 'é', 'a b'])
    assert.throws(() => checkSlug(bad, 'name'), { reason: 'assignment_name' }, bad);
});

test('invitation lifetime: default a week, 1 to 2160 hours', () => {
  assert.equal(inviteHours(undefined), 168);
  assert.equal(inviteHours(1), 1);
  assert.equal(inviteHours(2160), 2160);
  for (const bad of [0, -1, 2161, 1.5]) assert.throws(() => inviteHours(bad), String(bad));
});

test('roster entries: names and CSV lines, header skipped, trimmed, first column, deduplicated', () => {
  assert.deepEqual(
    rosterEntries([' sam ', 'sue'], 'username\nsam\r\n"lee@example.org",Lee Smith\n\n  olga  \n'),
    ['sam', 'sue', 'lee@example.org', 'olga'],
  );
  assert.deepEqual(rosterEntries([], 'email\n'), []);
  assert.deepEqual(rosterEntries(undefined, 'username'), [], 'a header alone');
  assert.deepEqual(
    rosterEntries(undefined, 'amy\nusername\n'),
    ['amy', 'username'],
    'only the first line is a header',
  );
  assert.throws(() => rosterEntries(Array.from({ length: 2001 }, (_, i) => `u${i}`)), {
    reason: 'roster_size',
  });
});

test('links are copied only when relative and inside the copied tree', () => {
  assert.equal(linkStaysInside([], 'data/stars.csv'), true);
  assert.equal(linkStaysInside(['a', 'b'], '../c'), true);
  assert.equal(linkStaysInside(['a'], '../b/../c'), true);
  assert.equal(linkStaysInside([], '../outside'), false);
  assert.equal(linkStaysInside(['a'], '../../outside'), false);
  assert.equal(linkStaysInside([], '/etc/passwd'), false);
  assert.equal(linkStaysInside([], ''), false);
  assert.equal(linkStaysInside([], '.'), false, 'the tree itself (a loop)');
  assert.equal(linkStaysInside(['a'], '..'), false, 'the tree itself (a loop)');
  assert.equal(linkStaysInside([], 'a\0b'), false);
});

test('CSV fields: quoted when needed, formulas defused, null empty', () => {
  assert.equal(csvField('sam'), 'sam');
  assert.equal(csvField(9.5), '9.5');
  assert.equal(csvField(true), 'true');
  assert.equal(csvField(null), '');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('line\nbreak'), '"line\nbreak"');
  assert.equal(csvField('=1+1'), "'=1+1");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvField(-3), '-3', 'a negative score is a number, not a formula');
});
