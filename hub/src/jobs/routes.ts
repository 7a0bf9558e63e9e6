/** Batch jobs over HTTP; always the caller's own (docs/jobs.md). */
import { selfOnly } from '../auth/guards.ts';
import { routesOf } from '../http/route.ts';
import { NameParams, NoQuery } from '../http/schemas.ts';
import {
  Job,
  JobBody,
  JobList,
  JobListQuery,
  JobLogs,
  JobLogsQuery,
  JobParams,
  jobJson,
  SweepAnswer,
  SweepBody,
} from './schemas.ts';
import type { JobsService, Submission } from './service.ts';

const route = routesOf<JobsService>();

/** A job definition from the API's snake_case body. */
function definitionOf(body: {
  command?: string;
  notebook?: string;
  image?: string;
  domain?: string;
  working_dir?: string;
  cpus?: number;
  memory_mb?: number;
  time_limit_seconds?: number;
}): Submission {
  return {
    ...(body.command === undefined ? {} : { command: body.command }),
    ...(body.notebook === undefined ? {} : { notebook: body.notebook }),
    ...(body.image === undefined ? {} : { image: body.image }),
    ...(body.domain === undefined ? {} : { domain: body.domain }),
    ...(body.working_dir === undefined ? {} : { workingDir: body.working_dir }),
    ...(body.cpus === undefined ? {} : { cpus: body.cpus }),
    ...(body.memory_mb === undefined ? {} : { memoryBytes: body.memory_mb * 1024 * 1024 }),
    ...(body.time_limit_seconds === undefined ? {} : { timeLimitSeconds: body.time_limit_seconds }),
  };
}

export const jobRoutes = [
  route({
    method: 'post',
    path: '/users/:name/jobs',
    tag: 'jobs',
    summary:
      'Submit a command or notebook job: queued, then run in a container of the compute domain with your workspace (201; 200 when the idempotency key names an earlier job)',
    access: { scope: 'jobs', guard: selfOnly() },
    status: 201,
    response: Job,
    lab: true,
    params: NameParams,
    query: NoQuery,
    body: JobBody,
    async handler({ service, caller, body, res }) {
      const { job, created } = await service.submit(caller!.user, {
        ...definitionOf(body),
        ...(body.parameters === undefined ? {} : { parameters: body.parameters }),
        ...(body.idempotency_key === undefined ? {} : { idempotencyKey: body.idempotency_key }),
      });
      const answer = jobJson(job);
      if (!created) {
        // The same answer as the first time (checked there), with 200: nothing new was made.
        res.status(200).json(answer);
        return undefined as never;
      }
      return answer;
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/jobs/sweeps',
    tag: 'jobs',
    summary:
      'Submit a parameter sweep: one job per parameter set from one definition, all queued or none',
    access: { scope: 'jobs', guard: selfOnly() },
    status: 201,
    response: SweepAnswer,
    lab: true,
    params: NameParams,
    query: NoQuery,
    body: SweepBody,
    async handler({ service, caller, body }) {
      const { sweepId, jobs } = await service.sweep(
        caller!.user,
        definitionOf(body),
        body.parameter_sets,
      );
      return { sweep_id: sweepId, jobs: jobs.map((job) => jobJson(job)) };
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/jobs',
    tag: 'jobs',
    summary: 'Your jobs, newest first, with queued jobs’ places in the queue',
    access: { scope: 'read:jobs', guard: selfOnly() },
    response: JobList,
    lab: true,
    params: NameParams,
    query: JobListQuery,
    async handler({ service, caller, query }) {
      const jobs = await service.list(caller!.user.id, {
        ...(query.status ? { status: query.status } : {}),
        limit: query.limit ?? 100,
        offset: query.offset ?? 0,
      });
      return { jobs: jobs.map((job) => jobJson(job)) };
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/jobs/:id',
    tag: 'jobs',
    summary: 'One of your jobs: its status, and why it failed if it did',
    access: { scope: 'read:jobs', guard: selfOnly() },
    response: Job,
    lab: true,
    params: JobParams,
    query: NoQuery,
    async handler({ service, caller, params }) {
      return jobJson(await service.get(caller!.user.id, params.id));
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/jobs/:id/cancel',
    tag: 'jobs',
    summary: 'Cancel a queued or running job (a running one is killed; 409 once it has ended)',
    access: { scope: 'jobs', guard: selfOnly() },
    response: Job,
    lab: true,
    params: JobParams,
    query: NoQuery,
    async handler({ service, caller, params }) {
      return jobJson(await service.cancel(caller!.user.id, params.id));
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/jobs/:id/resubmit',
    tag: 'jobs',
    summary: 'Queue a new job from an ended job’s definition',
    access: { scope: 'jobs', guard: selfOnly() },
    status: 201,
    response: Job,
    lab: true,
    params: JobParams,
    query: NoQuery,
    async handler({ service, caller, params }) {
      return jobJson(await service.resubmit(caller!.user, params.id));
    },
  }),
  route({
    method: 'get',
    path: '/users/:name/jobs/:id/logs',
    tag: 'jobs',
    summary:
      'A job’s standard output and error after the given byte offsets, and the offsets to follow it with (the last MiB of each is kept once it ended)',
    access: { scope: 'read:jobs', guard: selfOnly() },
    response: JobLogs,
    lab: true,
    params: JobParams,
    query: JobLogsQuery,
    async handler({ service, caller, params, query }) {
      return service.logs(caller!.user.id, params.id, {
        stdout: query.stdout_offset ?? 0,
        stderr: query.stderr_offset ?? 0,
      });
    },
  }),
];
