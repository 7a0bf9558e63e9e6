/**
 * Where a job runs: the contract the dispatcher drives (`JobContainers`), and its Docker
 * implementation, job containers on one Docker host of a compute domain through the spawner's
 * Docker client (Swarm's is swarmContainers.ts). A job's container is found by name
 * (`<resource prefix>job-<id>`) and by label, never by a handle kept in memory: it outlives the
 * hub that started it.
 */
import { type DockerClient, isAlreadyGone, isNotFound, LABELS } from '@orrery/spawner';
import type { ContainerCreateOptions } from 'dockerode';
import { JOB_LABELS } from './jobSpec.ts';

/** What Docker says of a job's container. */
export type ContainerState =
  | { state: 'missing' }
  | { state: 'created' }
  | { state: 'running' }
  | { state: 'exited'; exitCode: number; oomKilled: boolean }
  /** The platform would not run it at all (Swarm rejected its task): a failed start. */
  | { state: 'rejected'; imageMissing: boolean; message: string };

/** Each stream's tail kept with a finished job. */
export const LOG_TAIL_BYTES = 1024 * 1024;

export class ImageMissing extends Error {}

/** Each stream's bytes of a job's output. */
export interface JobOutput {
  stdout: Buffer;
  stderr: Buffer;
}

/**
 * The container side of jobs on one compute domain. Every method is idempotent and finds the
 * job by its fixed name, so any hub may call it for any job, any number of times; "already
 * gone" is success.
 */
export interface JobContainers {
  /** The user's named workspace volume, made if missing (when no Storage folder is bound). */
  ensureVolume(name: string, owner: string): Promise<void>;
  /**
   * Create the job's container from its hardened container spec unless it exists (then it is
   * adopted), and start it unless it runs or ran: one container per job, started at most once.
   * Throws ImageMissing when the platform says at once that the image is not there.
   */
  start(spec: ContainerCreateOptions): Promise<void>;
  /** Where the job's container is: missing, created (not started), running, exited, rejected. */
  inspect(name: string): Promise<ContainerState>;
  /** The job's whole output so far, each stream's bytes (empty when gone). */
  logs(name: string): Promise<JobOutput>;
  /** What a job keeps of its output: each stream's last LOG_TAIL_BYTES and whole length. */
  keptLogs(name: string): Promise<ReturnType<typeof keptTail>>;
  /** Stop it without removing it, so its exit and output can still be read. */
  kill(name: string): Promise<void>;
  /** Stop and remove it and what was made for it. */
  remove(name: string): Promise<void>;
  /** Resolves once it is not running (at once if it has ended or is gone); only a hint. */
  wait(name: string): Promise<void>;
  /** This deployment's job containers (and leftovers of them) on the domain: name and job id. */
  list(): Promise<{ name: string; jobId: number }[]>;
}

/** The user's workspace volume on `docker`, made if it is missing (as the spawner makes it). */
export async function ensureWorkspaceVolume(docker: DockerClient, name: string, owner: string) {
  try {
    await docker.getVolume(name).inspect();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await docker.createVolume({
      Name: name,
      Labels: { [LABELS.managed]: 'true', [LABELS.owner]: owner },
    });
  }
}

/** What a job keeps of `output`: each stream's last LOG_TAIL_BYTES as text, and its length. */
export function keptTail({ stdout, stderr }: JobOutput) {
  return {
    stdout: tailText(stdout),
    stderr: tailText(stderr),
    stdoutBytes: stdout.length,
    stderrBytes: stderr.length,
  };
}

export class DockerJobContainers implements JobContainers {
  constructor(
    private readonly docker: DockerClient,
    private readonly deployment: string,
  ) {}

  ensureVolume(name: string, owner: string): Promise<void> {
    return ensureWorkspaceVolume(this.docker, name, owner);
  }

  async start(spec: ContainerCreateOptions): Promise<void> {
    const name = spec.name!;
    try {
      await this.docker.createContainer(spec);
    } catch (error) {
      if (isNotFound(error)) throw new ImageMissing(`the image ${spec.Image} is not on the host`);
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      // It existed (made by a hub that died): started at most once, so only if never started.
      if ((await this.inspect(name)).state !== 'created') return;
    }
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

  async logs(name: string): Promise<JobOutput> {
    try {
      const raw = (await this.docker
        .getContainer(name)
        .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return demultiplex(raw);
    } catch (error) {
      // 409: being removed, which only happens once its job's end is recorded (with its logs).
      if (isNotFound(error) || (error as { statusCode?: number }).statusCode === 409)
        return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
      throw error;
    }
  }

  async keptLogs(name: string) {
    return keptTail(await this.logs(name));
  }

  async remove(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).remove({ force: true, v: false });
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
  }

  async wait(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).wait({ condition: 'not-running' });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async kill(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).kill();
    } catch (error) {
      if (!isAlreadyGone(error)) throw error;
    }
  }

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
