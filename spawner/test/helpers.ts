/** Shared helpers of the integration tests: Docker probing, HTTP waiting, sweeping. */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every Docker object a test creates starts with this. */
export const TEST_PREFIX = 'orrery-test-';
export const LAB_IMAGE = process.env['ORRERY_TEST_IMAGE'] ?? 'orrery/lab:latest';
export const SECRET = 'orrery-test-secret-0123456789abcdef';

export async function docker(args: string[], host?: string): Promise<string> {
  const { stdout } = await run('docker', [...(host ? ['-H', host] : []), ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

/**
 * Whether Docker and the lab image are usable. With CI=true a missing Docker is a failure
 * (throws); otherwise the test is skipped with the reason, and false is returned.
 */
export async function requireDocker(t: TestContext): Promise<boolean> {
  let reason: string | null = null;
  try {
    await docker(['info', '--format', '{{.ServerVersion}}']);
    await docker(['image', 'inspect', '--format', '{{.Id}}', LAB_IMAGE]);
  } catch (error) {
    reason = `Docker or ${LAB_IMAGE} unavailable (run scripts/provision-docker.sh): ${
      (error as Error).message.split('\n')[0]
    }`;
  }
  if (reason === null) return true;
  if (process.env['CI'] === 'true') throw new Error(reason);
  t.skip(reason);
  return false;
}

/** GET `url` with an optional Jupyter token; resolves to the status (0 = no connection). */
export function httpStatus(url: string, token?: string, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(
      url,
      {
        agent: false,
        timeout: timeoutMs,
        headers: token ? { Authorization: `token ${token}` } : {},
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

/** Wait until `url` answers 200 with `token`; returns milliseconds waited. */
export async function waitForHttp(url: string, token: string, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await httpStatus(url, token)) === 200) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`${url} did not answer in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Names of containers, services, volumes and networks starting with TEST_PREFIX. */
export async function leftovers(host?: string): Promise<string[]> {
  const list = async (args: string[]) =>
    (await docker(args, host).catch(() => ''))
      .split('\n')
      .filter((name) => name.startsWith(TEST_PREFIX));
  return [
    ...(await list(['ps', '-a', '--format', '{{.Names}}'])),
    ...(await list(['service', 'ls', '--format', '{{.Name}}'])),
    ...(await list(['volume', 'ls', '--format', '{{.Name}}'])),
    ...(await list(['network', 'ls', '--format', '{{.Name}}'])),
  ];
}

/** Remove every test object on `host`, then return what could not be removed. */
export async function sweep(host?: string): Promise<string[]> {
  const names = async (args: string[]) =>
    (await docker(args, host).catch(() => ''))
      .split('\n')
      .filter((name) => name.startsWith(TEST_PREFIX));
  for (const name of await names(['service', 'ls', '--format', '{{.Name}}'])) {
    await docker(['service', 'rm', name], host).catch(() => undefined);
  }
  // Swarm removes a service's containers asynchronously.
  for (let i = 0; i < 50; i++) {
    const remaining = await docker(
      ['ps', '-a', '-q', '--filter', 'label=com.docker.swarm.service.name'],
      host,
    ).catch(() => '');
    if (remaining === '') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const name of await names(['ps', '-a', '--format', '{{.Names}}'])) {
    await docker(['rm', '-f', '-v', name], host).catch(() => undefined);
  }
  for (const name of await names(['volume', 'ls', '--format', '{{.Name}}'])) {
    await docker(['volume', 'rm', '-f', name], host).catch(() => undefined);
  }
  for (const name of await names(['network', 'ls', '--format', '{{.Name}}'])) {
    await docker(['network', 'rm', name], host).catch(() => undefined);
  }
  return leftovers(host);
}

const LOCK_DIR = '/tmp/orrery-spawner-docker-tests.lock';

/**
 * Serialise the Docker integration files across processes (two test runs at once would sweep
 * each other's `orrery-test-*` objects and share one swarm). Returns the release function.
 */
export async function lockDockerTests(timeoutMs = 20 * 60_000): Promise<() => void> {
  const { mkdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(`${LOCK_DIR}/pid`, String(process.pid));
      return () => rmSync(LOCK_DIR, { recursive: true, force: true });
    } catch {
      const holder = Number(readFileSync(`${LOCK_DIR}/pid`, { encoding: 'utf8', flag: 'a+' }));
      let alive = false;
      try {
        if (holder > 0) {
          process.kill(holder, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      // A lock without a live holder (crashed run, or pid not written yet for a while) is stale.
      if (!alive && Date.now() - started > 2000) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() - started > timeoutMs) throw new Error(`${LOCK_DIR} held by pid ${holder}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
