/**
 * How a local server is launched when the hub runs as root, as one pure function: a private
 * mount namespace in which the hub database's unix sockets are covered, then the server's own
 * unprivileged user and the shared server group, no capabilities, no way to gain privileges
 * (setuid programs do not elevate), and finally `jupyter`. Every step execs the next, so the
 * pid the hub records is Jupyter's.
 */

/** What to cover in the server's mount namespace: whole directories, or single socket files. */
export interface HiddenPaths {
  /** Covered by an empty tmpfs of mode 000 (nothing inside can even be looked up). */
  directories: string[];
  /** Covered by /dev/null (for a socket in a directory shared with others, such as /tmp). */
  files: string[];
}

export interface LaunchIdentity {
  uid: number;
  gid: number;
}

/**
 * Runs inside the new mount namespace as root: covers the `dir <path>` and `file <path>` pairs
 * before `--`, then execs
 * the command after it. Paths arrive as arguments, never parsed by the shell; `set -e` makes a
 * failed mount fail the launch instead of starting a server that can see the database.
 */
export const LAUNCH_SCRIPT = [
  'set -e',
  'while [ "$1" != -- ]; do',
  '  case "$1" in',
  '    dir) mount -t tmpfs -o mode=000,size=4k,nosuid,nodev,noexec orrery-hidden "$2" ;;',
  '    file) mount --bind /dev/null "$2" ;;',
  '    *) exit 64 ;;',
  '  esac',
  '  shift 2',
  'done',
  'shift',
  'exec "$@"',
].join('\n');

/** The program and arguments that run `command args` as `identity` with `hidden` covered. */
export function launchCommand(
  hidden: HiddenPaths,
  identity: LaunchIdentity,
  command: string,
  args: string[],
): { file: string; args: string[] } {
  for (const id of [identity.uid, identity.gid]) {
    if (!Number.isInteger(id) || id <= 0) throw new TypeError('a server never runs as root');
  }
  for (const target of [...hidden.directories, ...hidden.files]) {
    if (!target.startsWith('/')) throw new TypeError(`hidden path ${target} is not absolute`);
  }
  return {
    file: 'unshare',
    args: [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      LAUNCH_SCRIPT,
      'orrery-launch',
      ...hidden.directories.flatMap((dir) => ['dir', dir]),
      ...hidden.files.flatMap((file) => ['file', file]),
      '--',
      'setpriv',
      `--reuid=${identity.uid}`,
      `--regid=${identity.gid}`,
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
      command,
      ...args,
    ],
  };
}
