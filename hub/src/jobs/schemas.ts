/** Bodies, queries and answers of the jobs API (docs/jobs.md), and a job's JSON form. */
import { Type } from '@sinclair/typebox';
import { Id, Nullable, Strict, Timestamp, Username } from '../http/schemas.ts';
import { outputFolder, outputNotebookOf } from './jobSpec.ts';
import { FAILURES, JOB_STATUSES } from './status.ts';
import type { JobRecord } from './store.ts';

const JobStatus = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));

/** A notebook's parameters: names as Python identifiers, values any JSON (docs/jobs.md). */
export const Parameters = Type.Record(Type.String(), Type.Unknown(), {
  maxProperties: 200,
  description: 'Injected as papermill does, after the cell tagged "parameters"',
});

/** What a job runs and with what, shared by single jobs and sweeps. */
const definitionFields = {
  command: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 65_536,
      description: 'A shell command line, run by `sh -c` in the working folder',
    }),
  ),
  notebook: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 1024,
      description:
        'A notebook (.ipynb) of your workspace, relative to it (work/a/b.ipynb is "a/b.ipynb"), executed with papermill',
    }),
  ),
  image: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  domain: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'default: the first domain' }),
  ),
  working_dir: Type.Optional(
    Type.String({
      maxLength: 1024,
      description: 'A folder of your workspace; default its top (a notebook’s: its folder)',
    }),
  ),
  cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024 })),
  memory_mb: Type.Optional(Type.Integer({ minimum: 6, maximum: 16 * 1024 * 1024 })),
  time_limit_seconds: Type.Optional(
    Type.Integer({ minimum: 1, description: 'At most the domain’s longest run' }),
  ),
};

export const JobBody = Type.Object(
  {
    ...definitionFields,
    parameters: Type.Optional(Parameters),
    idempotency_key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Submitting again with the same key returns the job it made (200, not 201)',
      }),
    ),
  },
  { additionalProperties: false, description: 'Exactly one of `command` and `notebook`' },
);

export const SweepBody = Type.Object(
  {
    ...definitionFields,
    parameter_sets: Type.Array(Parameters, {
      minItems: 1,
      maxItems: 1000,
      description:
        'One job per set: a notebook’s parameters, or a command’s ORRERY_PARAM_<NAME> variables',
    }),
  },
  { additionalProperties: false, description: 'Exactly one of `command` and `notebook`' },
);

export const Job = Strict({
  id: Type.Integer({ minimum: 1 }),
  kind: Type.Union([Type.Literal('command'), Type.Literal('notebook')]),
  command: Nullable(Type.String()),
  notebook: Nullable(Type.String({ description: 'The input notebook, workspace-relative' })),
  parameters: Nullable(Parameters),
  sweep_id: Nullable(Type.String({ format: 'uuid' })),
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
      FAILURES.map((f) => Type.Literal(f)),
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
  output_notebook: Nullable(
    Type.String({ description: 'The executed notebook, workspace-relative (notebook jobs)' }),
  ),
  estimated_start_at: Nullable({
    ...Timestamp,
    description: 'While queued: when it is expected to start (docs/jobs.md), null if unknown',
  }),
  duration_seconds: Nullable(
    Type.Number({ minimum: 0, description: 'Running: so far; ended: in all; queued: null' }),
  ),
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

export const SweepAnswer = Strict({
  sweep_id: Type.String({ format: 'uuid' }),
  jobs: Type.Array(Job, { description: 'One per parameter set, in their order' }),
});

const Offset = Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 });

export const JobLogsQuery = Type.Object(
  {
    stdout_offset: Type.Optional({ ...Offset, description: 'Bytes of stdout already read' }),
    stderr_offset: Type.Optional({ ...Offset, description: 'Bytes of stderr already read' }),
  },
  { additionalProperties: false },
);

export const JobLogs = Strict({
  stdout: Type.String({ description: 'Standard output after stdout_offset' }),
  stderr: Type.String({ description: 'Standard error after stderr_offset' }),
  complete: Type.Boolean({
    description: 'True once the job has ended and everything was returned',
  }),
  stdout_offset: { ...Offset, description: 'Ask with this next time' },
  stderr_offset: { ...Offset, description: 'Ask with this next time' },
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** Seconds between two times, to the millisecond. */
const seconds = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 1000);

export function jobJson(job: JobRecord & { estimatedStartAt?: Date | null }, now = new Date()) {
  return {
    id: job.id,
    kind: job.kind,
    command: job.command,
    notebook: job.notebook,
    parameters: job.parameters,
    sweep_id: job.sweepId,
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
    output_folder: outputFolder(job.id),
    output_notebook: job.notebook === null ? null : outputNotebookOf(job.id, job.notebook),
    estimated_start_at: job.status === 'queued' ? iso(job.estimatedStartAt ?? null) : null,
    duration_seconds:
      job.startedAt === null || job.status === 'queued'
        ? null
        : seconds(job.startedAt, job.finishedAt ?? now),
    submitted_at: job.submittedAt.toISOString(),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
  };
}
