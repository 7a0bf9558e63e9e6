/**
 * Where a job's files are in the lab's file browser. A server's file browser is rooted at the
 * user's workspace (`--ServerApp.root_dir="$ORRERY_WORKSPACE"`, spawner/src/containerSpec.ts),
 * which is the user's Storage `persistent` volume (hub/src/files/serverVolumes.ts), so a
 * browser path is a workspace path. The workspace is also reachable through the volume view,
 * `volumes/Storage/<me>/persistent/…`, which maps back. Other volumes are not mounted in job
 * containers, so notebooks there cannot run as jobs. A deployment that roots the browser above
 * the workspace names the workspace's folder in the `workspaceFolder` setting (e.g. `work`).
 */
import { VOLUMES_FOLDER } from '../volumes/paths.js';

/** The root and volume that hold the workspace (hub/src/files/volumes.ts, DEFAULT_VOLUMES). */
export const WORKSPACE_ROOT = 'Storage';
export const WORKSPACE_VOLUME = 'persistent';

export interface IWorkspaceMapping {
  /** The user, whose `volumes/Storage/<user>/persistent` is the workspace too. */
  user: string;
  /** The browser folder that is the workspace; "" when the browser is rooted at it. */
  workspaceFolder: string;
}

/** Path segments, or null for `..`, an absolute path or another drive (`drive:path`). */
function segments(path: string): string[] | null {
  if (/^[^/]*:/.test(path) || path.startsWith('/')) {
    return null;
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? null : parts;
}

/** The workspace path of a file-browser path, or null when the file is outside the workspace. */
export function workspacePathOf(browserPath: string, mapping: IWorkspaceMapping): string | null {
  let parts = segments(browserPath);
  const folder = segments(mapping.workspaceFolder);
  if (parts === null || folder === null) {
    return null;
  }
  const view = [VOLUMES_FOLDER, WORKSPACE_ROOT, mapping.user, WORKSPACE_VOLUME];
  const inView = (p: string[]) => view.every((segment, i) => p[i] === segment);
  if (inView(parts)) {
    return parts.slice(view.length).join('/');
  }
  if (!folder.every((segment, i) => parts![i] === segment)) {
    return null;
  }
  parts = parts.slice(folder.length);
  // The view of other volumes is inside the workspace's folder but not in job containers.
  if (parts[0] === VOLUMES_FOLDER) {
    return null;
  }
  return parts.join('/');
}

/** The file-browser path of a workspace path. */
export function browserPathOf(workspacePath: string, mapping: IWorkspaceMapping): string {
  return [...(segments(mapping.workspaceFolder) ?? []), ...(segments(workspacePath) ?? [])].join(
    '/',
  );
}

/** The folder of a path ("" at the top). */
export function folderOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The last segment of a path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
