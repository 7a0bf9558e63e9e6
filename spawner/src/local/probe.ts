/**
 * Check once, at backend start, what every server will need as an unprivileged user in the
 * server group (run as `nobody` through the real launcher): the jupyter command runs, the
 * workspace root and the shared configuration are reachable, and the hub database's sockets
 * are not. A repository cloned under a private folder (a 0700 home) fails here with a message
 * that says what to change, instead of every spawn timing out.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type HiddenPaths, launchCommand } from './launcher.ts';

const run = promisify(execFile);

/** uid of `nobody`: owns nothing, so what it reaches every server user reaches. */
const PROBE_UID = 65534;

/** Exits 3 (a path unreachable), 4 (a database socket reachable), 5 (jupyter does not run). */
const PROBE_SCRIPT = [
  'cmd=$1; shift',
  'while [ $# -gt 0 ]; do',
  '  p=$2',
  '  case "$1" in',
  '    traverse) [ -x "$p" ] || { echo "cannot traverse $p" >&2; exit 3; } ;;',
  '    read) [ -r "$p" ] && [ -x "$p" ] || { echo "cannot read the folder $p" >&2; exit 3; } ;;',
  '    socket) if [ -S "$p" ]; then echo "can still reach the socket $p" >&2; exit 4; fi ;;',
  '    *) exit 64 ;;',
  '  esac',
  '  shift 2',
  'done',
  '"$cmd" --version >/dev/null || { echo "cannot run $cmd" >&2; exit 5; }',
].join('\n');

export interface ProbeRequest {
  hidden: HiddenPaths;
  gid: number;
  jupyterCommand: string;
  /** Folders servers must traverse (the workspace root). */
  traverse: string[];
  /** Folders servers must read (the Jupyter configuration). */
  read: string[];
  /** Sockets servers must not reach (the database's). */
  sockets: string[];
  env: Record<string, string>;
}

export async function probeServerAccess(request: ProbeRequest): Promise<void> {
  const { file, args } = launchCommand(request.hidden, { uid: PROBE_UID, gid: request.gid }, 'sh', [
    '-c',
    PROBE_SCRIPT,
    'orrery-probe',
    request.jupyterCommand,
    ...request.traverse.flatMap((p) => ['traverse', p]),
    ...request.read.flatMap((p) => ['read', p]),
    ...request.sockets.flatMap((p) => ['socket', p]),
  ]);
  try {
    await run(file, args, { env: request.env, cwd: '/', timeout: 60_000 });
  } catch (err) {
    const failure = err as { code?: unknown; stderr?: string };
    const lines = String(failure.stderr ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    if (failure.code === 4) {
      throw new Error(
        `local servers would reach the hub's database: such a user ${lines.at(-1)}; refusing ` +
          'to start servers that are not kept off it',
      );
    }
    if (failure.code === 3 || failure.code === 5) {
      throw new Error(
        `local servers run as unprivileged users, and such a user ${lines.at(-1)}: make the ` +
          'repository, its .venv and the state folder reachable by others (chmod o+x on every ' +
          'parent folder, chmod -R o+rX .venv; scripts/provision-lab.sh does this)',
      );
    }
    throw new Error(
      'local servers cannot be isolated here: starting one through unshare (a mount ' +
        `namespace) and setpriv failed (${lines[0] ?? String(err)}); the hub needs root with ` +
        'CAP_SYS_ADMIN and CAP_NET_ADMIN, or Docker',
    );
  }
}
