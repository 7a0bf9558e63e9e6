/**
 * The one shell script that makes a user's view folder on a host match their VolumeView[], and
 * the pure builder of its arguments. The same script runs on this machine (the hub is root) and,
 * for a remote Docker host, inside a short-lived helper container that enters that host's mount
 * namespace: one mechanism, whichever host.
 *
 * Why staged: a remount (`mount -o remount,bind,ro`) changes only the mount it is applied to,
 * not the copies propagation has already put into running containers. So a read-only volume is
 * bound and made read-only in a private staging folder first, and only that read-only mount is
 * bound into the (shared) view: every copy propagated from it is read-only from the start.
 */
import path from 'node:path';

/** One volume as the script sees it: where it goes in the view, from where, and how. */
export interface ViewEntry {
  /** `<root>/<owner>/<volume>`, relative to the user's view folder. */
  relative: string;
  /** Absolute host folder of the volume. */
  source: string;
  readOnly: boolean;
}

/** What the view script is run with on one host. */
export interface ViewScriptInput {
  /** The folder every user's view lives in; made a shared mount point of itself. */
  viewsRoot: string;
  /** A private mount point where read-only binds are prepared. */
  stageRoot: string;
  /** The user's view folder, `<viewsRoot>/<user id>`. */
  view: string;
  entries: ViewEntry[];
  /** Remove the view folder itself once empty (the user has no volume any more). */
  removeView?: boolean;
}

/**
 * Arguments: `viewsRoot stageRoot view remove-view(0|1)`, then triples `ro|rw relative source`.
 * Paths are arguments, never parsed by the shell. Exit 0 when the view matches; otherwise a
 * line per problem on stderr and exit 1 (what could be done is done).
 */
export const VIEW_SCRIPT = `
set -u
root=$1 stage=$2 view=$3 remove_view=$4
shift 4
failed=0
fail() { echo "orrery-view: $*" >&2; failed=1; }

# The views root: a shared mount point of itself (mounts under it reach the containers that
# bind a view with rslave). The stage: a private one (staged mounts propagate nowhere).
mkdir -p "$root" "$stage"
mountpoint -q "$root" || mount --bind "$root" "$root" || fail "cannot bind $root"
mount --make-rshared "$root" || fail "cannot make $root shared"
mountpoint -q "$stage" || mount --bind "$stage" "$stage" || fail "cannot bind $stage"
mount --make-private "$stage" || fail "cannot make $stage private"
mkdir -p "$view" && chmod 0755 "$view" || fail "cannot make $view"

detach() { umount "$1" 2>/dev/null || umount -l "$1" || fail "cannot unmount $1"; }

nl='
'
wanted=''
while [ "$#" -ge 3 ]; do
  mode=$1 rel=$2 src=$3
  shift 3
  target="$view/$rel"
  wanted="$wanted$rel
"
  # In place already when the target is the source's very folder (same device and inode: only a
  # bind mount makes that so) in the same mode; one stat for both keeps a re-apply cheap.
  if [ -d "$target" ] && [ -d "$src" ]; then
    ids=$(stat -c %d:%i -- "$target" "$src")
    current=rw
    [ -w "$target" ] || current=ro
    if [ "\${ids%%"$nl"*}" = "\${ids#*"$nl"}" ] && [ "$current" = "$mode" ]; then
      continue
    fi
  fi
  if mountpoint -q "$target"; then detach "$target"; fi
  if [ ! -d "$src" ]; then
    fail "no folder $src for $rel"
    continue
  fi
  mkdir -p "$target" || { fail "cannot make $target"; continue; }
  chmod 0755 "$(dirname "$target")" "$(dirname "$(dirname "$target")")"
  staged=$(mktemp -d "$stage/m.XXXXXX") || { fail "cannot stage $rel"; continue; }
  if mount --bind "$src" "$staged"; then
    if [ "$mode" = ro ]; then
      mount -o remount,bind,ro "$staged" || fail "cannot make $rel read-only"
    fi
    if [ "$mode" = rw ] || [ ! -w "$staged" ]; then
      mount --bind "$staged" "$target" || fail "cannot mount $rel"
    fi
    umount "$staged" || umount -l "$staged"
  else
    fail "cannot bind $src"
  fi
  rmdir "$staged"
done

# Whatever else is mounted three levels down is no longer in the view: unmount it (lazily if
# a process still uses it), then remove the folders left empty, deepest first.
leftovers=$(find "$view" -mindepth 3 -maxdepth 3 -type d)
while IFS= read -r target; do
  [ -n "$target" ] || continue
  rel=${'$'}{target#"$view/"}
  case "$nl$wanted" in *"$nl$rel$nl"*) continue ;; esac
  if mountpoint -q "$target"; then detach "$target"; fi
  rmdir "$target" 2>/dev/null
done <<LEFTOVERS
$leftovers
LEFTOVERS
find "$view" -mindepth 1 -maxdepth 2 -depth -type d -exec rmdir {} + 2>/dev/null
if [ "$remove_view" = 1 ]; then rmdir "$view" 2>/dev/null; fi
exit "$failed"
`;

/** A path component of a view: no separator, no NUL or newline, not `.` or `..`. */
export function isViewComponent(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\0\n\r]/.test(name);
}

/** The script's arguments for `input` (after `sh -c VIEW_SCRIPT <name>`). */
export function viewScriptArgs(input: ViewScriptInput): string[] {
  for (const folder of [input.viewsRoot, input.stageRoot, input.view]) {
    if (!path.posix.isAbsolute(folder) || path.posix.normalize(folder) !== folder) {
      throw new TypeError(`${folder} is not a normalised absolute path`);
    }
  }
  if (path.posix.dirname(input.view) !== input.viewsRoot) {
    throw new TypeError(`${input.view} is not a view folder of ${input.viewsRoot}`);
  }
  const seen = new Set<string>();
  const triples: string[] = [];
  for (const entry of input.entries) {
    if (seen.has(entry.relative)) throw new TypeError(`${entry.relative} is in the view twice`);
    seen.add(entry.relative);
    triples.push(entry.readOnly ? 'ro' : 'rw', entry.relative, entry.source);
  }
  return [input.viewsRoot, input.stageRoot, input.view, input.removeView ? '1' : '0', ...triples];
}
