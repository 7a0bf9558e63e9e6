/**
 * Issue #13's browser test: a term of a course, in real Chromium against Docker JupyterLabs
 * through the proxy. The teacher (tess) creates a course in the Course panel, adds two
 * students (sam, sue), distributes one folder read-only (a lecture) and one as copies. Each
 * student, in their own JupyterLab, opens the lecture folder and cannot write it (JupyterLab's
 * error: "Read-only file system"), fetches their copy, writes an answer and submits it; each
 * sees only their own submission and cannot reach the other's, by path (their file browser)
 * or by API (404). The teacher collects both, writes a feedback file per student, returns
 * the feedback and grades; each student sees only their own feedback and score.
 *
 * The labs must carry this extension: ORRERY_TEST_IMAGE names the image (default
 * orrery/lab:latest). Screenshots of each step go to docs/images/courses-*.png (docs/courses.md
 * walks a teacher through a term with them). Needs Docker, Debian's chromium and root (volume
 * views are mounts); in CI a missing one fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { domain } from '../../src/compute/domainConfig.ts';
import { waitForStatus } from '../compute/support.ts';
import { type Client, signUp, type TestHub } from '../support.ts';
import { ARTIFACTS } from './chromium.ts';
import { DockerLabs, dockerLabsSkip, entry } from './dockerLabs.ts';

const IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
const DOC_IMAGES = path.resolve(import.meta.dirname, '../../../docs/images');
const PASSWORD = 'correct horse';
const SLUG = 'astro101';
const LECTURE = `volumes/Storage/tess/course-${SLUG}/week1`;
const COPY = `courses/${SLUG}/hw1`;

const skip = await dockerLabsSkip();
const labs = new DockerLabs();
let hub: TestHub;
let browser: Browser;

before(async () => {
  if (skip) return;
  mkdirSync(DOC_IMAGES, { recursive: true });
  ({ hub, browser } = await labs.start('browser_courses', {
    compute: { domains: [domain('docker', 'docker')], images: [IMAGE] },
  }));
});

after(async () => {
  if (skip) return;
  await labs.stop();
});

/** One person: their hub API client and, once signed in, their JupyterLab page. */
interface Person {
  name: string;
  api: Client;
  context: BrowserContext;
  page: Page;
}

/** A screenshot for docs/courses.md, without the notifications that pile up over the panel. */
const shot = (page: Page | ReturnType<Page['locator']>, name: string) =>
  page.screenshot({
    path: path.join(DOC_IMAGES, `courses-${name}.png`),
    style: '.Toastify, .jp-toastContainer, .Toastify__toast { display: none !important; }',
  });

/** The lab's contents API, as JupyterLab itself calls it (with its XSRF token). */
async function contents(
  page: Page,
  user: string,
  method: 'GET' | 'PUT',
  filePath: string,
  model?: object,
): Promise<{ status: number; json: { content?: unknown; type?: string } | null }> {
  return page.evaluate(
    async ({ url, method, body }) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      const res = await fetch(url, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: res.status, json };
    },
    {
      url: `/user/${user}/api/contents/${filePath.split('/').map(encodeURIComponent).join('/')}${method === 'GET' ? '?content=1' : ''}`,
      method,
      body: model,
    },
  );
}

async function write(page: Page, user: string, filePath: string, text: string): Promise<void> {
  const r = await contents(page, user, 'PUT', filePath, {
    type: 'file',
    format: 'text',
    content: text,
  });
  assert.ok(r.status === 200 || r.status === 201, `PUT ${filePath}: ${r.status}`);
}

async function mkdir(page: Page, user: string, dirPath: string): Promise<void> {
  const r = await contents(page, user, 'PUT', dirPath, { type: 'directory' });
  assert.ok(r.status === 200 || r.status === 201, `PUT ${dirPath}/: ${r.status}`);
}

/** The names in a folder listing of the contents API. */
const namesOf = (r: { json: { content?: unknown } | null }): string[] =>
  ((r.json?.content ?? []) as { name: string }[]).map((e) => e.name).sort();

async function readText(page: Page, user: string, filePath: string): Promise<string> {
  const r = await contents(page, user, 'GET', filePath);
  assert.equal(r.status, 200, `GET ${filePath}: ${r.status}`);
  return String(r.json?.content ?? '');
}

