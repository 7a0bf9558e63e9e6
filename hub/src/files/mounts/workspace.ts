/**
 * The workspace becomes the user's default Storage volume: at a user's next start, the files of
 * their old workspace (a named Docker volume, `<prefix><identity>-<safe name>-work`, or the
 * local backend's folder) are copied into their new Storage folder when that folder is still
 * empty. Ownership, modes, times and symbolic links are kept (`cp -a`). The old workspace is
 * never removed here: an operator removes it once satisfied (docs/files.md).
 *
 * Crash-safe: the copy goes to a staging folder inside the target, renamed when complete; the
 * entries are then moved up one by one. A run that finds a complete copy finishes moving it; one
 * that finds an incomplete copy throws it away and copies again.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { DockerClient } from '@orrery/spawner';

const run = promisify(execFile);

/** Exit status of the script when the target already has files of its own. */
const TARGET_NOT_EMPTY = 3;

/**
 * `sh -c MIGRATE_SCRIPT orrery-migrate <from> <to> [uid:gid]`: copy `from`'s contents into the
 * empty `to`; with `uid:gid`, the copy is then owned by them (a local workspace, whose files
 * belong to its server's system user, moving to a volume of the container user).
 */
export const MIGRATE_SCRIPT = `
set -eu
from=$1 to=$2 owner=\${3:-}
copying="$to/.orrery-migration"
copied="$to/.orrery-migration-copied"
finish() {
  find "$copied" -mindepth 1 -maxdepth 1 -exec mv -n -t "$to" -- {} +
  rmdir "$copied"
}
if [ -d "$copied" ]; then finish; echo finished; exit 0; fi
rm -rf "$copying"
if [ -n "$(ls -A "$to")" ]; then exit ${TARGET_NOT_EMPTY}; fi
mkdir "$copying"
cp -a "$from/." "$copying/"
if [ -n "$owner" ]; then chown -R -h "$owner" "$copying"; fi
mv "$copying" "$copied"
finish
echo copied
`;

export type MigrationOutcome =
  /** The old workspace's files are now in the Storage folder. */
  | 'copied'
  /** There is no old workspace: nothing to do. */
  | 'no_old_workspace'
  /** The Storage folder already had files (migrated before, or used already): left alone. */
  | 'target_not_empty';

function outcomeOf(code: number | undefined, stdout: string): MigrationOutcome {
  if (code === TARGET_NOT_EMPTY) return 'target_not_empty';
  if (/copied|finished/.test(stdout)) return 'copied';
  throw new Error(`workspace migration ended with ${code}: ${stdout.trim()}`);
}

/**
 * Copy the named Docker volume `oldVolume` on `docker`'s host into `target` (a folder on that
 * host, e.g. the user's Storage folder on the shared filesystem), through a short-lived helper
 * container of `image` running as root with only the capabilities a faithful copy needs and no
 * network. The old volume is mounted read-only and kept.
 */
export async function migrateDockerWorkspace(options: {
  docker: DockerClient;
  oldVolume: string;
  target: string;
  image: string;
  /** Labels of the helper container (the deployment's), for sweeping. */
  labels?: Record<string, string>;
}): Promise<MigrationOutcome> {
  const { docker, oldVolume, target } = options;
  try {
    await docker.getVolume(oldVolume).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 'no_old_workspace';
    throw error;
  }
  const container = await docker.createContainer({
    Image: options.image,
    Entrypoint: ['sh', '-c', MIGRATE_SCRIPT, 'orrery-migrate'],
    Cmd: ['/from', '/to'],
    User: '0:0',
    Labels: options.labels ?? {},
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'FOWNER', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FSETID'],
      SecurityOpt: ['no-new-privileges'],
      Mounts: [
        { Type: 'volume', Source: oldVolume, Target: '/from', ReadOnly: true },
        { Type: 'bind', Source: target, Target: '/to', ReadOnly: false },
      ],
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    return outcomeOf(StatusCode, logs);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * Copy a local workspace folder (the local backend's `<root>/<safe name>/work`) into `target`
 * on this machine, owned by `owner` (`uid:gid`, the container user) afterwards. Kept as it was.
 */
export async function migrateLocalWorkspace(
  oldFolder: string,
  target: string,
  owner = '1000:100',
): Promise<MigrationOutcome> {
  const exists = await stat(oldFolder).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!exists) return 'no_old_workspace';
  try {
    const { stdout } = await run('sh', [
      '-c',
      MIGRATE_SCRIPT,
      'orrery-migrate',
      oldFolder,
      target,
      owner,
    ]);
    return outcomeOf(0, stdout);
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    if (failed.code === TARGET_NOT_EMPTY) return 'target_not_empty';
    throw new Error(`workspace migration failed: ${failed.stderr?.trim() ?? String(error)}`);
  }
}
