import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { HubError } from '../src/api.js';
import {
  countsText,
  courseLabel,
  formatShort,
  formatWhen,
  studentStatus,
} from '../src/courses/format.js';
import {
  checkSlug,
  courseRequest,
  distributeRequest,
  gradeRequest,
  instantOf,
  localInputValue,
  rosterEntries,
} from '../src/courses/forms.js';
import { CoursesModel } from '../src/courses/model.js';
import { browserPathOfHubPath, folderLabel, volumeFolderOf } from '../src/courses/paths.js';
import type { IAssignment } from '../src/tokens.js';
import { FakeCourses } from './fake-courses.js';
import { FakeHub } from './fake-hub.js';

const ENDS = '2026-07-01T00:00';
const refused = (e: HubError) => e.status === 400 && e.error === 'invalid_input';

describe('CoursesModel', () => {
  let hub: FakeHub;
  let courses: FakeCourses;
  const modelFor = (name: string) => new CoursesModel(courses.clientFor(name), hub.clientFor(name));
  const folderOf = (me: string) => (p: string) => volumeFolderOf(p, me);
  let teacher: CoursesModel;

  beforeEach(() => {
    hub = new FakeHub().addUser('tess', 'sam', 'sue', 'tom');
    courses = new FakeCourses(hub);
    teacher = modelFor('tess');
  });

  /** tess teaches astro101 with sam and sue as students. */
  async function term(): Promise<void> {
    await teacher.refresh();
    await teacher.createCourse({ slug: 'astro101', title: 'Astro', term: '2026', endsAt: ENDS });
    await teacher.addToRoster('sam, sue');
  }

  it('creating a course makes me its teacher and opens it with an empty roster of students', async () => {
    await teacher.refresh();
    assert.equal(teacher.courses.length, 0);
    const made = await teacher.createCourse({
      slug: ' astro101 ',
      title: ' Astronomy 101 ',
      term: 'Spring 2026',
      endsAt: ENDS,
    });
    assert.equal(made.slug, 'astro101');
    assert.equal(teacher.course?.slug, 'astro101');
    assert.equal(teacher.course?.role, 'teacher');
    assert.equal(teacher.staff, true);
    assert.equal(courseLabel(teacher.course!), 'Astronomy 101 (Spring 2026)');
    assert.deepEqual(
      teacher.roster.map((m) => `${m.name}:${m.role}`),
      ['tess:teacher'],
    );
    assert.deepEqual(teacher.students, []);
    const request = courses.calls.find((c) => c.includes('createCourse'))!;
    assert.match(request, /"title":"Astronomy 101"/);
    assert.match(request, /"ends_at":"2026-0[67]-\d\dT\d\d:00:00.000Z"/);
  });

  it('refuses a bad course before asking the hub', async () => {
    await teacher.refresh();
    const bad = [
      { slug: 'Astro 101', title: 'A', term: '', endsAt: ENDS },
      { slug: 'astro', title: '  ', term: '', endsAt: ENDS },
      { slug: 'astro', title: 'A', term: '', endsAt: '' },
      { slug: 'astro', title: 'A', term: '', endsAt: 'next june' },
    ];
    for (const values of bad) {
      await assert.rejects(teacher.createCourse(values), refused, JSON.stringify(values));
    }
    assert.equal(courses.calls.filter((c) => c.includes('createCourse')).length, 0);
  });

  it('adds students by name, reports the known, already-there and unknown ones; removes one', async () => {
    await term();
    assert.deepEqual(
      teacher.students.map((m) => m.name),
      ['sam', 'sue'],
    );
    const change = await teacher.addToRoster('sam\nnobody\ntom');
    assert.deepEqual(change, { added: ['tom'], already: ['sam'], unknown: ['nobody'] });
    await teacher.addToRoster('sue', 'ta');
    await teacher.removeFromRoster('tom');
    assert.deepEqual(
      teacher.roster.map((m) => `${m.name}:${m.role}`),
      ['sam:student', 'sue:student', 'tess:teacher'],
    );
  });

  it('adds a CSV of e-mails with a header line, and a TA by name', async () => {
    await term();
    const change = await teacher.addCSV('email\ntom@example.org\n');
    assert.deepEqual(change.added, ['tom']);
    await teacher.removeFromRoster('tom');
    await teacher.addToRoster('tom', 'ta');
    assert.equal(teacher.roster.find((m) => m.name === 'tom')?.role, 'ta');
    assert.match(courses.calls.at(-5) ?? '', /"role":"ta"/);
    await assert.rejects(teacher.addCSV('  \n'), refused);
  });

  it('an invitation code (or its link) lets a student join; a wrong one is the hub’s 404', async () => {
    await term();
    const invitation = await teacher.makeInvitation(24);
    assert.equal(teacher.invitation?.code, invitation.code);
    const tom = modelFor('tom');
    await tom.refresh();
    await assert.rejects(
      tom.join('nope'),
      (e: HubError) => e.status === 404 && /unknown/.test(e.message),
    );
    await assert.rejects(tom.join('  '), refused);
    const joined = await tom.join(`  ${invitation.url} `);
    assert.equal(joined.slug, 'astro101');
    assert.equal(tom.course?.role, 'student');
    assert.equal(tom.staff, false);
    assert.deepEqual(tom.roster, [], 'a student is given no roster');
    assert.ok(
      !courses.calls.some((c) => c.startsWith('tom roster')),
      'the roster is not asked for by a student',
    );
  });

  it('distributes from the file browser’s folder (workspace or volume) and refuses bad forms unasked', async () => {
    await term();
    const lecture = await teacher.distribute(
      {
        name: 'week1',
        title: 'Week 1',
        source: 'teaching/week1',
        mode: 'lecture',
        releaseAt: '',
        dueAt: '',
      },
      folderOf('tess'),
    );
    assert.equal(lecture.released, true);
    assert.equal(lecture.path_in_lecture, 'volumes/Storage/tess/course-astro101/week1');
    const sent = courses.calls.find((c) => c.includes('distribute'))!;
    assert.match(
      sent,
      /"source":\{"root":"Storage","owner":"tess","volume":"persistent","path":"teaching\/week1"\}/,
    );
    await teacher.distribute(
      {
        name: 'hw1',
        title: '',
        source: 'volumes/Storage/tess/homework/hw1',
        mode: 'copy',
        releaseAt: '',
        dueAt: '2026-03-08T09:00',
      },
      folderOf('tess'),
    );
    assert.match(courses.calls.find((c) => c.includes('"hw1"'))!, /"volume":"homework"/);
    assert.deepEqual(
      teacher.assignments.map((a) => `${a.name}:${a.mode}:${countsText(a)}`),
      [
        'week1:lecture:0 submitted · 0 returned',
        'hw1:copy:2 distributed · 0 submitted · 0 returned',
      ],
    );

    const before = courses.calls.length;
    const bad = [
      { name: 'HW 2' },
      { source: 'volumes/Storage/tess' },
      { source: '../etc' },
      { source: '' },
      { releaseAt: '2026-03-10T00:00', dueAt: '2026-03-09T00:00' },
      { dueAt: 'friday' },
    ];
    for (const change of bad) {
      const values = {
        name: 'hw2',
        title: '',
        source: 'teaching/hw2',
        mode: 'copy' as const,
        releaseAt: '',
        dueAt: '',
        ...change,
      };
      await assert.rejects(
        teacher.distribute(values, folderOf('tess')),
        refused,
        JSON.stringify(change),
      );
    }
    assert.equal(courses.calls.length, before);
  });

  it('a student fetches, submits (copy or a folder), resubmits late, and sees only their own', async () => {
    await term();
    await teacher.distribute(
      {
        name: 'hw1',
        title: 'Homework 1',
        source: 'teaching/hw1',
        mode: 'copy',
        releaseAt: '',
        dueAt: '2026-03-08T09:00:00Z',
      },
      folderOf('tess'),
    );
    const sam = modelFor('sam');
    const sue = modelFor('sue');
    await sam.refresh();
    await sue.refresh();
    assert.equal(sam.course?.slug, 'astro101', 'the only course is opened');
    const hw1 = () => sam.assignment('hw1')!;
    assert.equal(studentStatus(hw1(), courses.now), 'not-fetched');
    assert.equal(await sam.fetch('hw1'), 'courses/astro101/hw1');
    assert.equal(studentStatus(hw1(), courses.now), 'fetched');

    const first = await sam.submit('hw1');
    assert.deepEqual([first.number, first.late], [1, false]);
    assert.equal(studentStatus(hw1(), courses.now), 'submitted');
    assert.match(courses.calls.at(-4)!, /^sam submit "astro101" "hw1" null$/);

    await sue.submit('hw1', volumeFolderOf('scratch/mine', 'sue')!);
    assert.match(
      courses.calls.find((c) => c.startsWith('sue submit'))!,
      /"owner":"sue","volume":"persistent","path":"scratch\/mine"/,
    );

    courses.now = new Date('2026-03-09T00:00:00Z');
    const again = await sam.submit('hw1');
    assert.deepEqual([again.number, again.late], [2, true]);
    assert.equal(studentStatus(hw1(), courses.now), 'late');
    assert.equal(hw1().mine?.submissions, 2);
    assert.equal(hw1().counts, undefined, 'a student sees no class counts');

    const mine = await sam.loadSubmissions('hw1');
    assert.deepEqual(
      mine.map((s) => s.student),
      ['sam'],
      'a student lists only their own submission',
    );
    await assert.rejects(
      sam.collect('hw1'),
      (e: HubError) => e.status === 403 && e.message === 'Only the teacher and TAs can do that.',
    );
  });

  it('collect, feedback, return and grades: each student sees their own; CSV export', async () => {
    await term();
    await teacher.distribute(
      { name: 'hw1', title: '', source: 'hw1', mode: 'copy', releaseAt: '', dueAt: '' },
      folderOf('tess'),
    );
    const sam = modelFor('sam');
    const sue = modelFor('sue');
    await sam.refresh();
    await sam.submit('hw1');

    const collected = await teacher.collect('hw1');
    assert.deepEqual(
      collected.students.map((s) => s.student),
      ['sam'],
    );
    assert.deepEqual(collected.missing, ['sue']);
    assert.equal(collected.path, 'volumes/Storage/tess/course-astro101-grading/hw1');
    assert.deepEqual(
      teacher.submissions('hw1')?.map((s) => s.student),
      ['sam'],
    );

    courses.writeFeedback('astro101', 'hw1', 'sam');
    const returned = await teacher.returnFeedback('hw1');
    assert.deepEqual(returned, { returned: ['sam'], without_feedback: ['sue'] });
    assert.equal(teacher.assignment('hw1')?.counts?.returned, 1);

    await teacher.setGrade('hw1', 'sam', { score: ' 9.5 ', comment: ' good ' });
    await teacher.setGrade('hw1', 'sue', { score: '', comment: 'missing' });
    assert.deepEqual(teacher.grade('hw1', 'sam'), {
      assignment: 'hw1',
      student: 'sam',
      score: 9.5,
      comment: 'good',
      submitted_at: '2026-03-01T09:00:00.000Z',
      late: false,
    });
    await assert.rejects(teacher.setGrade('hw1', 'sam', { score: 'ten', comment: '' }), refused);

    await sam.refresh();
    await sue.refresh();
    const samHw = sam.assignment('hw1')!;
    assert.equal(studentStatus(samHw, courses.now), 'returned');
    assert.equal(samHw.mine?.feedback_path, 'courses/astro101/hw1/feedback');
    assert.equal(samHw.mine?.score, 9.5);
    assert.deepEqual(
      sam.grades.map((g) => g.student),
      ['sam'],
    );
    assert.equal(sue.assignment('hw1')?.mine?.feedback_path, null);
    assert.equal(sue.assignment('hw1')?.mine?.comment, 'missing');

    const csv = await teacher.gradesCSV();
    assert.equal(csv.split('\n')[0], 'student,assignment,score,comment,submitted_at,late');
    assert.match(csv, /^sam,hw1,9.5,good,2026-03-01T09:00:00.000Z,false$/m);
    assert.match(csv, /^sue,hw1,,missing,,$/m);
    await assert.rejects(sam.gradesCSV(), (e: HubError) => e.status === 403);
  });

  it('an unreleased assignment is hidden from students and shown to staff as not released', async () => {
    await term();
    await teacher.distribute(
      {
        name: 'hw2',
        title: '',
        source: 'hw2',
        mode: 'copy',
        releaseAt: '2026-03-05T09:00:00Z',
        dueAt: '',
      },
      folderOf('tess'),
    );
    assert.equal(teacher.assignment('hw2')?.released, false);
    const sam = modelFor('sam');
    await sam.refresh();
    assert.equal(sam.assignments.length, 0);
    courses.now = new Date('2026-03-05T09:00:00Z');
    await sam.refresh();
    assert.equal(sam.assignment('hw2')?.released, true);
  });

  it('an archived course answers 409 with the hub’s message; a student leaves and loses it', async () => {
    await term();
    courses.now = new Date('2026-08-01T00:00:00Z');
    await teacher.refresh();
    assert.equal(teacher.course?.archived, true);
    await assert.rejects(
      teacher.addToRoster('tom'),
      (e: HubError) => e.status === 409 && /read-only/.test(e.message),
    );
    courses.now = new Date('2026-03-02T00:00:00Z');
    const sue = modelFor('sue');
    await sue.refresh();
    await sue.leave();
    assert.equal(sue.courses.length, 0);
    assert.equal(sue.course, null);
  });

  it('keeps a failed refresh in error and clears it on the next success', async () => {
    await term();
    const client = courses.clientFor('tess');
    const model = new CoursesModel(client, hub.clientFor('tess'));
    client.failNext = new HubError(502, 'hub_unreachable', 'The Orrery hub cannot be reached.');
    await assert.rejects(model.refresh());
    assert.equal(model.error?.message, 'The Orrery hub cannot be reached.');
    assert.equal(model.loaded, false);
    await model.refresh();
    assert.equal(model.error, null);
    assert.equal(model.course?.slug, 'astro101');
  });

  it('with two courses none is opened until one is chosen', async () => {
    await term();
    await teacher.createCourse({ slug: 'astro102', title: 'Beta', term: '', endsAt: ENDS });
    const fresh = modelFor('tess');
    await fresh.refresh();
    assert.equal(fresh.course?.slug, undefined);
    assert.deepEqual(
      fresh.courses.map((c) => c.title),
      ['Astro', 'Beta'],
    );
    await fresh.select('astro102');
    assert.equal(fresh.course?.title, 'Beta');
  });
});

