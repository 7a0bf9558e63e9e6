/** Bodies, queries and answers of the jobs API (docs/jobs.md), and a job's JSON form. */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp, Username } from '../http/schemas.ts';
import { JOB_STATUSES } from './status.ts';
import type { JobRecord } from './store.ts';

const JobStatus = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));

export const JobBody = Type.Object(
  {
    command: Type.String({
      minLength: 1,
      maxLength: 65_536,
      description: 'A shell command line, run by `sh -c` in the working folder',
    }),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    domain: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'default: the first domain' }),
    ),
    working_dir: Type.Optional(
      Type.String({ maxLength: 1024, description: 'A folder of your workspace; default its top' }),
    ),
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024 })),
    memory_mb: Type.Optional(Type.Integer({ minimum: 6, maximum: 16 * 1024 * 1024 })),
    time_limit_seconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'At most the domain’s longest run' }),
    ),
    idempotency_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Submitting again with the same key returns the job it made (200, not 201)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Job = Strict({
  id: Type.Integer({ minimum: 1 }),
  command: Type.String(),
  image: Type.String(),
  domain: Type.String(),
  working_dir: Type.String(),
  cpus: Type.Number(),
  memory_mb: Type.Integer(),
  time_limit_seconds: Type.Integer(),
  idempotency_key: Nullable(Type.String()),
  resubmitted_from: Nullable(Type.Integer()),
  status: JobStatus,
  failure: Nullable(
    Type.Union(
      ['exit_code', 'oom', 'image_missing', 'start_failed'].map((f) => Type.Literal(f)),
      { description: 'Why it failed' },
    ),
  ),
  message: Nullable(Type.String()),
  exit_code: Nullable(Type.Integer()),
  attempts: Type.Integer({ minimum: 0, description: 'Starts claimed; above 1 after a lost start' }),
  queue_position: Nullable(
    Type.Integer({ minimum: 1, description: 'While queued: its place in its domain (1 next)' }),
  ),
  output_folder: Type.String({ description: 'Where in your workspace its files go' }),
  submitted_at: Timestamp,
  started_at: Nullable(Timestamp),
  finished_at: Nullable(Timestamp),
});

export const JobList = Strict({ jobs: Type.Array(Job) });

export const JobListQuery = Type.Object(
  {
    status: Type.Optional(JobStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const JobParams = Type.Object({ name: Username, id: Id }, { additionalProperties: false });

export const JobLogs = Strict({
  stdout: Type.String(),
  stderr: Type.String(),
  complete: Type.Boolean({ description: 'False while the job runs: ask again for more' }),
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function jobJson(job: JobRecord) {
  return {
    id: job.id,
    command: job.command,
    image: job.image,
    domain: job.domain,
    working_dir: job.workingDir,
    cpus: job.cpus,
    memory_mb: Math.round(job.memoryBytes / 1024 / 1024),
    time_limit_seconds: job.timeLimitSeconds,
    idempotency_key: job.idempotencyKey,
    resubmitted_from: job.resubmittedFrom,
    status: job.status,
    failure: job.failure,
    message: job.message,
    exit_code: job.exitCode,
    attempts: job.attempts,
    queue_position: job.queuePosition,
    output_folder: `jobs/${job.id}`,
    submitted_at: job.submittedAt.toISOString(),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
  };
}
