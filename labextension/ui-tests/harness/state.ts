/** What global setup hands to the tests: where everything runs, and who the users are. */
import { readFileSync } from 'node:fs';

export type UserName = 'alice' | 'bob' | 'carol';
export const USER_NAMES: readonly UserName[] = ['alice', 'bob', 'carol'];

export interface HarnessUser {
  name: string;
  /** Hub password (the CLI-created account). */
  password: string;
  /** The user's hub API token, as the spawner puts it in ORRERY_API_TOKEN. */
  hubToken: string;
  /** This user's own JupyterLab, e.g. http://127.0.0.1:41234/ */
  labUrl: string;
  /** The Jupyter token of that JupyterLab (browser login). */
  labToken: string;
}

export interface HarnessState {
  hub: { url: string; databaseUrl: string; database: string };
  users: Record<UserName, HarnessUser>;
  runDir: string;
}

/** Set by global setup; Playwright passes it on to the test workers. */
export const STATE_ENV = 'ORRERY_UI_HARNESS_STATE';

export function readState(): HarnessState {
  const path = process.env[STATE_ENV];
  if (!path) {
    throw new Error(
      `${STATE_ENV} is not set: run these tests with "npm run test:ui -w labextension"`,
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as HarnessState;
}
