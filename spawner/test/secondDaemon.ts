/**
 * A second Docker daemon on this machine, reached over TCP on loopback: a "remote" Docker host
 * for tests of compute domains and of anything that must happen on the host a server runs on.
 */
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { promisify } from 'node:util';
import { docker, LAB_IMAGE } from './helpers.ts';

const run = promisify(execFile);

/** Where the second daemon listens. */
export const SECOND = 'tcp://127.0.0.1:23750';
/**
 * Default bridge of the second daemon. It must not be `none`: a daemon with its default
 * bridge disabled deletes `docker0`, which belongs to the first daemon on this machine.
 */
const SECOND_DEFAULT_BRIDGE = 'orrerytst2';

export async function answers(host: string): Promise<boolean> {
  return docker(['info', '--format', '{{.ServerVersion}}'], host).then(
    () => true,
    () => false,
  );
}

/** Start the second daemon (plain TCP on loopback, no iptables of its own). Returns its pid. */
export async function startSecondDaemon(): Promise<number> {
  const log = openSync('/var/log/dockerd2.log', 'a');
  const link = await run('ip', ['link', 'show', SECOND_DEFAULT_BRIDGE]).catch(() => null);
  if (!link) {
    await run('ip', ['link', 'add', 'name', SECOND_DEFAULT_BRIDGE, 'type', 'bridge']);
    await run('ip', ['addr', 'add', '10.231.0.1/24', 'dev', SECOND_DEFAULT_BRIDGE]);
    await run('ip', ['link', 'set', SECOND_DEFAULT_BRIDGE, 'up']);
  }
  const child = spawn(
    'dockerd',
    [
      '--data-root=/var/lib/docker2',
      '--exec-root=/var/run/docker2',
      '--pidfile=/var/run/docker2.pid',
      '-H',
      SECOND,
      '-H',
      'unix:///var/run/docker2.sock',
      `--bridge=${SECOND_DEFAULT_BRIDGE}`,
      '--iptables=false',
      '--ip-masq=false',
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  for (let i = 0; i < 100 && !(await answers(SECOND)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  if (!(await answers(SECOND)))
    throw new Error('second dockerd did not come up (/var/log/dockerd2.log)');
  return child.pid!;
}

/** Stop a second daemon this process started, and remove its default bridge. */
export async function stopSecondDaemon(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && (await answers(SECOND)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await run('ip', ['link', 'delete', SECOND_DEFAULT_BRIDGE]).catch(() => undefined);
}

/** Make `image` (default the lab image) present on the second daemon, as on the first. */
export async function copyImageToSecond(image = LAB_IMAGE): Promise<void> {
  const has = await docker(['image', 'inspect', '--format', '{{.Id}}', image], SECOND).catch(
    () => '',
  );
  const want = await docker(['image', 'inspect', '--format', '{{.Id}}', image]);
  if (has !== want) {
    await run('sh', ['-c', `docker save ${image} | docker -H ${SECOND} load -q`], {
      maxBuffer: 16 * 1024 * 1024,
    });
  }
}
