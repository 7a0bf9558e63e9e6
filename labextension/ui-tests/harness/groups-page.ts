/** A page object for the Groups panel, so tests read as user stories. */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, type Locator } from '@playwright/test';

export class GroupsPanelPage {
  constructor(readonly page: IJupyterLabPageFixture) {}

  get panel(): Locator {
    return this.page.locator('#orrery-groups');
  }

  section(name: 'invitations' | 'groups' | 'domains'): Locator {
    return this.panel.locator(`section[data-section="${name}"]`);
  }

  group(name: string): Locator {
    return this.panel.locator('.jp-OrreryGroups-group', {
      has: this.page.locator('.jp-OrreryGroups-toggle .jp-OrreryGroups-name', { hasText: name }),
    });
  }

  invitation(groupName: string): Locator {
    return this.panel.locator('.jp-OrreryGroups-invitation', {
      has: this.page.locator('.jp-OrreryGroups-name', { hasText: groupName }),
    });
  }

  member(groupName: string, username: string): Locator {
    return this.group(groupName).locator(`.jp-OrreryGroups-member[data-username="${username}"]`);
  }

  get dialog(): Locator {
    return this.page.locator('.jp-Dialog');
  }

  async open(): Promise<void> {
    await this.page.sidebar.openTab('orrery-groups');
    await expect(this.panel).toBeVisible();
    await expect(this.panel.locator('.jp-OrreryGroups-whoami')).toBeVisible();
  }

  async refresh(): Promise<void> {
    await this.page.evaluate(() => window.jupyterapp.commands.execute('orrery:refresh-groups'));
  }

  /** The + button, then the name and description dialogs. */
  async createGroup(name: string, description: string): Promise<void> {
    await this.panel.getByTestId('orrery-create-group').click();
    await this.dialog.locator('input').fill(name);
    await this.dialog.locator('.jp-mod-accept').click();
    await this.dialog.locator('input').fill(description);
    await this.dialog.locator('.jp-mod-accept').click();
    await expect(this.group(name)).toHaveClass(/jp-mod-selected/);
    await expect(this.member(name, await this.me())).toBeVisible();
  }

  async me(): Promise<string> {
    const text = (await this.panel.locator('.jp-OrreryGroups-whoami').textContent()) ?? '';
    return text.replace(/^Signed in as /, '').trim();
  }

  async openGroup(name: string): Promise<void> {
    const g = this.group(name);
    if (!(await g.getAttribute('class'))?.includes('jp-mod-selected')) {
      await g.locator('.jp-OrreryGroups-toggle').click();
    }
    await expect(g.locator('.jp-OrreryGroups-detail')).toBeVisible();
  }

  /** Type into the invite form of an open group, pick the role, press Invite. */
  async invite(groupName: string, username: string, role: 'MEMBER' | 'ADMIN'): Promise<void> {
    const form = this.group(groupName).locator('form.jp-OrreryGroups-invite');
    await form.locator('input').fill(username);
    await form.locator('select').selectOption(role);
    await form.getByRole('button', { name: 'Invite' }).click();
  }

  /** The usernames offered by the invite box's completion list after typing `prefix`. */
  async completionsFor(groupName: string, prefix: string): Promise<string[]> {
    const form = this.group(groupName).locator('form.jp-OrreryGroups-invite');
    await form.locator('input').fill(prefix);
    const options = form.locator('datalist option');
    await expect(options.first()).toBeAttached();
    const values = await options.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    await form.locator('input').fill('');
    return values;
  }
}
