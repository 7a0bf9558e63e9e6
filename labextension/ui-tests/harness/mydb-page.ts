/** A page object for the MyDB panel, so tests read as user stories. */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, type Locator } from '@playwright/test';

export class MyDBPanelPage {
  constructor(readonly page: IJupyterLabPageFixture) {}

  get panel(): Locator {
    return this.page.locator('#orrery-mydb');
  }

  get dialog(): Locator {
    return this.page.locator('.jp-Dialog');
  }

  get summary(): Locator {
    return this.panel.locator('.jp-OrreryMyDB-summary');
  }

  get error(): Locator {
    return this.panel.locator('.jp-OrreryMyDB-status .jp-OrreryMyDB-error');
  }

  button(name: string): Locator {
    return this.panel.locator('.jp-OrreryMyDB-actions').getByRole('button', { name, exact: true });
  }

  /** Open it from the Orrery menu; the schema browser lists MyDB first. */
  async open(): Promise<void> {
    await this.page.menu.clickMenuItem('Orrery>Open MyDB');
    await expect(this.panel).toBeVisible();
    await expect(this.context('mydb')).toBeVisible();
  }

  context(name: string): Locator {
    return this.panel.locator(`.jp-OrreryMyDB-contextNode[data-context="${name}"]`);
  }

  /** Open a context's node in the schema browser (a no-op when it is open). */
  async expand(context: string): Promise<void> {
    const twisty = this.context(context).locator('.jp-OrreryMyDB-twisty').first();
    if ((await twisty.getAttribute('aria-expanded')) !== 'true') await twisty.click();
    await expect(twisty).toHaveAttribute('aria-expanded', 'true');
  }

  table(context: string, name: string): Locator {
    return this.context(context).locator(`.jp-OrreryMyDB-table[data-table="${name}"]`);
  }

  async chooseContext(name: string): Promise<void> {
    await this.panel.locator('select.jp-OrreryMyDB-context').selectOption(name);
  }

  /** Replace the editor's SQL by typing it, as a user does. */
  async write(sql: string): Promise<void> {
    const editor = this.panel.locator('.jp-OrreryMyDB-editor .cm-content');
    await editor.click();
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Delete');
    await this.page.keyboard.type(sql);
    // Close the completion list if typing opened one.
    await this.page.keyboard.press('Escape');
  }

  async run(sql: string): Promise<void> {
    await this.write(sql);
    const answered = this.page.waitForResponse((r) => r.url().includes('/mydb/query'));
    await this.button('Run').click();
    await answered;
    await expect(this.button('Run')).toHaveText('Run');
    await expect(this.summary.or(this.error)).toBeVisible();
  }

  /** The number of rows the summary line reports. */
  async rowCount(): Promise<number> {
    const text = (await this.summary.textContent()) ?? '';
    const m = /([\d,]+) rows/.exec(text);
    return m ? Number(m[1]!.replace(/,/g, '')) : -1;
  }
}
