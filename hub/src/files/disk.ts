/**
 * Where things are on disk. A user volume is <root>/<owner id>/<volume id>/. The hub's own
 * areas are no volume's folder and never mounted into a container, so half-written uploads and
 * removed volumes are reachable by nobody: <root>/.orrery/ (removed accounts' folders) and, per
 * owner, <root>/<owner id>/.orrery/ (upload staging, the delete holding area, removed volumes).
 * The owner's area sits beside their volumes so every rename into or out of a volume stays on
 * one filesystem and, where the owner's folder is a btrfs subvolume with its quota (limits.ts),
 * inside that subvolume (a rename across a subvolume boundary fails with EXDEV).
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
export const quarantineArea = (root: RootVolumeConfig) => path.join(hubArea(root), 'quarantine');

export const ownerFolder = (root: RootVolumeConfig, ownerId: number) =>
  path.join(root.path, String(ownerId));
/** The hub's area in an owner's folder (its name is no volume id: those are UUIDs). */
export const OWNER_AREA = '.orrery';
const ownerArea = (root: RootVolumeConfig, ownerId: number) =>
  path.join(ownerFolder(root, ownerId), OWNER_AREA);
/** Where writes to the owner's volumes are staged, and deleted folders held while removed. */
export const uploadsArea = (root: RootVolumeConfig, ownerId: number) =>
  path.join(ownerArea(root, ownerId), 'uploads');
/** The owner's staging area, made if missing (an owner folder older than it). */
export async function stagingArea(root: RootVolumeConfig, ownerId: number): Promise<string> {
  const area = uploadsArea(root, ownerId);
  await fsp.mkdir(area, { recursive: true, mode: 0o700 });
  return area;
}
/** Where the owner's deleted volumes wait for the sweeper. */
export const ownerQuarantineArea = (root: RootVolumeConfig, ownerId: number) =>
  path.join(ownerArea(root, ownerId), 'quarantine');
export const volumeFolder = (root: RootVolumeConfig, ownerId: number, volumeId: string) =>
  path.join(ownerFolder(root, ownerId), volumeId);

/** Create the root's folders (idempotent); the hub areas are the hub's alone (0700). */
export async function prepareRoot(root: RootVolumeConfig): Promise<void> {
  await fsp.mkdir(root.path, { recursive: true, mode: 0o755 });
  for (const area of [hubArea(root), quarantineArea(root)])
    await fsp.mkdir(area, { recursive: true, mode: 0o700 });
}

/**
 * Make the owner's folder if missing (owned by the container user), calling `made` on a new one
 * before anything is put in it (limits.ts makes it a limited subvolume there), then the hub's
 * area in it (the hub's alone, 0700; also made in an owner folder older than it).
 */
export async function makeOwnerFolder(
  root: RootVolumeConfig,
  ownerId: number,
  made: (folder: string) => Promise<void> = async () => undefined,
): Promise<string> {
  const owner = ownerFolder(root, ownerId);
  const created = await fsp.mkdir(owner, { mode: FOLDER_MODE }).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      return false;
    },
  );
  if (created) {
    try {
      await giveToContainerUser(owner);
      await made(owner);
    } catch (err) {
      await fsp.rmdir(owner).catch(() => undefined);
      throw err;
    }
  }
  for (const area of [uploadsArea(root, ownerId), ownerQuarantineArea(root, ownerId)])
    await fsp.mkdir(area, { recursive: true, mode: 0o700 });
  return owner;
}

/** Create a volume's folder (its owner's made first), owned by the container user. */
export async function makeVolumeFolder(root: RootVolumeConfig, ownerId: number, volumeId: string) {
  await makeOwnerFolder(root, ownerId);
  const folder = volumeFolder(root, ownerId, volumeId);
  await fsp.mkdir(folder, { recursive: true, mode: FOLDER_MODE });
  await giveToContainerUser(folder);
  return folder;
}

/**
 * Move a folder into a quarantine area (a rename: instant, and out of every volume at once);
 * the sweeper deletes it after the quarantine days. Missing is fine (a retry). A volume goes to
 * its owner's area (same subvolume), an owner's whole folder to the root's.
 */
export async function quarantine(area: string, folder: string, label: string, now: Date) {
  const target = path.join(area, `${now.getTime()}-${label}-${randomUUID()}`);
  try {
    await fsp.mkdir(area, { recursive: true, mode: 0o700 });
    await fsp.rename(folder, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Delete quarantined folders older than `days`, the root's and each owner's; how many went. */
export async function sweepQuarantine(root: RootVolumeConfig, days: number, now: Date) {
  let removed = await sweepArea(quarantineArea(root), days, now);
  const owners = await fsp.readdir(root.path).catch(() => [] as string[]);
  for (const owner of owners.filter((name) => /^\d+$/.test(name)))
    removed += await sweepArea(ownerQuarantineArea(root, Number(owner)), days, now);
  return removed;
}

async function sweepArea(area: string, days: number, now: Date) {
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
