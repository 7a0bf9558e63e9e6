/**
 * The `orrery` fixture: `{ hub, users: {alice, bob, carol}, labFor(user) }`.
 * `labFor` signs the user's own browser context into that user's JupyterLab and returns a
 * Galata page on it. A later panel's test only imports `test` and `expect` from here.
 */
import { test as base, galata, type IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { BrowserContext } from '@playwright/test';
import { type HarnessState, type HarnessUser, readState, type UserName } from './state.ts';

export { expect } from '@jupyterlab/galata';

export interface OrreryHarness {
  hub: HarnessState['hub'];
  users: Record<UserName, HarnessUser>;
  /** A fresh browser context, signed in to `user`'s JupyterLab, with JupyterLab loaded. */
  labFor(user: HarnessUser): Promise<IJupyterLabPageFixture>;
}

export const test = base.extend<{ orrery: OrreryHarness }>({
  orrery: async ({ browser, waitForApplication }, use) => {
    const state = readState();
    const contexts: BrowserContext[] = [];
    const labFor = async (user: HarnessUser): Promise<IJupyterLabPageFixture> => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      contexts.push(context);
      const page = await context.newPage();
      // Log in as a browser does: the token in the URL once; Jupyter answers with its login
      // cookie, and from then on the page uses cookie + XSRF like any user's browser.
      const login = await page.goto(`${user.labUrl}login?token=${user.labToken}`);
      if (!login?.ok()) {
        throw new Error(`could not log in to ${user.name}'s JupyterLab: ${login?.status()}`);
      }
      return galata.initTestPage(
        '/lab',
        true,
        user.labUrl.replace(/\/$/, ''),
        true,
        galata.DEFAULT_SETTINGS,
        true,
        true,
        page,
        null,
        null,
        // A folder that exists in every lab's root (servers.ts), opened in the file browser.
        'tests',
        waitForApplication,
      );
    };
    await use({ hub: state.hub, users: state.users, labFor });
    await Promise.all(contexts.map((c) => c.close()));
  },
});
