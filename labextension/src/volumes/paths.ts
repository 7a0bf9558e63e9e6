/**
 * Where volumes appear in the lab's file browser: `volumes/<root>/<owner>/<volume>` under the
 * server's root folder (/home/jovyan), the mounts files-wire makes (docs/files.md).
 */
import type { IVolumeRef } from '../tokens.js';

export const VOLUMES_FOLDER = 'volumes';

/** The volume a file-browser path is in (the volume's folder itself or anything below). */
export function volumeOfPath(path: string): IVolumeRef | null {
  // The default drive has no prefix; other drives write `drive:path`.
  if (/^[^/]*:/.test(path)) {
    return null;
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length < 4 || parts[0] !== VOLUMES_FOLDER || parts.includes('..')) {
    return null;
  }
  const [, root, owner, volume] = parts as [string, string, string, string];
  return { root, owner, volume };
}

/** The file-browser path of a volume's folder. */
export function mountPathOf(ref: IVolumeRef): string {
  return [VOLUMES_FOLDER, ref.root, ref.owner, ref.volume].join('/');
}

/** `Storage/alice/persistent`: how a volume is named in dialogs. */
export function volumeLabel(ref: IVolumeRef): string {
  return `${ref.root}/${ref.owner}/${ref.volume}`;
}

export const sameVolume = (a: IVolumeRef | null, b: IVolumeRef | null): boolean =>
  !!a && !!b && a.root === b.root && a.owner === b.owner && a.volume === b.volume;
