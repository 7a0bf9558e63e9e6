import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '../harness/fixtures.ts';
import { MyDBPanelPage } from '../harness/mydb-page.ts';
import { REPO_ROOT } from '../harness/servers.ts';

/** Screenshots for docs/labextension.md, rewritten by every run. */
const DOC_IMAGES = join(REPO_ROOT, 'docs', 'images');

/** Sirius, the centre of the cone search. */
const SIRIUS = { ra: 101.287, dec: -16.716 };

/** The star catalog's rows within 10° of Sirius, by the hub's spatial function (Zones or q3c). */
const CONE_SEARCH =
  'SELECT star_id, name, ra, dec, mag ' +
  `FROM orrery.cone_search(NULL::catalog_stars.stars, ${SIRIUS.ra}, ${SIRIUS.dec}, 10) ` +
  'ORDER BY mag';

test.describe('MyDB panel', () => {
  test('a cone search on the star catalog: grid, sky plot, saved to MyDB, found in the schema browser, loaded in a notebook', async ({
    orrery,
  }) => {
    test.setTimeout(240_000);
    const { alice } = orrery.users;
    mkdirSync(DOC_IMAGES, { recursive: true });

    const page = await orrery.labFor(alice);
    const mydb = new MyDBPanelPage(page);
    await mydb.open();
    // The catalogs `cli load-catalogs` loaded are public: contexts of every account.
    await expect(mydb.context('stars')).toBeVisible();
    await expect(mydb.context('ngc')).toBeVisible();

    // The cone search in the catalog's context: rows in the virtualised grid.
    await mydb.chooseContext('stars');
    await mydb.run(CONE_SEARCH);
    await expect(mydb.error).toHaveCount(0);
    await expect(mydb.summary).toContainText('rows');
    const rows = await mydb.rowCount();
    expect(rows).toBeGreaterThan(10);
    await expect(mydb.panel.locator('.jp-OrreryMyDB-grid canvas').first()).toBeVisible();
    await mydb.panel.screenshot({ path: join(DOC_IMAGES, 'mydb-panel.png') });

    // A sky plot of RA/Dec (JupyterLab's Vega-Lite renderer).
    await mydb.button('Plot').click();
    const plot = mydb.panel.locator('.jp-OrreryMyDB-plotOutput[data-plot="sky"]');
    await expect(plot.locator('canvas, svg').first()).toBeVisible();
    await mydb.panel.locator('select.jp-OrreryMyDB-plotProjection').selectOption('aitoff');
    await expect(plot.locator('canvas, svg').first()).toBeVisible();
    await mydb.panel.screenshot({ path: join(DOC_IMAGES, 'mydb-sky-plot.png') });

    // Save to MyDB (the query again, with `into`), then find it in the schema browser.
    const saved = `sirius_cone_${Date.now().toString(36)}`;
    const into = page.waitForResponse(
      (r) => r.url().includes('/mydb/query') && r.request().method() === 'POST',
    );
    await mydb.button('Save to MyDB').click();
    await mydb.dialog.locator('input').fill(saved);
    await mydb.dialog.getByRole('button', { name: /ok|save/i }).click();
    expect(await (await into).json()).toMatchObject({ table: saved, row_count: rows });
    await mydb.expand('mydb');
    const table = mydb.table('mydb', saved);
    await expect(table).toBeVisible();
    await table.locator('.jp-OrreryMyDB-twisty').click();
    await expect(table.locator('.jp-OrreryMyDB-column')).toHaveCount(5);
    await expect(table.locator('.jp-OrreryMyDB-column', { hasText: /^ra / })).toContainText(
      'double precision',
    );
    // The catalog's own columns, with their types and units.
    await mydb.expand('stars');
    const source = mydb.table('stars', 'stars');
    await expect(source).toBeVisible();
    await source.locator('.jp-OrreryMyDB-twisty').click();
    const ra = source.locator('.jp-OrreryMyDB-column', { hasText: /^ra / });
    await expect(ra).toContainText('double precision');
    await expect(ra).toContainText('[deg]');

    // Load the saved table in a notebook: a cell that reads it as a DataFrame, run in a real kernel.
    // The table's actions show on hover, as in JupyterLab's file browser.
    await table.locator('.jp-OrreryMyDB-row').first().hover();
    await table.getByTitle('Open in a notebook as a DataFrame').click();
    const cell = page.locator('.jp-NotebookPanel:visible .jp-Cell').first();
    await expect(cell).toContainText('from orrery import mydb');
    await expect(cell).toContainText(`SELECT * FROM ${saved}`);
    await page.notebook.runCell(0, true);
    const output = page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output');
    const frame = output.locator('table.dataframe');
    await expect(frame).toBeVisible({ timeout: 60_000 });
    await expect(frame.locator('thead')).toContainText('star_id');
    await expect(frame.locator('thead')).toContainText('dec');
    await expect(output).toContainText(`${rows} rows`);
    await page
      .locator('.jp-NotebookPanel:visible')
      .screenshot({ path: join(DOC_IMAGES, 'mydb-notebook.png') });
  });

  test('a SQL error is shown with the hub message, and the next good query clears it', async ({
    orrery,
  }) => {
    const page = await orrery.labFor(orrery.users.bob);
    const mydb = new MyDBPanelPage(page);
    await mydb.open();
    await mydb.run('SELECT 1 AS one,\n  2 FORM nowhere');
    await expect(mydb.error).toContainText('syntax error');
    // PostgreSQL's position, as the hub answers it, shown as a line and column.
    await expect(mydb.error).toContainText(/Line 2, column \d+/);
    await mydb.run('SELECT 9007199254740993::bigint AS big');
    await expect(mydb.error).toHaveCount(0);
    expect(await mydb.rowCount()).toBe(1);
  });

  test('Submit a batch query and watch it finish; the history has it and the streamed quick query; export the table', async ({
    orrery,
  }) => {
    test.setTimeout(180_000);
    const page = await orrery.labFor(orrery.users.bob);
    const mydb = new MyDBPanelPage(page);
    await mydb.open();
    await mydb.chooseContext('stars');
    // The panel asks for Arrow: this quick query is streamed, and recorded all the same.
    const sql = 'SELECT star_id, name, mag FROM stars WHERE mag < 1 ORDER BY mag';
    await mydb.run(sql);
    const rows = await mydb.rowCount();
    expect(rows).toBeGreaterThan(3);

    const table = `brightest_${Date.now().toString(36)}`;
    await mydb.button('Submit').click();
    await mydb.dialog.locator('input').fill(table);
    await mydb.dialog.getByRole('button', { name: /ok|submit/i }).click();
    const job = mydb.panel.locator('tr.jp-OrreryMyDB-batch', { hasText: table });
    await expect(job).toHaveAttribute('data-status', 'finished', { timeout: 60_000 });
    await expect(job.locator('td').nth(3)).toHaveText(String(rows));

    await mydb.panel.getByRole('tab', { name: 'History' }).click();
    const entries = mydb.panel.locator('.jp-OrreryMyDB-historyEntry');
    const batch = entries.filter({ hasText: `→ ${table}` });
    await expect(batch).toHaveAttribute('data-status', 'finished', { timeout: 30_000 });
    await expect(batch).toContainText(`batch · stars · finished · ${rows} rows`);
    const quick = entries.filter({ hasText: 'quick · stars' }).filter({ hasText: 'mag < 1' });
    await expect(quick.first()).toContainText(`finished · ${rows} rows`);

    // Export the batch query's table as CSV from the schema browser.
    await mydb.expand('mydb');
    const saved = mydb.table('mydb', table);
    await expect(saved).toBeVisible({ timeout: 30_000 });
    await saved.locator('.jp-OrreryMyDB-row').first().hover();
    const download = page.waitForEvent('download');
    await saved.getByTitle('Export…').click();
    await mydb.dialog.getByRole('button', { name: /ok|export/i }).click();
    const file = await (await download).path();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('star_id,name,mag');
    expect(lines).toHaveLength(rows + 1);
  });

  test('every MyDB action is in the command palette', async ({ orrery }) => {
    const page = await orrery.labFor(orrery.users.carol);
    await page.keyboard.press('Control+Shift+C');
    const search = page.locator('#command-palette .lm-CommandPalette-input');
    await expect(search).toBeVisible();
    for (const label of [
      'Open MyDB',
      'Run MyDB Query',
      'Submit MyDB Batch Query…',
      'Save Query Result to MyDB…',
      'Plot MyDB Result',
      'Open MyDB Result in Notebook',
      'Import Table into MyDB…',
      'Export MyDB Table…',
      'Drop MyDB Table…',
    ]) {
      await search.fill(label);
      await expect(
        page.locator('#command-palette .lm-CommandPalette-item', { hasText: label }).first(),
      ).toBeVisible();
    }
  });
});
