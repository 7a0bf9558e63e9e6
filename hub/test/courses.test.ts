/**
 * Courses against a real hub, real PostgreSQL and real files on disk, through the HTTP API, with
 * an injected clock the test moves: the roster (names, CSV, invitation codes, TAs, leaving,
 * every change in the activity log), release dates, copies, submissions (snapshots, numbering,
 * late, concurrent), collect, return, grades and CSV, removal mid-course and the archive.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { submissionsFolder } from '../src/courses/areas.ts';
import { coursesModule, coursesModuleWith } from '../src/courses/module.ts';
import type { CoursesService } from '../src/courses/service.ts';
import { hubArea } from '../src/files/disk.ts';
import { filesModule } from '../src/files/module.ts';
import type { FilesService } from '../src/files/service.ts';
import { MODULES } from '../src/modules.ts';
import { activityKeysNotSnakeCase, Client, signUp, startTestHub, type TestHub } from './support.ts';

const API = '/hub/api';
const C = `${API}/courses/astro101`;
let now = new Date('2026-09-01T08:00:00Z');
const at = (iso: string) => new Date(iso).toISOString();
let hub: TestHub;
let db: pg.Pool;
let files: FilesService;
let courses: CoursesService;
const users: Record<string, Client> = {};
const ids: Record<string, number> = {};

/** A user's volume's folder on disk (their own or one they may read). */
async function hostOf(user: string, owner: string, volume: string) {
  const view = await files.viewOf(ids[user]!);
  const found = view.find((v) => v.root === 'Storage' && v.owner === owner && v.volume === volume);
  return found;
}
const exists = (p: string) =>
  fsp.lstat(p).then(
    () => true,
    () => false,
  );

before(async () => {
  const withClock = MODULES.map((module) =>
    module === coursesModule ? coursesModuleWith({ clock: () => now }) : module,
  );
  hub = await startTestHub('courses', { apiRequestsPerMinute: 100_000 }, withClock);
  db = new pg.Pool({ connectionString: hub.databaseUrl });
  files = hub.modules.serviceOf(filesModule);
  courses = hub.modules.serviceOf(withClock.find((m) => m.name === 'courses')!) as CoursesService;
  for (const name of ['tina', 'tom', 'sam', 'sue', 'lee', 'olga'])
    users[name] = await signUp(hub.url, name);
  for (const row of (await db.query('SELECT id, name FROM users')).rows)
    ids[row.name] = Number(row.id);
  // The teacher's material, in her workspace.
  const home = (await hostOf('tina', 'tina', 'persistent'))!.host_path;
  await fsp.mkdir(path.join(home, 'notes'), { recursive: true });
  await fsp.writeFile(path.join(home, 'notes', 'week1.md'), '# Week 1\n');
  await fsp.mkdir(path.join(home, 'hw1', 'data'), { recursive: true });
  await fsp.writeFile(path.join(home, 'hw1', 'task.ipynb'), '{"cells": []}');
  await fsp.writeFile(path.join(home, 'hw1', 'data', 'stars.csv'), 'ra,dec\n1,2\n');
  // A link out of the teacher's volume is never copied; one inside the folder is.
  await fsp.symlink('/etc/passwd', path.join(home, 'hw1', 'passwd'));
  await fsp.symlink('data/stars.csv', path.join(home, 'hw1', 'stars-link.csv'));
  await fsp.mkdir(path.join(home, 'hw2'));
  await fsp.writeFile(path.join(home, 'hw2', 'task.ipynb'), '{"cells": [1]}');
});

after(async () => {
  await db.end();
  await hub.stop();
});

const source = (folder: string) => ({
  root: 'Storage',
  owner: 'tina',
  volume: 'persistent',
  path: folder,
});

/** The roster changes in a user's activity log, newest first (each names the course). */
async function activityTypes(user: string) {
  const res = await users[user]!.get(`${API}/activity?type=course.*`);
  assert.equal(res.status, 200);
  const roster = /^course\.(roster_add|roster_remove|roster_role|join|leave)$/;
  return res.json.events
    .filter((e: { type: string }) => roster.test(e.type))
    .map((e: { type: string; payload: { course: string } }) => {
      assert.equal(e.payload.course, 'astro101');
      return e.type;
    });
}

