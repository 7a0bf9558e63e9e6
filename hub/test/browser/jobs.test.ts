/**
 * Notebook jobs as a person meets them in JupyterLab, in real Chromium against a real hub: a
 * Docker lab opens a notebook with a cell tagged "parameters", runs it as a job with a changed
 * parameter, sees the job queued, running and succeeded in the Jobs panel (with its log and a
 * notification), opens the executed notebook and finds the parameter's effect in its output.
 * The job runs in its own container on the user's Storage workspace, which the lab mounts too.
 *
 * The lab must carry this extension: ORRERY_TEST_IMAGE names the image (default
 * orrery/lab:latest, which CI builds from the checkout). Screenshots of the dialog and the panel
 * go to docs/images/ (docs/jobs.md shows them). Needs Docker and Debian's chromium; in CI both
 * must be there.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { dockerAvailable } from '@orrery/spawner';
import { type Browser, chromium, type Page } from 'playwright-core';
import { domain } from '../../src/compute/domainConfig.ts';
import { startTestHub, type TestHub } from '../support.ts';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

const IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
const DOC_IMAGES = path.resolve(import.meta.dirname, '../../../docs/images');

const docker = await dockerAvailable();
if (process.env.CI === 'true' && (!existsSync(CHROMIUM) || !docker))
  throw new Error(
    'Chromium and Docker are required in CI: scripts/provision-lab.sh, provision-docker.sh',
  );
const skip = !existsSync(CHROMIUM)
  ? 'Debian chromium is not installed'
  : !docker
    ? 'no Docker daemon answers (jobs run in containers)'
    : false;

let hub: TestHub;
let browser: Browser;

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  mkdirSync(DOC_IMAGES, { recursive: true });
  hub = await startTestHub('browser_jobs', {
    compute: { domains: [domain('docker', 'docker')], images: [IMAGE] },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  if (skip) return;
  await browser?.close();
  if (hub?.logLines.length) console.error(`hub warnings:\n${hub.logLines.join('')}`);
  await hub?.stop();
});

/**
 * The notebook: a parameters cell, then a cell that waits for a file the test writes (so the
 * job is seen running however fast the machine is) and prints what the parameters make.
 */
const NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
    language_info: { name: 'python' },
  },
  cells: [
    {
      id: 'params',
      cell_type: 'code',
      metadata: { tags: ['parameters'] },
      execution_count: null,
      outputs: [],
      source: 'greeting = "hello"\nn = 2',
    },
    {
      id: 'work',
      cell_type: 'code',
      metadata: {},
      execution_count: null,
      outputs: [],
      source: [
        'import os, time\n',
        '# The test lets the job finish by writing this file through the lab.\n',
        'while not os.path.exists("/home/jovyan/work/analysis/go"):\n',
        '    time.sleep(0.2)\n',
        'print(f"{greeting}: result={n * 21}")',
      ].join(''),
    },
  ],
};

/** Write a file through the lab's contents API, as JupyterLab itself does (with its XSRF token). */
async function putFile(page: Page, labBase: string, filePath: string, model: object) {
  const status = await page.evaluate(
    async ({ url, body }) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      const res = await fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf) },
        body: JSON.stringify(body),
      });
      return res.status;
    },
    { url: `${labBase}api/contents/${filePath}`, body: model },
  );
  assert.ok(status === 200 || status === 201, `PUT ${filePath}: ${status}`);
}