/** A hub request through this lab's proxy, with the server's token (what the panel does). */
async function throughLab(page: Page, user: string, hubPath: string): Promise<number> {
  return page.evaluate(
    async (url) => (await fetch(url)).status,
    `/user/${user}/orrery/hub/${hubPath}`,
  );
}

/** Sign in in a fresh browser context and open JupyterLab at `folder` with the Course panel. */
async function openLab(person: Omit<Person, 'context' | 'page'>, folder = ''): Promise<Person> {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 860 },
    colorScheme: 'light',
  });
  const page = await context.newPage();
  await page.goto(`${hub.url}/hub/login`);
  await page.fill('#username', person.name);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL('**/hub/home');
  await page.goto(`${hub.url}/user/${person.name}/lab${folder ? `/tree/${folder}` : ''}`);
  await page.waitForSelector('#jp-main-dock-panel', { timeout: 120_000 });
  await showPanel(page);
  return { ...person, context, page };
}

/** Open the Course panel in the left sidebar (a restored layout may show it already). */
async function showPanel(page: Page): Promise<void> {
  const tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="orrery-courses"]');
  await tab.waitFor({ timeout: 60_000 });
  if (!(await page.locator('#orrery-courses').isVisible())) await tab.click();
  await page.locator('#orrery-courses').waitFor({ state: 'visible' });
}

/** The folder the file browser shows, from its breadcrumbs' last item. */
async function browsing(page: Page, last: string): Promise<void> {
  await page
    .locator('.jp-BreadCrumbs-item', { hasText: new RegExp(`^${last}$`) })
    .waitFor({ timeout: 60_000 });
}

/** Press a dialog's button by its label and wait for the dialog to go. */
async function press(page: Page, label: string): Promise<void> {
  const dialog = page.locator('.jp-Dialog');
  await dialog.getByRole('button', { name: label, exact: true }).click();
  await dialog.waitFor({ state: 'detached', timeout: 60_000 });
}

const panelOf = (page: Page) => page.locator('#orrery-courses');
/** An assignment's row in the panel; with `state`, only once its data attributes say so. */
const assignmentRow = (page: Page, name: string, state: Record<string, string> = {}) =>
  panelOf(page).locator(
    `[data-testid="orrery-assignment"][data-name="${name}"]` +
      Object.entries(state)
        .map(([k, v]) => `[data-${k}="${v}"]`)
        .join(''),
  );

async function refreshPanel(page: Page): Promise<void> {
  await panelOf(page).getByTestId('orrery-refresh-courses').click();
}