describe('courses', () => {
  test('create: the teacher owns the group; slugs are checked and unique', async () => {
    const made = await users.tina!.post(`${API}/courses`, {
      slug: 'astro101',
      title: 'Astronomy 101',
      term: 'Fall 2026',
      ends_at: at('2026-12-20T00:00:00Z'),
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.role, 'teacher');
    assert.equal(made.json.archived, false);
    assert.deepEqual(made.json.counts, { students: 0, tas: 0 });
    const group = await users.tina!.get(`${API}/groups/${made.json.group_id}`);
    assert.equal(group.json.role, 'OWNER');
    const again = await users.olga!.post(`${API}/courses`, {
      slug: 'astro101',
      title: 'x',
      ends_at: at('2027-01-01T00:00:00Z'),
    });
    assert.equal(again.status, 409);
    for (const slug of ['Astro', '-a', 'a'.repeat(41), 'a_b']) {
      const bad = await users.olga!.post(`${API}/courses`, {
        slug,
        title: 'x',
        ends_at: at('2027-01-01T00:00:00Z'),
      });
      assert.equal(bad.status, 400, slug);
    }
    assert.equal((await users.olga!.get(C)).status, 404, 'not a member: not found');
  });

  test('roster: TAs by the teacher, students by names and CSV (emails, unknowns reported)', async () => {
    const ta = await users.tina!.post(`${C}/roster`, { names: ['tom'], role: 'ta' });
    assert.deepEqual(ta.json, { added: ['tom'], already: [], unknown: [] });
    const added = await users.tom!.post(`${C}/roster`, {
      names: ['sam', 'TOM'],
      csv: 'email\nsue@example.org\nghost@example.org\n\nnobody\n',
    });
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(added.json.added.sort(), ['sam', 'sue']);
    assert.deepEqual(added.json.already, ['tom']);
    assert.deepEqual(added.json.unknown, ['ghost@example.org', 'nobody']);
    const taByTa = await users.tom!.post(`${C}/roster`, { names: ['olga'], role: 'ta' });
    assert.equal(taByTa.status, 403);
    assert.equal(taByTa.json.rule, 'not_teacher');
    const byStudent = await users.sam!.get(`${C}/roster`);
    assert.equal(byStudent.status, 403);
    assert.equal(byStudent.json.rule, 'not_staff');
    const roster = await users.tom!.get(`${C}/roster`);
    assert.deepEqual(
      roster.json.members.map((m: { name: string; role: string }) => `${m.name}:${m.role}`),
      ['tina:teacher', 'tom:ta', 'sam:student', 'sue:student'],
    );
    assert.deepEqual(await activityTypes('sam'), ['course.roster_add']);
    assert.deepEqual(await activityTypes('tom'), ['course.roster_add']);
    const mine = await users.sam!.get(`${API}/courses`);
    assert.deepEqual(
      mine.json.courses.map((c: { slug: string; role: string }) => [c.slug, c.role]),
      [['astro101', 'student']],
    );
    assert.equal(mine.json.courses[0].counts, undefined, 'counts are for staff');
  });

  test('the groups API reads a course’s group and changes none of it', async () => {
    const course = await users.tina!.get(C);
    const G = `${API}/groups/${course.json.group_id}`;
    const group = await users.tina!.get(G);
    assert.equal(group.json.kind, 'course');
    const mine = await users.sam!.get(`${API}/groups`);
    assert.ok(mine.json.groups.some((g: { id: number }) => g.id === course.json.group_id));
    const attempts = [
      await users.tina!.post(`${G}/invitations`, { username: 'lee', role: 'MEMBER' }),
      await users.tina!.patch(`${G}/members/sam`, { role: 'ADMIN' }),
      await users.tina!.delete(`${G}/members/sam`),
      await users.sam!.delete(`${G}/members/sam`),
      await users.tina!.patch(G, { description: 'renamed' }),
      await users.tina!.delete(G),
    ];
    for (const answer of attempts) {
      assert.equal(answer.status, 409, answer.text);
      assert.equal(answer.json.rule, 'course_group');
    }
    // Nor nested into another group, where its roster would gain what that group is given.
    const other = await users.tina!.post(`${API}/groups`, { name: 'tina-lab' });
    const nest = await users.tina!.post(`${API}/groups/${other.json.id}/subgroups`, {
      group_id: course.json.group_id,
    });
    assert.equal(nest.status, 409, nest.text);
    assert.equal(nest.json.rule, 'course_group');
    await users.tina!.delete(`${API}/groups/${other.json.id}`);
    const roster = await users.tina!.get(`${C}/roster`);
    assert.deepEqual(
      roster.json.members.map((m: { name: string; role: string }) => `${m.name}:${m.role}`),
      ['tina:teacher', 'tom:ta', 'sam:student', 'sue:student'],
    );
  });

  test('release: a lecture folder now, a copy held back until its date (lazily and by the sweeper)', async () => {
    const lecture = await users.tina!.post(`${C}/assignments`, {
      name: 'notes',
      source: source('notes'),
      mode: 'lecture',
    });
    assert.equal(lecture.status, 201, lecture.text);
    assert.equal(lecture.json.released, true);
    assert.equal(lecture.json.path_in_lecture, 'volumes/Storage/tina/course-astro101/notes');
    const hw1 = await users.tina!.post(`${C}/assignments`, {
      name: 'hw1',
      title: 'Homework 1',
      source: source('hw1'),
      mode: 'copy',
      release_at: at('2026-09-02T08:00:00Z'),
      due_at: at('2026-09-09T08:00:00Z'),
    });
    assert.equal(hw1.status, 201, hw1.text);
    assert.equal(hw1.json.released, false);
    assert.equal(hw1.json.copy_path, 'courses/astro101/hw1');
    const byTa = await users.tom!.post(`${C}/assignments`, {
      name: 'x',
      source: source('hw1'),
      mode: 'copy',
    });
    assert.equal(byTa.status, 403);
    // The lecture volume is in every member's view, read-only; the folder is in it.
    const shared = await hostOf('sam', 'tina', 'course-astro101');
    assert.ok(shared?.read_only);
    assert.equal(
      await fsp.readFile(path.join(shared!.host_path, 'notes', 'week1.md'), 'utf8'),
      '# Week 1\n',
    );
    assert.equal(await hostOf('olga', 'tina', 'course-astro101'), undefined);
    const held = await users.sam!.get(`${C}/assignments`);
    assert.deepEqual(
      held.json.assignments.map((a: { name: string }) => a.name),
      ['notes'],
    );
    const early = await users.sam!.post(`${C}/assignments/hw1/submissions`, {});
    assert.equal(early.status, 404, 'before its release an assignment does not exist for students');
    const samHome = (await hostOf('sam', 'sam', 'persistent'))!.host_path;
    assert.equal(await exists(path.join(samHome, 'courses/astro101/hw1')), false);
    // The release date passes: the next read releases it.
    now = new Date('2026-09-02T08:00:00Z');
    const released = await users.sam!.get(`${C}/assignments`);
    const mine = released.json.assignments.find((a: { name: string }) => a.name === 'hw1');
    assert.equal(mine.released, true);
    assert.equal(mine.mine.fetched, true);
    assert.equal(mine.counts, undefined);
    const copy = path.join(samHome, 'courses/astro101/hw1');
    assert.equal(await fsp.readFile(path.join(copy, 'data/stars.csv'), 'utf8'), 'ra,dec\n1,2\n');
    assert.equal(await fsp.readlink(path.join(copy, 'stars-link.csv')), 'data/stars.csv');
    assert.equal(await exists(path.join(copy, 'passwd')), false, 'a link out is never copied');
    // hw2 is released by the sweeper, driven by the same clock.
    await users.tina!.post(`${C}/assignments`, {
      name: 'hw2',
      source: source('hw2'),
      mode: 'copy',
      release_at: at('2026-09-03T08:00:00Z'),
    });
    const sueHome = (await hostOf('sue', 'sue', 'persistent'))!.host_path;
    await courses.sweep();
    assert.equal(await exists(path.join(sueHome, 'courses/astro101/hw2')), false);
    now = new Date('2026-09-03T09:00:00Z');
    await courses.sweep();
    assert.ok(await exists(path.join(sueHome, 'courses/astro101/hw2/task.ipynb')));
    const moved = await users.tina!.patch(`${C}/assignments/hw2`, {
      release_at: at('2026-09-05T00:00:00Z'),
    });
    assert.equal(moved.status, 409);
    assert.equal((await users.tina!.delete(`${C}/assignments/hw2`)).status, 409);
    // An existing copy is never overwritten; a missing one is made again by fetch.
    await fsp.writeFile(path.join(sueHome, 'courses/astro101/hw2/task.ipynb'), 'my work');
    const fetched = await users.sue!.post(`${C}/assignments/hw2/fetch`);
    assert.deepEqual(fetched.json, { path: 'courses/astro101/hw2' });
    assert.equal(
      await fsp.readFile(path.join(sueHome, 'courses/astro101/hw2/task.ipynb'), 'utf8'),
      'my work',
    );
    await fsp.rm(path.join(sueHome, 'courses/astro101/hw2'), { recursive: true });
    await users.sue!.post(`${C}/assignments/hw2/fetch`);
    assert.ok(await exists(path.join(sueHome, 'courses/astro101/hw2/task.ipynb')));
  });

  test('submit: snapshots, numbered (concurrent ones too); the latest counts; late after the due date', async () => {
    const samHome = (await hostOf('sam', 'sam', 'persistent'))!.host_path;
    const answer = path.join(samHome, 'courses/astro101/hw1/answer.txt');
    await fsp.writeFile(answer, 'first');
    // A link a student makes to another user's files is not followed into the snapshot.
    await fsp.symlink('/etc/hostname', path.join(samHome, 'courses/astro101/hw1/sneaky'));
    const first = await users.sam!.post(`${C}/assignments/hw1/submissions`, {});
    assert.equal(first.status, 201, first.text);
    assert.equal(first.json.number, 1);
    assert.equal(first.json.late, false);
    await fsp.writeFile(answer, 'second');
    const second = await users.sam!.post(`${C}/assignments/hw1/submissions`, {});
    assert.equal(second.json.number, 2);
    const area = submissionsFolder(
      files.volumes.root('Storage'),
      (await db.query(`SELECT id FROM courses WHERE slug = 'astro101'`)).rows[0].id,
      (await db.query(`SELECT id FROM course_assignments WHERE name = 'hw1'`)).rows[0].id,
      ids.sam!,
    );
    assert.equal(await fsp.readFile(path.join(area, '1', 'answer.txt'), 'utf8'), 'first');
    assert.equal(await fsp.readFile(path.join(area, '2', 'answer.txt'), 'utf8'), 'second');
    assert.equal(await exists(path.join(area, '2', 'sneaky')), false);
    // Staff submit nothing; a teacher is not a student.
    assert.equal((await users.tina!.post(`${C}/assignments/hw1/submissions`, {})).status, 403);
    // Six at once (before the due date) get six numbers.
    const all = await Promise.all(
      Array.from({ length: 6 }, () => users.sue!.post(`${C}/assignments/hw1/submissions`, {})),
    );
    assert.ok(all.every((res) => res.status === 201));
    assert.deepEqual(all.map((res) => res.json.number).sort(), [1, 2, 3, 4, 5, 6]);
    assert.ok(all.every((res) => res.json.late === false));
    // The due date passes: accepted, marked late.
    now = new Date('2026-09-09T08:00:01Z');
    const late = await users.sam!.post(`${C}/assignments/hw1/submissions`, {});
    assert.equal(late.json.number, 3);
    assert.equal(late.json.late, true);
  });

  test('a student sees only their own submissions; the hub area is in no view', async () => {
    const own = await users.sue!.get(`${C}/assignments/hw1/submissions`);
    assert.equal(own.status, 200);
    assert.ok(own.json.submissions.every((s: { student: string }) => s.student === 'sue'));
    const other = await users.sue!.get(`${C}/assignments/hw1/submissions?student=sam`);
    assert.equal(other.status, 404);
    const staff = await users.tom!.get(`${C}/assignments/hw1/submissions`);
    assert.deepEqual(
      staff.json.submissions.map((s: { student: string; number: number; count: number }) => [
        s.student,
        s.number,
        s.count,
      ]),
      [
        ['sam', 3, 3],
        ['sue', 6, 6],
      ],
    );
    const outsider = await users.olga!.get(`${C}/assignments/hw1/submissions`);
    assert.equal(outsider.status, 404);
    // A submission larger than what is left of the Storage quota is refused, and nothing kept.
    await db.query(
      `INSERT INTO file_usage (user_id, root, quota_bytes) VALUES ($1, 'Storage', 10)
       ON CONFLICT (user_id, root) DO UPDATE SET quota_bytes = 10`,
      [ids.sue],
    );
    const tooBig = await users.sue!.post(`${C}/assignments/hw1/submissions`, {});
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.json.error, 'quota_exceeded');
    await db.query(`UPDATE file_usage SET quota_bytes = NULL WHERE user_id = $1`, [ids.sue]);
    const kept = await users.sue!.get(`${C}/assignments/hw1/submissions`);
    assert.equal(kept.json.submissions.length, 6);
    const area = hubArea(files.volumes.root('Storage'));
    for (const name of Object.keys(ids)) {
      for (const v of await files.viewOf(ids[name]!))
        assert.ok(!v.host_path.startsWith(area), `${name} sees ${v.host_path}`);
    }
  });

  test('collect: one folder per student with SUBMISSION.json and LATE; re-collect keeps feedback', async () => {
    const collected = await users.tom!.post(`${C}/assignments/hw1/collect`, {});
    assert.equal(collected.status, 200, collected.text);
    assert.equal(collected.json.path, 'volumes/Storage/tina/course-astro101-grading/hw1');
    assert.deepEqual(collected.json.missing, []);
    const grading = await hostOf('tom', 'tina', 'course-astro101-grading');
    assert.equal(grading?.read_only, false, 'TAs write the grading volume');
    assert.equal(await hostOf('sam', 'tina', 'course-astro101-grading'), undefined);
    const samFolder = path.join(grading!.host_path, 'hw1', 'sam');
    const record = JSON.parse(await fsp.readFile(path.join(samFolder, 'SUBMISSION.json'), 'utf8'));
    assert.deepEqual(record, {
      student: 'sam',
      submitted_at: '2026-09-09T08:00:01.000Z',
      late: true,
      snapshot: 3,
    });
    assert.ok(await exists(path.join(samFolder, 'LATE')));
    assert.equal(await exists(path.join(grading!.host_path, 'hw1', 'sue', 'LATE')), false);
    await fsp.mkdir(path.join(samFolder, 'feedback'));
    await fsp.writeFile(path.join(samFolder, 'feedback', 'comments.md'), 'Good work');
    const samHome = (await hostOf('sam', 'sam', 'persistent'))!.host_path;
    await fsp.writeFile(path.join(samHome, 'courses/astro101/hw1/answer.txt'), 'fourth');
    await users.sam!.post(`${C}/assignments/hw1/submissions`, {});
    await users.tina!.post(`${C}/assignments/hw1/collect`, {});
    assert.equal(await fsp.readFile(path.join(samFolder, 'answer.txt'), 'utf8'), 'fourth');
    assert.equal(
      await fsp.readFile(path.join(samFolder, 'feedback', 'comments.md'), 'utf8'),
      'Good work',
    );
    assert.equal(
      (await users.sam!.post(`${C}/assignments/hw1/collect`, {})).status,
      403,
      'students do not collect',
    );
    // Collects and submits at once: each waits its turn, none fails.
    const together = await Promise.all([
      users.tina!.post(`${C}/assignments/hw1/collect`, {}),
      users.sue!.post(`${C}/assignments/hw1/submissions`, {}),
      users.tom!.post(`${C}/assignments/hw1/collect`, {}),
      users.sue!.post(`${C}/assignments/hw1/submissions`, {}),
    ]);
    assert.deepEqual(
      together.map((res) => res.status),
      [200, 201, 200, 201],
    );
  });

  test('return: feedback into each student’s copy; only their own', async () => {
    // Sue swapped her copy folder for a link out of her volume: her feedback is not written
    // through it (nor anywhere), and the others' returns go on.
    const grading = (await hostOf('tina', 'tina', 'course-astro101-grading'))!.host_path;
    await fsp.mkdir(path.join(grading, 'hw1', 'sue', 'feedback'), { recursive: true });
    await fsp.writeFile(path.join(grading, 'hw1', 'sue', 'feedback', 'notes.md'), 'See me');
    const sueCourse = path.join(
      (await hostOf('sue', 'sue', 'persistent'))!.host_path,
      'courses/astro101',
    );
    const outside = await fsp.mkdtemp(path.join(os.tmpdir(), 'courses-outside-'));
    await fsp.rename(path.join(sueCourse, 'hw1'), path.join(sueCourse, 'hw1-mine'));
    await fsp.symlink(outside, path.join(sueCourse, 'hw1'));
    const returned = await users.tina!.post(`${C}/assignments/hw1/return`, {});
    assert.equal(returned.status, 200, returned.text);
    assert.deepEqual(returned.json, { returned: ['sam'], without_feedback: ['sue'] });
    const samHome = (await hostOf('sam', 'sam', 'persistent'))!.host_path;
    assert.equal(
      await fsp.readFile(path.join(samHome, 'courses/astro101/hw1/feedback/comments.md'), 'utf8'),
      'Good work',
    );
    const sueHome = (await hostOf('sue', 'sue', 'persistent'))!.host_path;
    assert.equal(await exists(path.join(sueHome, 'courses/astro101/hw1/feedback')), false);
    assert.deepEqual(await fsp.readdir(outside), []);
    await fsp.rm(outside, { recursive: true });
    const mine = (await users.sam!.get(`${C}/assignments`)).json.assignments.find(
      (a: { name: string }) => a.name === 'hw1',
    ).mine;
    assert.equal(mine.feedback_path, 'courses/astro101/hw1/feedback');
    assert.equal(mine.submissions, 4);
    assert.equal(mine.late, true);
    assert.ok(mine.returned_at);
  });

  test('grades: staff set them; students see their own; CSV for staff', async () => {
    const set = await users.tom!.request('PUT', `${C}/assignments/hw1/grades/sam`, {
      score: 9.5,
      comment: '=HYPERLINK("x"), good',
    });
    assert.equal(set.status, 200, set.text);
    const bySue = await users.sue!.request('PUT', `${C}/assignments/hw1/grades/sue`, {
      score: 10,
    });
    assert.equal(bySue.status, 403);
    const notStudent = await users.tina!.request('PUT', `${C}/assignments/hw1/grades/olga`, {
      score: 1,
    });
    assert.equal(notStudent.status, 404);
    const sue = await users.sue!.get(`${C}/grades`);
    assert.ok(sue.json.grades.length > 0);
    assert.ok(sue.json.grades.every((g: { student: string }) => g.student === 'sue'));
    const samMine = (await users.sam!.get(`${C}/assignments`)).json.assignments.find(
      (a: { name: string }) => a.name === 'hw1',
    ).mine;
    assert.equal(samMine.score, 9.5);
    const csv = await users.tina!.get(`${C}/grades.csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0], 'student,assignment,score,comment,submitted_at,late');
    assert.ok(
      lines.includes(`sam,hw1,9.5,"'=HYPERLINK(""x""), good",2026-09-09T08:00:01.000Z,true`),
      csv.text,
    );
    // Two students × three released assignments.
    assert.equal(lines.length, 1 + 2 * 3);
    assert.equal((await users.sue!.get(`${C}/grades.csv`)).status, 403);
  });

  test('invitation code: join as a student (late joiners get their copies); expiry', async () => {
    assert.equal((await users.sam!.post(`${C}/invitation`, {})).status, 403);
    const made = await users.tina!.post(`${C}/invitation`, { hours: 1 });
    assert.equal(made.status, 201, made.text);
    assert.match(made.json.url, /\/hub\/courses\/join\?code=orrc_/);
    const stored = await db.query(`SELECT invite_hash FROM courses WHERE slug = 'astro101'`);
    assert.notEqual(stored.rows[0].invite_hash, made.json.code, 'only a hash is kept');
    const page = await users.lee!.get(
      `/hub/courses/join?code=${encodeURIComponent(made.json.code)}`,
    );
    assert.equal(page.status, 200);
    assert.match(page.text, /Astronomy 101/);
    assert.match(page.text, /id="join"/);
    assert.equal((await users.lee!.get(C)).status, 404, 'opening the page joins nobody');
    assert.equal(
      (await new Client(hub.url).get(`/hub/courses/join?code=${made.json.code}`)).status,
      303,
      'signed out: to the sign-in page first',
    );
    // The page's form joins (a POST with the XSRF field) and lands on the home page.
    const form = new URLSearchParams({ _xsrf: users.lee!.xsrf ?? '', code: made.json.code });
    const posted = await users.lee!.request('POST', '/hub/courses/join', form.toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      origin: hub.url,
    });
    assert.equal(posted.status, 303, posted.text);
    assert.equal(posted.headers.get('location'), '/hub/home?joined=astro101');
    assert.match((await users.lee!.get('/hub/home?joined=astro101')).text, /id="course-joined"/);
    assert.equal((await users.lee!.get(C)).json.role, 'student');
    // The API joins the same way; a member redeeming again just gets the course.
    const again = await users.sue!.post(`${API}/course-invitations/redeem`, {
      code: made.json.code,
    });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.role, 'student');
    const leeHome = (await hostOf('lee', 'lee', 'persistent'))!.host_path;
    assert.ok(await exists(path.join(leeHome, 'courses/astro101/hw1/task.ipynb')));
    assert.ok(await exists(path.join(leeHome, 'courses/astro101/hw2/task.ipynb')));
    assert.deepEqual(await activityTypes('lee'), ['course.join']);
    now = new Date(now.getTime() + 2 * 3_600_000);
    const expired = await users.olga!.post(`${API}/course-invitations/redeem`, {
      code: made.json.code,
    });
    assert.equal(expired.status, 404);
    assert.equal(expired.json.rule, 'invitation_not_found');
    const unknown = await users.olga!.post(`${API}/course-invitations/redeem`, { code: 'orrc_x' });
    assert.equal(unknown.status, 404);
    // A new code replaces the old one.
    const replaced = await users.tom!.post(`${C}/invitation`, {});
    const fresh = await users.tom!.post(`${C}/invitation`, {});
    const old = await users.olga!.post(`${API}/course-invitations/redeem`, {
      code: replaced.json.code,
    });
    assert.equal(old.status, 404);
    // Withdrawn: the code no longer works, even before it expires; withdrawing again is no error.
    assert.equal((await users.tom!.delete(`${C}/invitation`)).status, 204);
    assert.equal((await users.tom!.delete(`${C}/invitation`)).status, 204);
    const withdrawn = await users.olga!.post(`${API}/course-invitations/redeem`, {
      code: fresh.json.code,
    });
    assert.equal(withdrawn.status, 404);
  });

  test('removal: a removed student loses the lecture volume at once and keeps their work', async () => {
    const samHome = (await hostOf('sam', 'sam', 'persistent'))!.host_path;
    assert.ok(await hostOf('sam', 'tina', 'course-astro101'));
    assert.equal((await users.sue!.delete(`${C}/roster/sam`)).status, 403);
    assert.equal((await users.tina!.delete(`${C}/roster/sam`)).status, 204);
    assert.equal(await hostOf('sam', 'tina', 'course-astro101'), undefined);
    const list = await users.sam!.get(`${API}/volumes`);
    assert.ok(
      !list.json.volumes.some((v: { volume: string }) => v.volume === 'course-astro101'),
      'gone from the volumes API too',
    );
    assert.ok(await exists(path.join(samHome, 'courses/astro101/hw1/feedback/comments.md')));
    assert.equal((await users.sam!.get(C)).status, 404);
    assert.equal((await users.sam!.get(`${C}/assignments/hw1/submissions`)).status, 404);
    assert.deepEqual(await activityTypes('sam'), ['course.roster_remove', 'course.roster_add']);
    // A TA removes a student.
    assert.equal((await users.tom!.delete(`${C}/roster/lee`)).status, 204);
    assert.deepEqual(await activityTypes('lee'), ['course.roster_remove', 'course.join']);
    // TAs: a TA cannot remove a TA; a TA who leaves loses the grading volume.
    await users.tina!.post(`${C}/roster`, { names: ['olga'], role: 'ta' });
    assert.equal((await users.tom!.delete(`${C}/roster/olga`)).status, 403);
    assert.ok(await hostOf('olga', 'tina', 'course-astro101-grading'));
    assert.equal((await users.olga!.post(`${C}/leave`)).status, 204);
    assert.equal(await hostOf('olga', 'tina', 'course-astro101-grading'), undefined);
    assert.deepEqual(await activityTypes('olga'), ['course.leave', 'course.roster_add']);
    const teacherLeaves = await users.tina!.post(`${C}/leave`);
    assert.equal(teacherLeaves.status, 409);
    assert.equal((await users.tina!.delete(`${C}/roster/tina`)).status, 409);
  });

  test('archive: from its end date the course is read-only; reads, collect and export go on', async () => {
    now = new Date('2026-12-20T00:00:00Z');
    const course = await users.sue!.get(C);
    assert.equal(course.json.archived, true);
    const submit = await users.sue!.post(`${C}/assignments/hw1/submissions`, {});
    assert.equal(submit.status, 409);
    assert.equal(submit.json.rule, 'course_archived');
    for (const res of [
      await users.tina!.post(`${C}/roster`, { names: ['olga'] }),
      await users.tina!.delete(`${C}/roster/sue`),
      await users.sue!.post(`${C}/leave`),
      await users.tina!.post(`${C}/invitation`, {}),
      await users.tina!.post(`${C}/assignments`, {
        name: 'late',
        source: source('hw2'),
        mode: 'copy',
      }),
      await users.tina!.request('PUT', `${C}/assignments/hw1/grades/sue`, { score: 1 }),
    ])
      assert.equal(res.status, 409, res.text);
    assert.equal((await users.tina!.post(`${C}/assignments/hw1/collect`, {})).status, 200);
    assert.equal((await users.tina!.get(`${C}/grades.csv`)).status, 200);
    assert.ok(await hostOf('sue', 'tina', 'course-astro101'), 'the lecture volume stays readable');
    // The teacher may reopen it by moving the end date.
    const reopened = await users.tina!.patch(C, { ends_at: at('2027-01-31T00:00:00Z') });
    assert.equal(reopened.json.archived, false);
  });

  test('delete: the group and its shares go; the teacher’s volumes stay', async () => {
    assert.equal((await users.sue!.delete(C)).status, 403);
    assert.ok(await hostOf('tom', 'tina', 'course-astro101-grading'));
    assert.equal((await users.tina!.delete(C)).status, 204);
    assert.equal(await hostOf('sue', 'tina', 'course-astro101'), undefined);
    assert.equal(await hostOf('tom', 'tina', 'course-astro101-grading'), undefined);
    assert.ok(await hostOf('tina', 'tina', 'course-astro101'));
    assert.equal((await users.tina!.get(C)).status, 404);
    const gone = await db.query(`SELECT count(*)::int AS n FROM course_submissions`);
    assert.equal(gone.rows[0].n, 0, 'its rows went with it');
  });

  test('a course whose teacher’s account is deleted: the sweeper removes its group and snapshots', async () => {
    users.tess = await signUp(hub.url, 'tess');
    const admin = await signUp(hub.url, 'root1');
    await db.query(`UPDATE users SET admin = true WHERE name = 'root1'`);
    ids.tess = Number((await db.query(`SELECT id FROM users WHERE name = 'tess'`)).rows[0].id);
    const home = (await hostOf('tess', 'tess', 'persistent'))!.host_path;
    await fsp.mkdir(path.join(home, 'hw'));
    await fsp.writeFile(path.join(home, 'hw', 'task.ipynb'), '{"cells": []}');
    const made = await users.tess.post(`${API}/courses`, {
      slug: 'orphan',
      title: 'Orphan',
      ends_at: at('2027-06-01T00:00:00Z'),
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(
      (await users.tess.post(`${API}/courses/orphan/roster`, { names: ['lee', 'olga'] })).status,
      200,
    );
    const hw = await users.tess.post(`${API}/courses/orphan/assignments`, {
      name: 'hw',
      source: { root: 'Storage', owner: 'tess', volume: 'persistent', path: 'hw' },
      mode: 'copy',
    });
    assert.equal(hw.status, 201, hw.text);
    const id = (await db.query(`SELECT id FROM courses WHERE slug = 'orphan'`)).rows[0].id;
    const area = path.join(hubArea(files.volumes.root('Storage')), 'courses', String(id));
    assert.ok(await exists(area));
    // A student's account deleted: their snapshots go, the others' stay; the admin's
    // confirmation for the teacher names the course.
    const aid = Number(
      (await db.query(`SELECT id FROM course_assignments WHERE course_id = $1`, [id])).rows[0].id,
    );
    const storage = files.volumes.root('Storage');
    for (const student of ['lee', 'olga'])
      assert.equal(
        (await users[student]!.post(`${API}/courses/orphan/assignments/hw/submissions`, {})).status,
        201,
      );
    const olgas = submissionsFolder(storage, Number(id), aid, ids.olga!);
    assert.ok(await exists(olgas));
    assert.equal((await admin.delete(`${API}/users/olga`)).status, 204);
    assert.equal(await exists(olgas), false);
    assert.ok(await exists(submissionsFolder(storage, Number(id), aid, ids.lee!)));
    const confirm = await admin.get('/hub/admin/users/tess/delete');
    assert.match(
      confirm.text,
      /data-feature="courses">1 course taught, with rosters, assignments and students&#39; submissions: orphan</,
    );
    // The groups API never deletes a course's group, not even its owner's call.
    assert.equal((await users.tess.delete(`${API}/groups/${made.json.group_id}`)).status, 409);
    assert.equal((await admin.delete(`${API}/users/tess`)).status, 204);
    assert.equal((await users.lee!.get(`${API}/courses/orphan`)).status, 404);
    await courses.sweep();
    assert.equal(await exists(area), false);
    const left = await db.query('SELECT 1 FROM groups WHERE id = $1', [made.json.group_id]);
    assert.equal(left.rowCount, 0, 'the group went with its course');
  });
});

test('every course event in the activity log has snake_case payload keys', async () => {
  const types = await db.query(
    `SELECT count(*)::int AS n FROM activity WHERE type LIKE 'course.%'`,
  );
  assert.ok(types.rows[0].n > 10, 'the tests above recorded course events');
  assert.deepEqual(await activityKeysNotSnakeCase(hub.databaseUrl), []);
});
