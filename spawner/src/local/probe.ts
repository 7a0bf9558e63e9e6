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
    const detail = String((err as { stderr?: string }).stderr ?? '').trim() || String(err);
    throw new Error(
      `local servers run as unprivileged users, and such a user ${detail.split('\n').at(-1)}: ` +
        'make the repository, its .venv and the state folder reachable by others (chmod o+x ' +
        'on every parent folder, chmod -R o+rX .venv; scripts/provision-lab.sh does this)',
    );
  }
}
