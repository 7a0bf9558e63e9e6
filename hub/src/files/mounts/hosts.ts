/**
 * Where the view script runs: on this machine (the hub is root in the host's mount namespace),
 * or on a remote Docker host through a short-lived helper container that enters that host's
 * mount namespace (`nsenter --target 1 --mount`): a mount must be made on the host whose
 * containers are to see it, and a Docker API is all the hub has of a remote host.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DockerClient } from '@orrery/spawner';

const run = promisify(execFile);

/** A host on which views are applied. */
export interface MountHost {
  /** The compute host's name (`local`, or the Docker host's name in its domain). */
  readonly name: string;
  /**
   * Run `sh -c script <label> ...args` as root in the host's mount namespace; rejects with
   * the script's stderr when it exits non-zero.
   */
  runScript(script: string, args: string[]): Promise<void>;
}

/** This machine: the hub runs as root in the host's mount namespace. */
export class LocalMountHost implements MountHost {
  constructor(readonly name = 'local') {}

  async runScript(script: string, args: string[]): Promise<void> {
    try {
      await run('sh', ['-c', script, 'orrery-view', ...args], { maxBuffer: 1024 * 1024 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(stderr || (error as Error).message);
    }
  }
}

/** Labels of helper containers, so a sweep can find one a crash left behind. */
export const HELPER_LABEL = 'org.orrery.view-helper';

/**
 * Runs in the helper: enter the mount namespace of the container's parent, the runtime's shim,
 * which lives where the Docker daemon resolves bind sources (the host's, normally), and run the
 * script there with the host's own `sh`, `mount` and `stat`. Not PID 1's: a host may keep its
 * init's namespace apart from the daemon's, and only the daemon's is what containers see.
 */
const ENTER_HOST = 'exec nsenter --target "$PPID" --mount -- sh -c "$0" orrery-view "$@"';

/**
 * A remote Docker host: each run is one short-lived helper container in the host's PID
 * namespace, without network, not privileged but holding exactly what entering a mount
 * namespace and mounting need (SYS_ADMIN, SYS_CHROOT, SYS_PTRACE to open the shim's namespace,
 * DAC_READ_SEARCH and DAC_OVERRIDE to reach volume folders owned by the container user), with
 * the default seccomp and AppArmor profiles lifted (they refuse mount and setns). It exists
 * only for the run and is removed after. Only the hub creates it; users' containers stay
 * unprivileged.
 */
export class DockerHelperMountHost implements MountHost {
  constructor(
    readonly name: string,
    private readonly docker: DockerClient,
    /** An image with `nsenter` (util-linux): the compute base image has it. */
    private readonly image: string,
    /** Value of the helper label (the deployment), for sweeping. */
    private readonly deployment: string,
  ) {}

  async runScript(script: string, args: string[]): Promise<void> {
    const container = await this.docker.createContainer({
      Image: this.image,
      Entrypoint: ['sh', '-c', ENTER_HOST],
      Cmd: [script, ...args],
      User: '0:0',
      Labels: { [HELPER_LABEL]: this.deployment },
      NetworkDisabled: true,
      HostConfig: {
        Privileged: false,
        PidMode: 'host',
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        CapAdd: ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'DAC_OVERRIDE'],
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      },
    });
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) {
        const logs = await container.logs({ stdout: false, stderr: true });
        throw new Error(demultiplex(logs).trim() || `view helper exited with ${StatusCode}`);
      }
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }
}

/** The text of Docker's multiplexed log stream (8-byte frame headers) without the headers. */
function demultiplex(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