test('a term: create, roster, distribute read-only and as copies, submit, collect, return', {
  skip,
  timeout: 1_200_000,
}, async () => {
  const apis = {
    tess: await signUp(hub.url, 'tess', PASSWORD),
    sam: await signUp(hub.url, 'sam', PASSWORD),
    sue: await signUp(hub.url, 'sue', PASSWORD),
  };
  for (const [name, api] of Object.entries(apis)) {
    const started = await api.post(`/hub/api/users/${name}/server`, {});
    assert.equal(started.status, 202, started.text);
  }
  for (const [name, api] of Object.entries(apis)) {
    await waitForStatus(api, name, '', 'running', 300_000).catch((err) => {
      throw new Error(`${err.message}\n${hub.logLines.join('')}`);
    });
  }

  const people: Person[] = [];
  try {
    // --- The teacher prepares two folders in her workspace and opens the Course panel. ---
    const tess = await openLab({ name: 'tess', api: apis.tess });
    people.push(tess);
    await mkdir(tess.page, 'tess', 'teaching');
    await mkdir(tess.page, 'tess', 'teaching/week1');
    await write(tess.page, 'tess', 'teaching/week1/notes.md', '# Week 1\nKepler’s laws.\n');
    await mkdir(tess.page, 'tess', 'teaching/hw1');
    await write(tess.page, 'tess', 'teaching/hw1/answer.txt', 'Your answer here.\n');
    await tess.page.goto(`${hub.url}/user/tess/lab/tree/teaching/week1`);
    await tess.page.waitForSelector('#jp-main-dock-panel', { timeout: 120_000 });
    await entry(tess.page, 'notes.md').waitFor({ timeout: 60_000 });
    await showPanel(tess.page);
    const panel = panelOf(tess.page);

    // --- 1. A new course. ---
    await panel.getByTestId('orrery-create-course').click();
    const form = tess.page.getByTestId('orrery-course-form');
    await form.waitFor();
    await form.getByTestId('orrery-course-form-slug').fill(SLUG);
    await form.getByTestId('orrery-course-form-title').fill('Astronomy 101');
    await form.getByTestId('orrery-course-form-term').fill('Spring 2026');
    await tess.page.locator('.jp-Dialog-content').screenshot({
      path: path.join(DOC_IMAGES, 'courses-create.png'),
    });
    await press(tess.page, 'Create');
    await panel
      .locator(`[data-testid="orrery-course"][data-slug="${SLUG}"][data-role="teacher"]`)
      .waitFor();

    // --- 2. The roster: both students by name. ---
    await panel.getByTestId('orrery-roster-input').fill('sam, sue');
    await panel.getByTestId('orrery-add-students').click();
    for (const name of ['sam', 'sue']) {
      await panel
        .locator(`[data-testid="orrery-roster-member"][data-name="${name}"][data-role="student"]`)
        .waitFor({ timeout: 30_000 });
    }
    await panel.getByTestId('orrery-make-invitation').click();
    await panel.getByTestId('orrery-invitation-code').waitFor();
    await shot(panel, 'roster');

    // --- 3. Distribute week1 read-only (the file browser's folder is proposed)... ---
    await panel.getByTestId('orrery-distribute').click();
    const dist = tess.page.getByTestId('orrery-distribute-form');
    await dist.waitFor();
    assert.equal(
      await dist.getByTestId('orrery-distribute-form-source').inputValue(),
      'teaching/week1',
    );
    await dist.getByTestId('orrery-distribute-form-name').fill('week1');
    await dist.getByTestId('orrery-distribute-form-title').fill('Week 1: Kepler');
    await dist.getByTestId('orrery-distribute-form-mode').selectOption('lecture');
    await tess.page.locator('.jp-Dialog-content').screenshot({
      path: path.join(DOC_IMAGES, 'courses-distribute.png'),
    });
    await press(tess.page, 'Distribute');
    await assignmentRow(tess.page, 'week1').waitFor({ timeout: 60_000 });

    // ...and hw1 as a copy for each student, due in a week (a typed path).
    await panel.getByTestId('orrery-distribute').click();
    await dist.waitFor();
    await dist.getByTestId('orrery-distribute-form-name').fill('hw1');
    await dist.getByTestId('orrery-distribute-form-title').fill('Homework 1');
    await dist.getByTestId('orrery-distribute-form-source').fill('teaching/hw1');
    await dist.getByTestId('orrery-distribute-form-mode').selectOption('copy');
    const due = new Date(Date.now() + 7 * 24 * 3600_000);
    const p = (n: number) => String(n).padStart(2, '0');
    await dist
      .getByTestId('orrery-distribute-form-dueAt')
      .fill(`${due.getFullYear()}-${p(due.getMonth() + 1)}-${p(due.getDate())}T17:00`);
    await press(tess.page, 'Distribute');
    const hw1 = assignmentRow(tess.page, 'hw1');
    await assignmentRow(tess.page, 'hw1', { distributed: '2' }).waitFor({ timeout: 60_000 });
    await shot(panel, 'assignments');

    // --- 4. Each student: the lecture is read-only; fetch, answer, submit. ---
    for (const name of ['sam', 'sue'] as const) {
      const student = await openLab({ name, api: apis[name] });
      people.push(student);
      const { page } = student;
      const mine = panelOf(page);
      await mine
        .locator(`[data-testid="orrery-course"][data-slug="${SLUG}"][data-role="student"]`)
        .waitFor({
          timeout: 60_000,
        });
      await assignmentRow(page, 'week1').waitFor();
      // The copy was made at the release: the assignment is there to do.
      await assignmentRow(page, 'hw1', { status: 'fetched' }).waitFor();
      if (name === 'sam') await shot(mine, 'student');

      // The lecture folder opens in the file browser; writing there is refused.
      await assignmentRow(page, 'week1').getByTestId('orrery-fetch').click();
      await browsing(page, 'week1');
      await entry(page, 'notes.md').waitFor({ timeout: 60_000 });
      await page.locator('.jp-FileBrowser').getByTitle('New Folder').click();
      const refusal = page.locator('.jp-Dialog');
      await refusal.waitFor({ timeout: 60_000 });
      const message = (await refusal.textContent()) ?? '';
      assert.match(message, /read-only file system/i, message);
      if (name === 'sam') await shot(page, 'lecture-read-only');
      await refusal.locator('button').last().click();
      await refusal.waitFor({ state: 'detached' });
      const lecture = await contents(page, name, 'GET', LECTURE);
      assert.equal(lecture.status, 200);
      assert.deepEqual(
        namesOf(lecture),
        ['notes.md'],
        'nothing was written into the lecture folder',
      );

      // The copy: fetched into the workspace, answered, submitted.
      await assignmentRow(page, 'hw1').getByTestId('orrery-fetch').click();
      await browsing(page, 'hw1');
      await entry(page, 'answer.txt').waitFor({ timeout: 60_000 });
      assert.equal(await readText(page, name, `${COPY}/answer.txt`), 'Your answer here.\n');
      await write(page, name, `${COPY}/answer.txt`, `${name}: F = G m1 m2 / r^2\n`);
      await assignmentRow(page, 'hw1').getByTestId('orrery-submit').click();
      await page.getByTestId('orrery-submit-form').waitFor();
      if (name === 'sam') {
        await page.locator('.jp-Dialog-content').screenshot({
          path: path.join(DOC_IMAGES, 'courses-submit.png'),
        });
      }
      await press(page, 'Submit');
      await assignmentRow(page, 'hw1', { status: 'submitted' }).waitFor({
        timeout: 60_000,
      });
      // A later edit does not change the snapshot the teacher will collect.
      await write(page, name, `${COPY}/answer.txt`, `${name}: edited after submitting\n`);
    }
    const [, sam, sue] = people as [Person, Person, Person];

    // --- 5. Each sees only their own submission; the other's is out of reach. ---
    for (const [me, other] of [
      [sam, sue],
      [sue, sam],
    ] as const) {
      const own = await me.api.get(`/hub/api/courses/${SLUG}/assignments/hw1/submissions`);
      assert.equal(own.status, 200, own.text);
      assert.deepEqual(
        own.json.submissions.map((s: { student: string }) => s.student),
        [me.name],
      );
      const theirs = await me.api.get(
        `/hub/api/courses/${SLUG}/assignments/hw1/submissions?student=${other.name}`,
      );
      assert.equal(theirs.status, 404, theirs.text);
      assert.equal(
        await throughLab(
          me.page,
          me.name,
          `courses/${SLUG}/assignments/hw1/submissions?student=${other.name}`,
        ),
        404,
        'with the server’s token too',
      );
      const files = await me.api.get(
        `/hub/api/files/Storage/${other.name}/persistent/list?path=${encodeURIComponent(COPY)}`,
      );
      assert.equal(files.status, 404, files.text);
      const grades = await me.api.get(`/hub/api/courses/${SLUG}/grades`);
      assert.equal(grades.status, 200, grades.text);
      assert.ok(grades.json.grades.every((g: { student: string }) => g.student === me.name));
      // By path: the other's workspace is not in my file browser.
      const path_ = await contents(
        me.page,
        me.name,
        'GET',
        `volumes/Storage/${other.name}/persistent/${COPY}`,
      );
      assert.equal(path_.status, 404);
      const storage = await contents(me.page, me.name, 'GET', 'volumes/Storage');
      const owners = namesOf(storage);
      assert.ok(!owners.includes(other.name), `Storage shows ${owners}`);
    }

    // --- 6. The teacher collects both, writes feedback, returns it and grades. ---
    await refreshPanel(tess.page);
    await assignmentRow(tess.page, 'hw1', { submitted: '2' }).waitFor({ timeout: 60_000 });
    await hw1.getByTestId('orrery-collect').click();
    await browsing(tess.page, 'hw1');
    const grading = `volumes/Storage/tess/course-${SLUG}-grading/hw1`;
    for (const name of ['sam', 'sue']) {
      await entry(tess.page, name).waitFor({ timeout: 60_000 });
      assert.equal(
        await readText(tess.page, 'tess', `${grading}/${name}/answer.txt`),
        `${name}: F = G m1 m2 / r^2\n`,
        'the snapshot, not the later edit',
      );
      const meta = JSON.parse(
        await readText(tess.page, 'tess', `${grading}/${name}/SUBMISSION.json`),
      );
      assert.equal(meta.student, name);
      assert.equal(meta.late, false);
      await mkdir(tess.page, 'tess', `${grading}/${name}/feedback`);
      await write(
        tess.page,
        'tess',
        `${grading}/${name}/feedback/feedback.md`,
        `Well done, ${name}.\n`,
      );
    }
    await shot(tess.page, 'collected');
    await hw1.getByTestId('orrery-return').click();
    await assignmentRow(tess.page, 'hw1', { returned: '2' }).waitFor({ timeout: 60_000 });
    await hw1.getByTestId('orrery-show-submissions').click();
    await hw1.getByTestId('orrery-submissions').waitFor();
    for (const [name, score] of [
      ['sam', '9'],
      ['sue', '8.5'],
    ] as const) {
      await hw1
        .locator(`[data-testid="orrery-submission"][data-student="${name}"]`)
        .getByTestId('orrery-grade')
        .click();
      const grade = tess.page.getByTestId('orrery-grade-form');
      await grade.waitFor();
      await grade.getByTestId('orrery-grade-form-score').fill(score);
      await grade.getByTestId('orrery-grade-form-comment').fill(`Clear work, ${name}.`);
      await press(tess.page, 'Save');
      await hw1
        .locator(
          `[data-testid="orrery-submission"][data-student="${name}"] [data-testid="orrery-score"]`,
          { hasText: score },
        )
        .waitFor();
    }
    await shot(panel, 'grades');
    await panel.getByTestId('orrery-export-grades').click();
    await tess.page
      .locator('.lm-TabBar-tab', { hasText: `${SLUG}-grades.csv` })
      .first()
      .waitFor({ timeout: 60_000 });
    // Written into the file browser's folder, where Collect left it.
    const csv = await readText(tess.page, 'tess', `${grading}/${SLUG}-grades.csv`);
    assert.match(csv, /^student,assignment,score,comment,submitted_at,late/);
    assert.match(csv, /^sam,hw1,9,/m);
    assert.match(csv, /^sue,hw1,8\.5,/m);

    // --- 7. Each student sees only their own feedback and score. ---
    for (const me of [sam, sue]) {
      await refreshPanel(me.page);
      const row = assignmentRow(me.page, 'hw1');
      await assignmentRow(me.page, 'hw1', { status: 'returned' }).waitFor({ timeout: 60_000 });
      await row
        .getByTestId('orrery-assignment-status')
        .filter({ hasText: me.name === 'sam' ? 'score 9' : 'score 8.5' })
        .waitFor();
      await row.getByTestId('orrery-open-feedback').click();
      await browsing(me.page, 'feedback');
      await entry(me.page, 'feedback.md').waitFor({ timeout: 60_000 });
      assert.equal(
        await readText(me.page, me.name, `${COPY}/feedback/feedback.md`),
        `Well done, ${me.name}.\n`,
      );
      const listing = await contents(me.page, me.name, 'GET', `${COPY}/feedback`);
      assert.deepEqual(namesOf(listing), ['feedback.md']);
      if (me === sam) await shot(me.page, 'feedback');
    }
  } catch (err) {
    for (const person of people) {
      await person.page
        .screenshot({ path: `${ARTIFACTS}/courses-failed-${person.name}.png` })
        .catch(() => undefined);
    }
    throw err;
  } finally {
    for (const person of people) await person.context.close();
  }
  for (const [name, api] of Object.entries(apis)) {
    assert.equal((await api.delete(`/hub/api/users/${name}/server`)).status, 204);
    await waitForStatus(api, name, '', 'gone', 120_000);
  }
});