test('run a notebook as a job with a parameter; follow it; open the executed notebook', {
  skip,
  timeout: 420_000,
}, async () => {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 860 },
    colorScheme: 'light',
  });
  const page = await context.newPage();
  // On a busy machine the image's real-time collaboration may be slow to sync a document and
  // ask whether to keep waiting; a person would keep waiting, and so does the test.
  await page.addLocatorHandler(
    page.locator('.jp-Dialog', { hasText: 'taking some time to load' }),
    async (dialog) => {
      await dialog.getByRole('button', { name: 'Continue waiting' }).click();
    },
  );
  try {
    await page.goto(`${hub.url}/hub/signup`);
    await page.fill('#username', 'alice');
    await page.fill('#email', 'alice@example.org');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL('**/hub/home');
    await page.click('#start button[type=submit]');
    await page.waitForURL('**/user/alice/lab**', { timeout: 180_000 });
    await page.waitForSelector('#jp-main-dock-panel', { timeout: 90_000 });
    const lab = '/user/alice/';

    await putFile(page, lab, 'analysis', { type: 'directory' });
    await putFile(page, lab, 'analysis/fit.ipynb', {
      type: 'notebook',
      format: 'json',
      content: NOTEBOOK,
    });
    await page.goto(`${hub.url}${lab}lab/tree/analysis/fit.ipynb`);
    await page.waitForSelector('.jp-NotebookPanel .jp-Cell', { timeout: 90_000 });

    // Offered in the File menu and on notebooks in the file browser's context menu.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: 'Run as Job…' }).first().waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.jp-DirListing-item[data-file-type="notebook"]').first().click({
      button: 'right',
    });
    await page.locator('.lm-Menu-itemLabel', { hasText: 'Run as Job…' }).first().waitFor();
    await page.keyboard.press('Escape');

    // The notebook toolbar's "Run as job" opens the dialog, prefilled from this server.
    const button = page.locator(
      '.jp-NotebookPanel-toolbar [data-jp-item-name="orrery-run-as-job"]',
    );
    const clicked = Date.now();
    await button.click({ timeout: 30_000 });
    const dialog = page.locator('.jp-Dialog');
    const parameters = dialog.getByTestId('orrery-job-parameters');
    // Saving the notebook first goes through the collaboration server, slow on a loaded
    // machine. If another dialog (an error) stands there instead, the failure says what it says.
    await parameters.waitFor({ timeout: 90_000 }).catch(async (err) => {
      const shown = await dialog.allInnerTexts().catch(() => []);
      throw new Error(`no Run as job dialog; dialogs shown: ${JSON.stringify(shown)}`, {
        cause: err,
      });
    });
    console.log(`Run as job: dialog open ${Date.now() - clicked} ms after the click`);
    assert.equal(await parameters.inputValue(), 'greeting = "hello"\nn = 2');
    assert.equal(await dialog.getByTestId('orrery-job-workdir').inputValue(), 'analysis');
    assert.equal(await dialog.getByTestId('orrery-job-image').inputValue(), IMAGE);
    assert.equal(await dialog.getByTestId('orrery-job-domain').inputValue(), 'docker');
    assert.equal(
      await dialog.getByTestId('orrery-job-notebook').textContent(),
      'analysis/fit.ipynb',
    );
    await parameters.fill("greeting = 'hi'\nn = 5");
    await dialog.getByTestId('orrery-job-time-limit').fill('10');
    await dialog.locator('.jp-Dialog-content').screenshot({
      path: path.join(DOC_IMAGES, 'jobs-run-dialog.png'),
    });

    // Every status a job row shows, recorded in the page, so a short-lived one is not missed.
    // A string, not a function: tsx would wrap a named function in a helper the page lacks.
    await page.evaluate(`{
      const seen = [];
      window.orrerySeen = seen;
      new MutationObserver(() => {
        for (const row of document.querySelectorAll('.jp-OrreryJobs-job')) {
          const status = row.getAttribute('data-status');
          if (status && seen.at(-1) !== status) seen.push(status);
        }
      }).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['data-status'],
      });
    }`);
    await dialog.getByRole('button', { name: 'Run' }).click();

    const panel = page.locator('#orrery-jobs');
    // The notebook is saved (through the collaboration server) before the job is submitted
    // and the panel opened; an error dialog instead says what it says.
    await panel.waitFor({ state: 'visible', timeout: 90_000 }).catch(async (err) => {
      const shown = await page
        .locator('.jp-Dialog')
        .allInnerTexts()
        .catch(() => []);
      await page.screenshot({ path: path.join(ARTIFACTS, 'jobs-no-panel.png') }).catch(() => {});
      throw new Error(`no Jobs panel after Run; dialogs shown: ${JSON.stringify(shown)}`, {
        cause: err,
      });
    });
    const row = panel.locator('.jp-OrreryJobs-job').first();
    await row.waitFor({ timeout: 30_000 });
    const id = Number(await row.getAttribute('data-job-id'));
    const api = await page.request.get(`${hub.url}/hub/api/users/alice/jobs/${id}`);
    const job = await api.json();
    assert.equal(job.kind, 'notebook');
    assert.equal(job.notebook, 'analysis/fit.ipynb');
    assert.deepEqual(job.parameters, { greeting: 'hi', n: 5 });
    assert.equal(job.working_dir, 'analysis');
    assert.equal(job.time_limit_seconds, 600);

    await panel
      .locator(`.jp-OrreryJobs-job[data-job-id="${id}"][data-status="running"]`)
      .waitFor({ timeout: 180_000 });
    await row.getByTestId('orrery-job-log').click();
    await panel.getByTestId('orrery-job-logs').waitFor();

    // The lab and the job share the workspace: the file written here lets the job finish.
    await putFile(page, lab, 'analysis/go', { type: 'file', format: 'text', content: '' });
    await panel
      .locator(`.jp-OrreryJobs-job[data-job-id="${id}"][data-status="succeeded"]`)
      .waitFor({ timeout: 180_000 })
      .catch(async (err) => {
        await page.screenshot({ path: `${ARTIFACTS}/jobs-not-succeeded.png` });
        const logs = await page.request.get(`${hub.url}/hub/api/users/alice/jobs/${id}/logs`);
        throw new Error(`${err.message}\nlogs: ${await logs.text()}`);
      });
    const seen = (await page.evaluate('window.orrerySeen')) as string[];
    assert.deepEqual(seen, ['queued', 'running', 'succeeded'], `statuses shown: ${seen}`);
    await page
      .locator('.Toastify__toast', { hasText: `fit.ipynb (#${id}) succeeded` })
      .waitFor({ timeout: 30_000 });
    // The log view stops following once the job has ended and all was read.
    await panel.getByTestId('orrery-job-following').waitFor({ state: 'detached', timeout: 30_000 });
    await panel.getByTestId('orrery-job-stdout').getByText('hi: result=105').waitFor();
    await panel.screenshot({ path: path.join(DOC_IMAGES, 'jobs-panel.png') });

    // The executed notebook opens in the lab, with the parameter's effect in its output.
    await row.getByTestId('orrery-job-open-notebook').click();
    // Only the executed copy has outputs: the input notebook was never run in the lab.
    await page
      .locator('.jp-NotebookPanel .jp-OutputArea-output', { hasText: 'hi: result=105' })
      .waitFor({ timeout: 60_000 });
    const tab = page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current').first();
    assert.match((await tab.getAttribute('title')) ?? '', new RegExp(`jobs/${id}/fit\\.ipynb`));
    // papermill's cell with the parameters given, after the notebook's own.
    await page
      .locator('.jp-NotebookPanel .jp-Cell', { hasText: /greeting = ["']hi["']/ })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.screenshot({ path: `${ARTIFACTS}/jobs-executed-notebook.png` });

    await page.request.delete(`${hub.url}/hub/api/users/alice/server`, {
      headers: { 'x-xsrftoken': await xsrfOf(context, hub.url) },
    });
  } catch (err) {
    await page.screenshot({ path: `${ARTIFACTS}/jobs-failed.png` }).catch(() => undefined);
    throw err;
  } finally {
    await context.close();
  }
});

async function xsrfOf(
  context: import('playwright-core').BrowserContext,
  url: string,
): Promise<string> {
  const cookies = await context.cookies(`${url}/hub/`);
  return cookies.find((cookie) => cookie.name === '_xsrf')?.value ?? '';
}
