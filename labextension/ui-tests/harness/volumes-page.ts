/** A page object for the Volumes panel and its Share dialog, so tests read as user stories. */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, type Locator } from '@playwright/test';

export class VolumesPanelPage {
  constructor(readonly page: IJupyterLabPageFixture) {}

  get panel(): Locator {
    return this.page.locator('#orrery-volumes');
  }

  get dialog(): Locator {
    return this.page.locator('.jp-Dialog');
  }

  section(name: string): Locator {
    return this.panel.locator(`section[data-section="${name}"]`);
  }

  volume(root: string, owner: string, name: string): Locator {
    return this.panel.locator(
      `.jp-OrreryVolumes-volume[data-root="${root}"][data-owner="${owner}"][data-volume="${name}"]`,
    );
  }

  usage(root: string): Locator {
    return this.panel.getByTestId(`orrery-usage-${root}`);
  }

  async open(): Promise<void> {
    await this.page.sidebar.openTab('orrery-volumes');
    await expect(this.panel).toBeVisible();
    await expect(this.section('root-Storage')).toBeVisible();
  }

  async refresh(): Promise<void> {
    await this.page.evaluate(() => window.jupyterapp.commands.execute('orrery:volumes-refresh'));
  }

  /** The + button, then the root, name and description dialogs. */
  async createVolume(root: string, name: string, description: string): Promise<void> {
    await this.panel.getByTestId('orrery-create-volume').click();
    await this.dialog.locator('select').selectOption(root);
    await this.dialog.locator('.jp-mod-accept').click();
    await this.dialog.locator('input').fill(name);
    await this.dialog.locator('.jp-mod-accept').click();
    await this.dialog.locator('input').fill(description);
    await this.dialog.locator('.jp-mod-accept').click();
  }

  /** The Share dialog, opened from the volume's row. */
  async openShare(root: string, owner: string, name: string): Promise<Locator> {
    await this.volume(root, owner, name).getByTestId('orrery-share-volume').click();
    const body = this.dialog.locator('.jp-OrreryShare');
    await expect(body).toBeVisible();
    return body;
  }
}
