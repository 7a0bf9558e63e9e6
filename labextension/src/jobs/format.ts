/** How jobs read in the panel: names, statuses, durations, the estimated start. */
import type { IJob, JobStatus } from '../tokens.js';
import { baseName } from './paths.js';

export const ACTIVE: readonly JobStatus[] = ['queued', 'running'];

export const isActive = (job: Pick<IJob, 'status'>): boolean => ACTIVE.includes(job.status);

/** `3 s`, `4 min 05 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** What the job is: its notebook's file name, or its command. */
export function jobTitle(job: Pick<IJob, 'notebook' | 'command' | 'id'>): string {
  if (job.notebook) {
    return baseName(job.notebook);
  }
  return job.command ?? `job ${job.id}`;
}

/**
 * The line under a job's title: where it is in the queue and when it should start; how long it
 * has run; how it ended. `now` is the clock's, in milliseconds.
 */
export function jobProgress(job: IJob, now: number): string {
  switch (job.status) {
    case 'queued': {
      const parts = [job.queue_position ? `#${job.queue_position} in the queue` : 'queued'];
      if (job.estimated_start_at) {
        const wait = (Date.parse(job.estimated_start_at) - now) / 1000;
        parts.push(wait > 0 ? `starts in about ${formatSeconds(wait)}` : 'starts soon');
      }
      return parts.join(', ');
    }
    case 'running':
      return `running for ${formatSeconds(job.duration_seconds ?? 0)}`;
    case 'succeeded':
      return `took ${formatSeconds(job.duration_seconds ?? 0)}`;
    case 'cancelled':
      return 'cancelled';
    case 'timed_out':
      return `stopped at its time limit (${formatSeconds(job.time_limit_seconds)})`;
    case 'failed':
      return job.message ?? job.failure ?? 'failed';
  }
}

/** The parameters as `a=1, b="x"`, or "". */
export function parametersText(job: Pick<IJob, 'parameters'>): string {
  return Object.entries(job.parameters ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
}
