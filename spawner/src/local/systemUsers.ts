/**
 * One unprivileged system user per Orrery user, all in one shared group (which the firewall
 * matches), each owning its workspace (mode 0700) and having it as its home. Only used when
 * the hub runs as root.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SpawnUser } from '../types.ts';

const run = promisify(execFile);

export interface SystemIdentity {
  name: string;
  uid: number;
  gid: number;
}

/**
 * `orrery-<readable>-<hash>`: lower-case, at most 31 characters (under the 32 Linux allows),
 * distinct per deployment (`namePrefix`) and per exact user name, so `a-b`, `A-B` and `a_b`
 * (or one name in two deployments) never share a uid.
 */
export function systemUserName(namePrefix: string, user: SpawnUser): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([namePrefix, user.name]))
    .digest('hex')
    .slice(0, 8);
  const readable = user.safeName
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '_')
    .slice(0, 15);
  return `orrery-${readable}-${digest}`;
}

async function getent(database: 'passwd' | 'group', name: string): Promise<string[] | null> {
  try {
    const { stdout } = await run('getent', [database, name]);
    return stdout.trim().split(':');
  } catch {
    return null; // exit status 2: no such entry
  }
}

/** The gid of the system group `name`, created (as a system group) when missing. */
export async function ensureGroup(name: string): Promise<number> {
  let entry = await getent('group', name);
  if (!entry) {
    // Two hubs may create it at once: the loser's failure is fine if the group now exists.
    await run('groupadd', ['--system', name]).catch(() => undefined);
    entry = await getent('group', name);
    if (!entry) throw new Error(`could not create the system group ${name}`);
  }
  return Number(entry[2]);
}

/**
 * The system user `name` (primary group `gid`, home `home`, no login shell, no password),
 * created when missing. An existing user of that name must have that primary group: a user
 * of the machine that happens to have the name is never taken over.
 */
export async function ensureSystemUser(
  name: string,
  gid: number,
  home: string,
): Promise<SystemIdentity> {
  let entry = await getent('passwd', name);
  if (!entry) {
    await run('useradd', [
      '--system',
      '--gid',
      String(gid),
      '--home-dir',
      home,
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      '--comment',
      'Orrery server',
      name,
    ]).catch(() => undefined); // a concurrent start of the same user may have created it
    entry = await getent('passwd', name);
    if (!entry) throw new Error(`could not create the system user ${name}`);
  }
  const identity = { name, uid: Number(entry[2]), gid: Number(entry[3]) };
  if (identity.uid === 0 || identity.gid !== gid) {
    throw new Error(`the system user ${name} exists but is not an Orrery server user`);
  }
  return identity;
}

/**
 * Make `workspace` (`<root>/<safeName>/work`) the private home of `owner`: its parents
 * traversable but not listable (0711), the workspace owned by `owner` with mode 0700. A
 * workspace left by an earlier version (owned by the hub's user) is handed over whole, links
 * themselves and never what they point to.
 */
export async function prepareWorkspace(workspace: string, owner: SystemIdentity): Promise<void> {
  await mkdir(workspace, { recursive: true, mode: 0o700 });
  await chmod(path.dirname(workspace), 0o711);
  const stat = await lstat(workspace);
  if (!stat.isDirectory()) throw new Error(`${workspace} is not a directory`);
  if (stat.uid !== owner.uid || stat.gid !== owner.gid) {
    await run('chown', ['-R', '--no-dereference', `${owner.uid}:${owner.gid}`, workspace]);
  }
  await chown(workspace, owner.uid, owner.gid);
  await chmod(workspace, 0o700);
}

/**
 * Remove the system user `name` (its files stay, owned by its former uid); gone is fine. The
 * caller has checked that no server of theirs runs, so whatever that uid still runs (a process
 * left behind by a stopped server, or one it detached) is ended first: `userdel` refuses a
 * user with live processes.
 */
export async function removeSystemUser(name: string): Promise<void> {
  if (!(await getent('passwd', name))) return;
  for (let attempt = 0; ; attempt += 1) {
    await run('pkill', ['-KILL', '-u', name]).catch(() => undefined); // exit 1: none left
    try {
      await run('userdel', [name]);
      return;
    } catch (error) {
      if (attempt >= 20 || !/currently used by process/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
