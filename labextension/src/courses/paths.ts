/**
 * Where course folders are in the lab's file browser. The browser is rooted at the workspace
 * (the user's Storage `persistent` volume, see jobs/paths.ts), and every volume I may read is
 * under `volumes/<root>/<owner>/<volume>`. The hub names folders as a volume and a path in it.
 */
import { browserPathOf, WORKSPACE_ROOT, WORKSPACE_VOLUME } from '../jobs/paths.js';
import type { IVolumeFolder } from '../tokens.js';
import { VOLUMES_FOLDER } from '../volumes/paths.js';

/** Path segments, or null for `..`, an absolute path or another drive (`drive:path`). */
function segments(path: string): string[] | null {
  if (/^[^/]*:/.test(path) || path.startsWith('/')) {
    return null;
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? null : parts;
}

/**
 * The volume folder of a file-browser path: `volumes/<root>/<owner>/<volume>/<path>`, or a
 * workspace path, which is in my Storage `persistent` volume. `workspaceFolder` is the
 * browser folder of the workspace ("" when the browser is rooted at it).
 */
export function volumeFolderOf(
  browserPath: string,
  me: string,
  workspaceFolder = '',
): IVolumeFolder | null {
  const parts = segments(browserPath);
  const folder = segments(workspaceFolder);
  if (parts === null || folder === null || !folder.every((s, i) => parts[i] === s)) {
    return null;
  }
  const rest = parts.slice(folder.length);
  if (rest[0] === VOLUMES_FOLDER) {
    if (rest.length < 4) {
      return null;
    }
    const [, root, owner, volume, ...path] = rest as [string, string, string, string];
    return { root, owner, volume, path: path.join('/') };
  }
  return { root: WORKSPACE_ROOT, owner: me, volume: WORKSPACE_VOLUME, path: rest.join('/') };
}

/**
 * The file-browser path of a path the hub gives (a workspace path, or `volumes/…`, the view
 * inside the workspace's folder).
 */
export function browserPathOfHubPath(hubPath: string, workspaceFolder = ''): string {
  return browserPathOf(hubPath, { user: '', workspaceFolder });
}

/** `Storage/alice/persistent/week1`: how a folder is named in messages. */
export function folderLabel(f: IVolumeFolder): string {
  return [f.root, f.owner, f.volume, f.path].filter(Boolean).join('/');
}
