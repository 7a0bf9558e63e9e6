/**
 * Playwright global setup: a fresh database, the hub on it, the users alice, bob and carol
 * with hub tokens, and one JupyterLab per user. Returns the teardown, which stops every
 * process it started and drops the database, also when setup fails half-way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FullConfig } from '@playwright/test';
import {
  checkPrerequisites,
  createDatabase,
  createHubUser,
  dropRunDatabases,
  loadCatalogs,
  REPO_ROOT,
  type Service,
  startHub,
  startLab,
  stop,
} from './servers.ts';
import {
  type HarnessState,
  type HarnessUser,
  STATE_ENV,
  USER_NAMES,
  type UserName,
} from './state.ts';

export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  const chromium =
    (config.projects[0]?.use.launchOptions?.executablePath as string | undefined) ??
    '/usr/bin/chromium';
  checkPrerequisites(chromium);

  const runId = `${Date.now()}_${process.pid}`;
  const database = `orrery_ui_${runId}`;
  const runDir = join(REPO_ROOT, 'labextension', 'ui-tests', '.orrery', runId);
  mkdirSync(runDir, { recursive: true });

  const services: Service[] = [];
  let databaseMade = false;
  const teardown = async () => {
    await Promise.all(services.reverse().map((s) => stop(s)));
    if (databaseMade && !process.env.ORRERY_UI_KEEP_DB) {
      await dropRunDatabases(database);
    }
  };

  try {
    const databaseUrl = await createDatabase(database);
    databaseMade = true;
    const hub = await startHub(databaseUrl, runDir);
    services.push(hub.service);
    await loadCatalogs(databaseUrl, hub.port);

    const accounts = await Promise.all(
      USER_NAMES.map(
        async (name) => [name, await createHubUser(name, databaseUrl, hub.port)] as const,
      ),
    );
    const labs = await Promise.all(
      accounts.map(async ([name, account]) => {
        const lab = await startLab(name, hub.url, account.token, runDir);
        services.push(lab.service);
        const user: HarnessUser = {
          ...lab.user,
          password: account.password,
          hubToken: account.token,
        };
        return [name, user] as const;
      }),
    );

    const state: HarnessState = {
      hub: { url: hub.url, databaseUrl, database },
      users: Object.fromEntries(labs) as Record<UserName, HarnessUser>,
      runDir,
    };
    const statePath = join(runDir, 'state.json');
    writeFileSync(statePath, JSON.stringify(state, null, 2));
    process.env[STATE_ENV] = statePath;
    console.log(`orrery ui-tests: hub ${hub.url}, database ${database}, logs in ${runDir}`);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
