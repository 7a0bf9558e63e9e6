/**
 * Job containers on one Docker host of a compute domain, through the spawner's Docker client.
 * Containers are found by name (`<resource prefix>job-<id>`) and by label, never by a handle
 * kept in memory: they outlive the hub that started them.
 */
import { type DockerClient, isAlreadyGone, isNotFound, LABELS } from '@orrery/spawner';
import type { ContainerCreateOptions } from 'dockerode';
import { JOB_LABELS } from './jobSpec.ts';

/** What Docker says of a job's container. */
export type ContainerState =
  | { state: 'missing' }
  | { state: 'created' }
  | { state: 'running' }
  | { state: 'exited'; exitCode: number; oomKilled: boolean };

/** Each stream's tail kept with a finished job. */
export const LOG_TAIL_BYTES = 1024 * 1024;

export class ImageMissing extends Error {}

export class JobContainers {
  constructor(
    private readonly docker: DockerClient,
    private readonly deployment: string,
  ) {}

  /** The user's workspace volume, made if it is missing (as the spawner makes it). */
  async ensureVolume(name: string, owner: string): Promise<void> {
    try {
      await this.docker.getVolume(name).inspect();
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.docker.createVolume({
        Name: name,
        Labels: { [LABELS.managed]: 'true', [LABELS.owner]: owner },
      });
    }
  }

  /**
   * Create the container unless it exists (a start the last hub began) and start it unless
   * it runs or ran: one container per job, whoever calls this and however often.
   */
  async start(spec: ContainerCreateOptions): Promise<void> {
    const name = spec.name!;
    try {
      await this.docker.createContainer(spec);
    } catch (error) {
      if (isNotFound(error)) throw new ImageMissing(`the image ${spec.Image} is not on the host`);
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
    const found = await this.inspect(name);
    if (found.state !== 'created') return;
    try {
      await this.docker.getContainer(name).start();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    }
  }

  async inspect(name: string): Promise<ContainerState> {
    try {
      const info = await this.docker.getContainer(name).inspect();
      if (info.State.Running) return { state: 'running' };
      if (info.State.Status === 'created') return { state: 'created' };
      return {
        state: 'exited',
        exitCode: info.State.ExitCode,
        oomKilled: Boolean(info.State.OOMKilled),
      };
    } catch (error) {
      if (isNotFound(error)) return { state: 'missing' };
      throw error;
    }
  }

  /** The container's whole output so far, each stream's bytes. */
  async logs(name: string): Promise<{ stdout: Buffer; stderr: Buffer }> {
    try {
      const raw = (await this.docker
        .getContainer(name)
        .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return demultiplex(raw);
    } catch (error) {
      if (isNotFound(error)) return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
      throw error;
    }
  }

  /** What a job keeps of its output: each stream's last LOG_TAIL_BYTES and whole length. */
  async keptLogs(name: string) {
    const { stdout, stderr } = await this.logs(name);
    return {
      stdout: tailText(stdout),
      stderr: tailText(stderr),
      stdoutBytes: stdout.length,
      stderrBytes: stderr.length,
    };
  }

  /** Kill and remove; a container already gone is fine. */
  async remove(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).remove({ force: true, v: false });
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
  }

  /** Resolves once the container is not running (at once if it has exited or is gone). */
  async wait(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).wait({ condition: 'not-running' });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Kill without removing, so its exit and logs can still be read. */
  async kill(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).kill();
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
  }

  /** This deployment's job containers on the host: name and job id. */
  async list(): Promise<{ name: string; jobId: number }[]> {
    const found = await this.docker.listContainers({
      all: true,
      filters: { label: [`${JOB_LABELS.deployment}=${this.deployment}`] },
    });
    return found.map((info) => ({
      name: (info.Names[0] ?? '').replace(/^\//, ''),
      jobId: Number(info.Labels[JOB_LABELS.job]),
    }));
  }
}

/**
 * Docker's log stream of a container without a TTY: frames of an 8-byte header (stream 1 =
 * stdout, 2 = stderr; then a big-endian length) and that many bytes.
 */
export function demultiplex(raw: Buffer): { stdout: Buffer; stderr: Buffer } {
  const parts: Record<1 | 2, Buffer[]> = { 1: [], 2: [] };
  let at = 0;
  while (at + 8 <= raw.length) {
    const stream = raw[at] === 2 ? 2 : 1;
    const length = raw.readUInt32BE(at + 4);
    parts[stream].push(raw.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return { stdout: Buffer.concat(parts[1]), stderr: Buffer.concat(parts[2]) };
}

/** The last LOG_TAIL_BYTES of a stream as text, starting on a character boundary. */
export function tailText(all: Buffer): string {
  let from = Math.max(0, all.length - LOG_TAIL_BYTES);
  while (from < all.length && (all[from]! & 0xc0) === 0x80) from++;
  return all.subarray(from).toString('utf8');
}