describe('course forms', () => {
  it('slugs: lower-case letters, digits and "-", 1-40, not starting with "-"', () => {
    assert.equal(checkSlug(' hw-1 ', 'x'), 'hw-1');
    for (const bad of ['', '-a', 'A', 'a_b', 'a b', 'é', 'a'.repeat(41)]) {
      assert.throws(() => checkSlug(bad, 'x'), refused, bad);
    }
  });

  it('dates are read in local time; empty is none', () => {
    assert.equal(instantOf('', 'x'), null);
    const local = new Date(2026, 2, 1, 9, 30);
    assert.equal(instantOf(localInputValue(local), 'x'), local.toISOString());
    assert.equal(instantOf('2026-03-01', 'x'), new Date(2026, 2, 1).toISOString());
    assert.throws(() => instantOf('soon', 'x'), refused);
  });

  it('the course request leaves out an empty term', () => {
    assert.deepEqual(
      Object.keys(courseRequest({ slug: 'a', title: 'A', term: ' ', endsAt: ENDS })),
      ['slug', 'title', 'ends_at'],
    );
  });

  it('the distribute request carries only what was given', () => {
    const r = distributeRequest(
      { name: 'w1', title: '', source: 'w1', mode: 'lecture', releaseAt: '', dueAt: '' },
      (p) => volumeFolderOf(p, 'tess'),
    );
    assert.deepEqual(r, {
      name: 'w1',
      source: { root: 'Storage', owner: 'tess', volume: 'persistent', path: 'w1' },
      mode: 'lecture',
    });
  });

  it('roster input: names split on spaces, commas and lines; e-mails and headers go as CSV', () => {
    assert.deepEqual(rosterEntries(' sam,sue\n\ttom; sam '), { names: ['sam', 'sue', 'tom'] });
    assert.deepEqual(rosterEntries('sam\nsue@example.org'), { csv: 'sam\nsue@example.org\n' });
    assert.deepEqual(rosterEntries('username\nsam'), { csv: 'username\nsam\n' });
    assert.throws(() => rosterEntries(' , \n'), refused);
  });

  it('grades: a number or nothing', () => {
    assert.deepEqual(gradeRequest({ score: '7', comment: '' }), { score: 7, comment: '' });
    assert.deepEqual(gradeRequest({ score: '', comment: 'x' }), { score: null, comment: 'x' });
    assert.throws(() => gradeRequest({ score: '7/10', comment: '' }), refused);
  });
});

