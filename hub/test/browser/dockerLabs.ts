/**
 * What the browser tests whose users run Docker JupyterLabs with volume views share (courses,
 * volumes): when they cannot run here, their hub and browser set up and taken down, and the
 * file browser's entries.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dockerAvailable } from '@orrery/spawner';
import { type Browser, chromium, type Page } from 'playwright-core';
import { lockDockerTests } from '../../../spawner/test/helpers.ts';
import { deploymentOf, removeDeployment } from '../compute/support.ts';
import { startTestHub, type TestHub, type TestOverrides } from '../support.ts';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

/**
 * Why the tests cannot run on this machine (no browser, no Docker, not root: volume views are
 * mounts), or false. In CI (CI=true) a missing browser or Docker daemon throws instead.
 */
export async function dockerLabsSkip(): Promise<string | false> {
  const docker = await dockerAvailable();
  if (process.env.CI === 'true') {
    if (!existsSync(CHROMIUM))
      throw new Error('Chromium is required in CI: run scripts/provision-lab.sh');
    if (!docker) throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
  }
  return !existsSync(CHROMIUM)
    ? 'Debian chromium is not installed'
    : !docker
      ? 'no Docker daemon answers (CI=true makes this a failure)'
      : process.getuid?.() !== 0
        ? 'the hub must run as root to mount volume views'
        : false;
}

/** The hub and the browser of one test file: `start` in `before`, `stop` in `after`. */
export class DockerLabs {
  private hub: TestHub | undefined;
  private browser: Browser | undefined;
  private release: (() => void) | undefined;

  /** Wait for the Docker tests' lock, then start a hub (database `label`) and Chromium. */
  async start(
    label: string,
    overrides: TestOverrides,
  ): Promise<{ hub: TestHub; browser: Browser }> {
    mkdirSync(ARTIFACTS, { recursive: true });
    this.release = await lockDockerTests();
    this.hub = await startTestHub(label, overrides);
    this.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    return { hub: this.hub, browser: this.browser };
  }

  /**
   * Close the browser, print the hub's warnings (they explain a failure in the browser), stop
   * the hub, remove its containers and volumes, and release the lock; whatever `start` got to.
   */
  async stop(): Promise<void> {
    try {
      await this.browser?.close();
      const hub = this.hub;
      if (!hub) return;
      if (hub.logLines.length) console.error(`hub warnings:\n${hub.logLines.join('')}`);
      const names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
      await hub.stop();
      await removeDeployment(names);
    } finally {
      this.release?.();
    }
  }
}

/** A file browser entry of the listing shown, by its exact name. */
export const entry = (page: Page, name: string) =>
  page.locator('.jp-DirListing-item', {
    has: page.locator('.jp-DirListing-itemText', { hasText: new RegExp(`^${name}$`) }),
  });
