/**
 * Where things are on disk. A user volume is <root>/<owner id>/<volume id>/; the hub's own
 * areas of a root (upload staging, quarantine) are under <root>/.orrery/, which is no
 * volume's folder and never mounted into a container, so half-written uploads and removed
 * volumes are reachable by nobody.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RootVolumeConfig } from './config.ts';

/** The compute image's user (jovyan) and group (users): volume files belong to them. */
export const CONTAINER_UID = 1000;
export const CONTAINER_GID = 100;
export const FOLDER_MODE = 0o770;
export const FILE_MODE = 0o660;

const runningAsRoot = process.getuid?.() === 0;

/** Make a new file or folder the container user's (only the root hub can; otherwise its own). */
export async function giveToContainerUser(target: string): Promise<void> {
  if (runningAsRoot) await fsp.lchown(target, CONTAINER_UID, CONTAINER_GID);
}

export const hubArea = (root: RootVolumeConfig) => path.join(root.path, '.orrery');
export const uploadsArea = (root: RootVolumeConfig) => path.join(hubArea(root), 'uploads');
export const quarantineArea = (root: RootVolumeConfig) => path.join(hubArea(root), 'quarantine');

export const ownerFolder = (root: RootVolumeConfig, ownerId: number) =>
  path.join(root.path, String(ownerId));
export const volumeFolder = (root: RootVolumeConfig, ownerId: number, volumeId: string) =>
  path.join(ownerFolder(root, ownerId), volumeId);

/** Create the root's folders (idempotent); the hub areas are the hub's alone (0700). */
export async function prepareRoot(root: RootVolumeConfig): Promise<void> {
  await fsp.mkdir(root.path, { recursive: true, mode: 0o755 });
  for (const area of [hubArea(root), uploadsArea(root), quarantineArea(root)])
    await fsp.mkdir(area, { recursive: true, mode: 0o700 });
}

/** Create a volume's folder (and its owner's), owned by the container user. */
export async function makeVolumeFolder(root: RootVolumeConfig, ownerId: number, volumeId: string) {
  const owner = ownerFolder(root, ownerId);
  await fsp.mkdir(owner, { recursive: true, mode: FOLDER_MODE });
  await giveToContainerUser(owner);
  const folder = volumeFolder(root, ownerId, volumeId);
  await fsp.mkdir(folder, { recursive: true, mode: FOLDER_MODE });
  await giveToContainerUser(folder);
  return folder;
}

/**
 * Move a folder into the root's quarantine (a rename: instant, and out of every volume at
 * once); the sweeper deletes it after the quarantine days. Missing is fine (a retry).
 */
export async function quarantine(root: RootVolumeConfig, folder: string, label: string, now: Date) {
  const target = path.join(quarantineArea(root), `${now.getTime()}-${label}-${randomUUID()}`);
  try {
    await fsp.rename(folder, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Delete quarantined folders older than `days`; returns how many went. */
export async function sweepQuarantine(root: RootVolumeConfig, days: number, now: Date) {
  const area = quarantineArea(root);
  const entries = await fsp.readdir(area).catch(() => [] as string[]);
  let removed = 0;
  for (const entry of entries) {
    const stamp = Number(entry.split('-', 1)[0]);
    if (Number.isFinite(stamp) && now.getTime() - stamp >= days * 86_400_000) {
      // Out of every container's reach already: a plain recursive removal is safe here.
      await fsp.rm(path.join(area, entry), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