describe('course paths and statuses', () => {
  it('maps file-browser folders to volume folders and back', () => {
    assert.deepEqual(volumeFolderOf('teaching/week1', 'tess'), {
      root: 'Storage',
      owner: 'tess',
      volume: 'persistent',
      path: 'teaching/week1',
    });
    assert.deepEqual(volumeFolderOf('volumes/Storage/ann/data/a/b', 'tess'), {
      root: 'Storage',
      owner: 'ann',
      volume: 'data',
      path: 'a/b',
    });
    assert.equal(volumeFolderOf('volumes/Storage', 'tess'), null);
    assert.equal(volumeFolderOf('a/../b', 'tess'), null);
    assert.equal(volumeFolderOf('RTC:a', 'tess'), null);
    assert.equal(volumeFolderOf('/etc', 'tess'), null);
    assert.equal(volumeFolderOf('elsewhere/x', 'tess', 'work'), null);
    assert.equal(volumeFolderOf('work/x', 'tess', 'work')?.path, 'x');
    assert.equal(browserPathOfHubPath('courses/a/hw1', 'work'), 'work/courses/a/hw1');
    assert.equal(browserPathOfHubPath('courses/a/hw1'), 'courses/a/hw1');
    assert.equal(
      folderLabel({ root: 'Storage', owner: 'a', volume: 'persistent', path: '' }),
      'Storage/a/persistent',
    );
  });

  it('dates read in the locale given; none is empty, nonsense is shown as it came', () => {
    const iso = '2026-03-01T09:05:00.000Z';
    assert.equal(formatWhen(null), '');
    assert.equal(formatShort(undefined), '');
    assert.equal(formatWhen('soon'), 'soon');
    assert.equal(
      formatShort(iso, 'en-US'),
      new Date(iso).toLocaleString('en-US', {
        dateStyle: 'short',
        timeStyle: 'short',
      }),
    );
    assert.match(formatWhen(iso, 'en-US'), /2026/);
  });

  it('a student’s status: returned, submitted or late, overdue, fetched, not fetched', () => {
    const now = new Date('2026-03-05T00:00:00Z');
    const base: IAssignment = {
      name: 'hw',
      title: 'hw',
      mode: 'copy',
      release_at: '2026-03-01T00:00:00Z',
      due_at: '2026-03-08T00:00:00Z',
      released: true,
    };
    const mine = {
      fetched: false,
      submitted_at: null,
      late: false,
      submissions: 0,
      returned_at: null,
      feedback_path: null,
      score: null,
      comment: null,
    };
    assert.equal(studentStatus(base, now), 'not-fetched');
    assert.equal(studentStatus({ ...base, mode: 'lecture' }, now), 'fetched');
    assert.equal(studentStatus({ ...base, mine: { ...mine, fetched: true } }, now), 'fetched');
    assert.equal(studentStatus(base, new Date('2026-03-09T00:00:00Z')), 'overdue');
    const submitted = { ...mine, submitted_at: '2026-03-04T00:00:00Z', submissions: 1 };
    assert.equal(studentStatus({ ...base, mine: submitted }, now), 'submitted');
    assert.equal(studentStatus({ ...base, mine: { ...submitted, late: true } }, now), 'late');
    assert.equal(
      studentStatus({ ...base, mine: { ...submitted, returned_at: '2026-03-10T00:00:00Z' } }, now),
      'returned',
    );
  });
});
