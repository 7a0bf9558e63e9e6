/**
 * VolumeMounter: applies a user's volumes to their view folder on every mount host, live.
 *
 * Each of the user's containers binds `<viewsRoot>/<user id>` at `/home/jovyan/volumes` with
 * `rslave` propagation; the hub (root) bind-mounts each volume into that folder, read-only where
 * the view says so, and unmounts what is no longer there. Containers are never restarted and
 * never privileged: the mounts are made from outside them.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { MountHost } from './hosts.ts';
import { isViewComponent, VIEW_SCRIPT, type ViewEntry, viewScriptArgs } from './viewScript.ts';

/**
 * One volume a user may see, as files-core's `VolumeView` (hub/src/files/view.ts) describes it;
 * restated here by shape so the two halves build apart.
 */
export interface MountableVolume {
  root: string;
  owner: string;
  volume: string;
  host_path: string;
  read_only: boolean;
}

export interface VolumeMounterConfig {
  /** The folder of every user's view, e.g. `<state>/views`; the same path on every host. */
  viewsRoot: string;
  /** A folder beside it for staging read-only binds, e.g. `<state>/views-stage`. */
  stageRoot: string;
  /**
   * The folders volumes may come from (root volumes, data volumes): a volume outside them is
   * never mounted. A function when the list changes (data volumes registered later).
   */
  sourceRoots: string[] | (() => string[]);
  /** Where views are applied: this machine and/or remote Docker hosts. */
  hosts: MountHost[];
}

/** What `applyView` could not do: volumes refused up front, hosts that failed. */
export class ViewNotApplied extends Error {
  constructor(
    readonly refused: string[],
    readonly hostErrors: Record<string, string>,
  ) {
    const lines = [...refused, ...Object.entries(hostErrors).map(([h, e]) => `${h}: ${e}`)];
    super(`the volume view was not fully applied: ${lines.join('; ')}`);
  }
}

/** Is `folder` strictly inside one of `roots`? */
function isInside(folder: string, roots: string[]): boolean {
  return roots.some((root) => folder.startsWith(`${path.posix.normalize(root)}/`));
}

export class VolumeMounter {
  /** The last apply per user, so applies for one user run one after another, in order. */
  private readonly queues = new Map<number, Promise<unknown>>();

  constructor(private readonly config: VolumeMounterConfig) {
    for (const folder of [config.viewsRoot, config.stageRoot]) {
      if (!path.posix.isAbsolute(folder) || path.posix.normalize(folder) !== folder) {
        throw new TypeError(`${folder} must be a normalised absolute path`);
      }
    }
  }

  private sourceRoots(): string[] {
    const roots = this.config.sourceRoots;
    return typeof roots === 'function' ? roots() : roots;
  }

  /** Names of the mount hosts. */
  get hostNames(): string[] {
    return this.config.hosts.map((host) => host.name);
  }

  /** The user's view folder (the host path each of their containers binds). */
  viewPath(userId: number): string {
    if (!Number.isSafeInteger(userId) || userId <= 0) throw new TypeError(`bad user id ${userId}`);
    return path.posix.join(this.config.viewsRoot, String(userId));
  }

  /** The script's entries for `views`; what cannot be mounted safely goes to `refused`. */
  entriesOf(views: MountableVolume[]): { entries: ViewEntry[]; refused: string[] } {
    const entries: ViewEntry[] = [];
    const refused: string[] = [];
    const seen = new Set<string>();
    for (const view of views) {
      const names = [view.root, view.owner, view.volume];
      const relative = names.join('/');
      const source = view.host_path;
      if (!names.every(isViewComponent)) {
        refused.push(`${JSON.stringify(relative)}: not a valid path`);
      } else if (
        !path.posix.isAbsolute(source) ||
        path.posix.normalize(source) !== source ||
        !isInside(source, this.sourceRoots())
      ) {
        refused.push(`${relative}: ${source} is not under a root volume`);
      } else if (seen.has(relative)) {
        refused.push(`${relative}: listed twice`);
      } else {
        seen.add(relative);
        entries.push({ relative, source, readOnly: view.read_only });
      }
    }
    return { entries, refused };
  }

  /**
   * Make the user's view on every host (or the named ones) exactly `views`: mount what is new,
   * remount what changed (read-only ↔ read-write, another folder), unmount (lazily if busy)
   * what went and remove its empty folders. Idempotent; one user's applies run in order.
   * Rejects with ViewNotApplied naming what could not be done; the rest is applied.
   */
  applyView(userId: number, views: MountableVolume[], hostNames?: string[]): Promise<void> {
    const view = this.viewPath(userId);
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.apply(view, views, hostNames, false));
    this.queues.set(userId, next);
    void next
      .finally(() => {
        if (this.queues.get(userId) === next) this.queues.delete(userId);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * For a deleted account: unmount everything in the user's view and remove the folder itself.
   * Only once none of their containers runs: a running container keeps the folder it bound, and
   * mounts into a folder made again under the same name would not reach it.
   */
  forget(userId: number, hostNames?: string[]): Promise<void> {
    return this.apply(this.viewPath(userId), [], hostNames, true);
  }

  /**
   * At hub start: apply the view of every user in `userIds` and of every user with a view folder
   * on this machine (whose view may have to be emptied), with `viewOf` giving each one's views.
   * Returns the users whose view failed, with why; one failure does not stop the others.
   */
  async reconcile(
    userIds: number[],
    viewOf: (userId: number) => Promise<MountableVolume[]>,
  ): Promise<Map<number, Error>> {
    const ids = new Set(userIds);
    for (const id of await this.localViewOwners()) ids.add(id);
    const failed = new Map<number, Error>();
    for (const id of [...ids].sort((a, b) => a - b)) {
      try {
        await this.applyView(id, await viewOf(id));
      } catch (error) {
        failed.set(id, error as Error);
      }
    }
    return failed;
  }

  /** User ids that have a view folder on this machine. */
  private async localViewOwners(): Promise<number[]> {
    try {
      const names = await readdir(this.config.viewsRoot);
      return names.filter((name) => /^[1-9][0-9]*$/.test(name)).map(Number);
    } catch {
      return [];
    }
  }

  private async apply(
    view: string,
    views: MountableVolume[],
    hostNames: string[] | undefined,
    removeView: boolean,
  ) {
    const { entries, refused } = this.entriesOf(views);
    const args = viewScriptArgs({
      viewsRoot: this.config.viewsRoot,
      stageRoot: this.config.stageRoot,
      view,
      entries,
      removeView,
    });
    const hosts = this.config.hosts.filter(
      (host) => hostNames === undefined || hostNames.includes(host.name),
    );
    const hostErrors: Record<string, string> = {};
    await Promise.all(
      hosts.map(async (host) => {
        try {
          await host.runScript(VIEW_SCRIPT, args);
        } catch (error) {
          hostErrors[host.name] = (error as Error).message;
        }
      }),
    );
    if (refused.length > 0 || Object.keys(hostErrors).length > 0) {
      throw new ViewNotApplied(refused, hostErrors);
    }
  }
}
