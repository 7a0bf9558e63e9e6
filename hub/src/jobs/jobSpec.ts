/**
 * Pure translation of a job into Docker's container-create body, hardened as the spawner
 * hardens servers (spawner/src/containerSpec.ts): not privileged, every capability dropped,
 * no-new-privileges, the servers' non-root user, memory without extra swap, CPU and pids
 * limits, and the user's workspace mounted where their servers have it. No network: a job of
 * this first slice reaches nothing (docs/jobs.md, "Limits").
 */
import path from 'node:path';
import { defaultContainerSpecOptions, LABELS } from '@orrery/spawner';
import type { ContainerCreateOptions } from 'dockerode';
import type { JobRecord } from './store.ts';

/** Labels of job containers: the job's id, its owner, and the deployment that runs it. */
export const JOB_LABELS = {
  job: 'org.orrery.job',
  deployment: 'org.orrery.job.deployment',
  owner: LABELS.owner,
} as const;

/** Where job outputs go inside the workspace: `jobs/<id>/`. */
export const outputFolder = (id: number) => `jobs/${id}`;

/**
 * The container's command; constant, since every job-dependent value arrives through the
 * environment and the user's command is run by a shell of its own (as `sh -c` would in a
 * terminal). The working folder must exist; the output folder is made.
 */
export const JOB_SCRIPT =
  'mkdir -p "$ORRERY_JOB_OUTPUT" && cd "$ORRERY_JOB_CWD" && exec sh -c "$ORRERY_JOB_COMMAND"';

/** Threads and processes a job may have (fork-bomb guard), as a server has by default. */
export const JOB_PIDS = 512;

/** A working folder is relative to the workspace and stays inside it. */
export function checkWorkingDir(dir: string): string | null {
  if (dir === '') return '';
  const normal = path.posix.normalize(dir);
  if (dir.startsWith('/') || normal.startsWith('..') || normal.includes('\0')) return null;
  return normal.replace(/\/$/, '');
}

export function buildJobSpec(
  job: JobRecord,
  options: { name: string; deployment: string; owner: string; workspaceVolume: string },
): ContainerCreateOptions {
  const workspace = defaultContainerSpecOptions.workspacePath;
  const cwd = checkWorkingDir(job.workingDir);
  if (cwd === null) throw new TypeError(`working folder ${job.workingDir} leaves the workspace`);
  return {
    name: options.name,
    Image: job.image,
    Cmd: ['sh', '-c', JOB_SCRIPT],
    Env: [
      `ORRERY_JOB_ID=${job.id}`,
      `ORRERY_JOB_COMMAND=${job.command}`,
      `ORRERY_JOB_CWD=${cwd ? `${workspace}/${cwd}` : workspace}`,
      `ORRERY_JOB_OUTPUT=${workspace}/${outputFolder(job.id)}`,
    ],
    Labels: {
      [JOB_LABELS.job]: String(job.id),
      [JOB_LABELS.deployment]: options.deployment,
      [JOB_LABELS.owner]: options.owner,
    },
    User: defaultContainerSpecOptions.user,
    WorkingDir: workspace,
    HostConfig: {
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: job.memoryBytes,
      MemorySwap: job.memoryBytes,
      NanoCpus: Math.round(job.cpus * 1e9),
      PidsLimit: JOB_PIDS,
      Mounts: [
        { Type: 'volume', Source: options.workspaceVolume, Target: workspace, ReadOnly: false },
      ],
      NetworkMode: 'none',
      RestartPolicy: { Name: 'no' },
    },
  };
}
