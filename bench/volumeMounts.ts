/**
 * Volumes in running containers: how long from `applyView` until a newly shared volume is
 * visible inside a running, unprivileged container (and an unshared one gone), against a floor
 * measured the same way in the same run: a plain folder made by the host inside a volume that
 * is already mounted (same watcher, same `docker exec`, no mount). Also the cost of re-applying
 * an unchanged view of 50 volumes (what reconciling a user costs at hub start) against a floor
 * of `sh -c true`. Needs root and Docker. Run: npx tsx bench/volumeMounts.ts
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { LocalMountHost } from '../hub/src/files/mounts/hosts.ts';
import { type MountableVolume, VolumeMounter } from '../hub/src/files/mounts/mounter.ts';
import {
  machine,
  msSince,
  ratio,
  summarise,
  timeSequential,
  writeResult,
} from './support/stats.ts';

const run = promisify(execFile);
const IMAGE = 'orrery/debian-base:bookworm';
const ROUNDS = 20;
const LARGE_VIEW = 50;
const TARGET_MS = 2000;
const top = mkdtempSync('/tmp/orrery-bench-vm-');
const storage = path.join(top, 'storage');
const views = path.join(top, 'views');
const container = `orrery-bench-vm-${process.pid}`;

function volume(id: number): MountableVolume {
  const folder = path.join(storage, '8', String(id));
  mkdirSync(folder, { recursive: true });
  chownSync(folder, 1000, 100);
  return {
    root: 'Storage',
    owner: 'bob',
    volume: `v${id}`,
    host_path: folder,
    read_only: id % 2 === 0,
  };
}

/**
 * Milliseconds from calling `change` until `target` exists (or, with `gone`, no longer does)
 * inside the container: a watcher waits in the container, started before the change.
 */
async function timeInContainer(target: string, change: () => Promise<unknown>, gone = false) {
  const test = gone ? `[ -e "$0" ]` : `[ ! -e "$0" ]`;
  const watcher = spawn('docker', [
    'exec',
    container,
    'sh',
    '-c',
    `echo ready; while ${test}; do sleep 0.002; done`,
    target,
  ]);
  await new Promise<void>((resolve) => watcher.stdout.once('data', () => resolve()));
  const ended = new Promise<void>((resolve) => watcher.once('exit', () => resolve()));
  const start = process.hrtime.bigint();
  await change();
  await ended;
  return msSince(start);
}

async function main() {
  const mounter = new VolumeMounter({
    viewsRoot: views,
    stageRoot: path.join(top, 'stage'),
    sourceRoots: [storage],
    hosts: [new LocalMountHost()],
  });
  const base = volume(1);
  base.read_only = false;
  await mounter.applyView(7, [base]);
  await run('docker', [
    'run',
    '-d',
    '--name',
    container,
    '--user',
    '1000:100',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--network',
    'none',
    '--mount',
    `type=bind,src=${path.join(views, '7')},dst=/home/jovyan/volumes,bind-propagation=rslave`,
    IMAGE,
    'sleep',
    'infinity',
  ]);
  try {
    const inView = (v: MountableVolume) => `/home/jovyan/volumes/Storage/bob/${v.volume}`;
    const floor: number[] = [];
    const share: number[] = [];
    const unshare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const folder = path.join(base.host_path, `f${round}`);
      floor.push(await timeInContainer(`${inView(base)}/f${round}`, async () => mkdirSync(folder)));
      const shared = volume(100 + round);
      share.push(await timeInContainer(inView(shared), () => mounter.applyView(7, [base, shared])));
      unshare.push(await timeInContainer(inView(shared), () => mounter.applyView(7, [base]), true));
    }
    const large = Array.from({ length: LARGE_VIEW }, (_, i) => volume(1000 + i));
    await mounter.applyView(7, large);
    const reapply = await timeSequential(10, () => mounter.applyView(7, large));
    const shell = await timeSequential(10, () => run('sh', ['-c', 'true']));

    const floorSummary = summarise(floor);
    const shareSummary = summarise(share);
    const unshareSummary = summarise(unshare);
    const result = {
      machine: await machine(),
      rounds: ROUNDS,
      floor: { what: 'host mkdir in a mounted volume, seen in the container', ...floorSummary },
      share: {
        ...shareSummary,
        ratioP50: ratio(shareSummary.p50, floorSummary.p50),
        targetMs: TARGET_MS,
        meetsTarget: shareSummary.max < TARGET_MS,
      },
      unshare: { ...unshareSummary, ratioP50: ratio(unshareSummary.p50, floorSummary.p50) },
      reapplyUnchanged: {
        volumes: LARGE_VIEW,
        ...summarise(reapply),
        floor: summarise(shell),
        ratioP50: ratio(summarise(reapply).p50, summarise(shell).p50),
      },
    };
    console.log(`results: ${writeResult('volumeMounts', result)}`);
    console.log(
      `share→visible p50 ${shareSummary.p50} ms, max ${shareSummary.max} ms (floor p50 ${floorSummary.p50} ms, ${result.share.ratioP50}x; < ${TARGET_MS} ms ${result.share.meetsTarget ? 'met' : 'MISSED'})`,
    );
    console.log(
      `unshare→gone p50 ${unshareSummary.p50} ms; re-apply ${LARGE_VIEW} unchanged volumes p50 ${result.reapplyUnchanged.p50} ms (${result.reapplyUnchanged.ratioP50}x sh -c true)`,
    );
  } finally {
    await run('docker', ['rm', '-f', container]).catch(() => undefined);
    await run('umount', ['-R', views]).catch(() => undefined);
    await run('umount', ['-R', path.join(top, 'stage')]).catch(() => undefined);
    rmSync(top, { recursive: true, force: true });
  }
}

await main();
