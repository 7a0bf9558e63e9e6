/**
 * Quotas enforced by the filesystem, so a write inside a container beyond a folder's limit
 * fails there and then (EDQUOT), whatever the container does. The hub limits each owner's
 * folder `<root>/<owner id>` (../limits.ts). Two mechanisms, found by looking at the root
 * volume's filesystem:
 *
 * - **btrfs qgroups** (btrfs with `btrfs quota enable` run once on it): each limited folder is
 *   a subvolume with a referenced-bytes limit (`btrfs qgroup limit`).
 * - **project quotas** (ext4 mounted with `prjquota`, XFS with `prjquota`/`pquota`): each
 *   limited folder gets a project id, its own inode number (unique on its filesystem, stable for the
 *   folder's life, so nothing to allocate or store), inherited by what is made inside
 *   (`chattr -p <id> +P`), with a hard block limit (`setquota -P`).
 *
 * Anything else (and a kernel without quota support) is `supported: false`: `setLimit` then
 * enforces nothing and says so, and the hub falls back to measuring usage (files-core's job).
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface QuotaUsage {
  /** Bytes the volume holds, as the filesystem counts them. */
  bytes: number;
  /** The hard limit in bytes, or null when none is set. */
  limit_bytes: number | null;
}

/** What files-core uses to limit volumes on one root volume's filesystem. */
export interface QuotaEnforcer {
  /** Whether the filesystem enforces limits at all. */
  readonly supported: boolean;
  readonly mechanism: 'btrfs-qgroup' | 'project-quota' | 'none';
  /**
   * Limit the folder `hostPath` to `bytes` (replacing any earlier limit; null: no limit). Resolves true
   * when the filesystem now enforces it, false when it cannot (measure instead). On btrfs a
   * folder that is not yet a subvolume must be empty (a new volume): it is made one in place,
   * keeping owner and mode.
   */
  setLimit(hostPath: string, bytes: number | null): Promise<boolean>;
  /** The volume's usage and limit as the filesystem accounts them; null when unsupported. */
  usage(hostPath: string): Promise<QuotaUsage | null>;
}

/** Nothing enforced: the hub measures. */
export const noQuotas: QuotaEnforcer = {
  supported: false,
  mechanism: 'none',
  setLimit: async () => false,
  usage: async () => null,
};

/** Type, options and mount point of the filesystem holding `folder`. */
async function filesystemOf(folder: string) {
  const { stdout } = await run('findmnt', [
    '-n',
    '-o',
    'FSTYPE,OPTIONS,TARGET',
    '--target',
    folder,
  ]);
  const [type = '', options = '', ...target] = stdout.trim().split(/\s+/);
  return { type, options: options.split(','), target: target.join(' ') };
}

const succeeds = (file: string, args: string[]) =>
  run(file, args).then(
    () => true,
    () => false,
  );

function checkBytes(bytes: number | null): void {
  if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes <= 0))
    throw new TypeError(`bad quota ${bytes}`);
}

/** The enforcer for the root volume at `rootPath` (an existing folder). */
export async function quotaEnforcerFor(rootPath: string): Promise<QuotaEnforcer> {
  const fs = await filesystemOf(rootPath);
  if (fs.type === 'btrfs' && (await succeeds('btrfs', ['qgroup', 'show', fs.target]))) {
    return new BtrfsQgroups();
  }
  const project = fs.options.some((option) => /^(prjquota|pquota)$/.test(option));
  if ((fs.type === 'ext4' || fs.type === 'xfs') && project) {
    if (await succeeds('sh', ['-c', 'command -v setquota && command -v chattr'])) {
      return new ProjectQuotas(fs.target);
    }
  }
  return noQuotas;
}

/** btrfs: a subvolume per volume, limited by its level-0 qgroup. */
class BtrfsQgroups implements QuotaEnforcer {
  readonly supported = true;
  readonly mechanism = 'btrfs-qgroup' as const;

  async setLimit(hostPath: string, bytes: number | null): Promise<boolean> {
    checkBytes(bytes);
    if (!(await succeeds('btrfs', ['subvolume', 'show', hostPath]))) {
      await this.makeSubvolume(hostPath);
    }
    await run('btrfs', ['qgroup', 'limit', bytes === null ? 'none' : String(bytes), hostPath]);
    return true;
  }

  async usage(hostPath: string): Promise<QuotaUsage | null> {
    await run('btrfs', ['filesystem', 'sync', hostPath]);
    const { stdout } = await run('btrfs', ['qgroup', 'show', '--raw', '-r', '-f', hostPath]);
    const line = stdout.split('\n').find((row) => /^0\/\d+\s/.test(row));
    if (!line) throw new Error(`${hostPath} has no qgroup`);
    const [, referenced = '0', , maxReferenced = 'none'] = line.trim().split(/\s+/);
    return {
      bytes: Number(referenced),
      limit_bytes: maxReferenced === 'none' ? null : Number(maxReferenced),
    };
  }

  /** An empty plain folder becomes a subvolume with the same owner and mode. */
  private async makeSubvolume(hostPath: string): Promise<void> {
    const before = await stat(hostPath);
    if (!before.isDirectory()) throw new Error(`${hostPath} is not a folder`);
    if ((await readdir(hostPath)).length > 0) {
      throw new Error(`${hostPath} already has files and is not a subvolume: no limit set`);
    }
    await rmdir(hostPath);
    try {
      await run('btrfs', ['subvolume', 'create', hostPath]);
    } catch (error) {
      await mkdir(hostPath).catch(() => undefined);
      throw error;
    } finally {
      await chown(hostPath, before.uid, before.gid).catch(() => undefined);
      await chmod(hostPath, before.mode & 0o7777).catch(() => undefined);
    }
  }
}

/** ext4/XFS project quotas: project id = the folder's inode number. */
class ProjectQuotas implements QuotaEnforcer {
  readonly supported = true;
  readonly mechanism = 'project-quota' as const;

  constructor(private readonly mountPoint: string) {}

  private async projectOf(hostPath: string): Promise<number> {
    const id = (await stat(hostPath)).ino;
    if (id <= 0 || id > 0xffff_fffe) throw new Error(`${hostPath}: inode ${id} is no project id`);
    return id;
  }

  async setLimit(hostPath: string, bytes: number | null): Promise<boolean> {
    checkBytes(bytes);
    const id = await this.projectOf(hostPath);
    await run('chattr', ['-R', '-p', String(id), '+P', hostPath]);
    const kib = bytes === null ? '0' : String(Math.ceil(bytes / 1024));
    await run('setquota', ['-P', String(id), '0', kib, '0', '0', this.mountPoint]);
    return true;
  }

  async usage(hostPath: string): Promise<QuotaUsage | null> {
    const id = await this.projectOf(hostPath);
    const { stdout } = await run('repquota', ['-P', '-n', '-O', 'csv', this.mountPoint]);
    const [header = '', ...rows] = stdout.trim().split('\n');
    const columns = header.split(',');
    const row = rows.map((line) => line.split(',')).find((cells) => cells[0] === `#${id}`);
    if (!row) return { bytes: 0, limit_bytes: null };
    const cell = (name: string) => Number(row[columns.indexOf(name)] ?? 0);
    const hard = cell('BlockHardLimit');
    return { bytes: cell('BlockUsed') * 1024, limit_bytes: hard > 0 ? hard * 1024 : null };
  }
}
