/**
 * The Run-as-job dialog's rules, without DOM: what it is prefilled with (this server's image
 * and domain, the notebook's folder, the parameters cell, the compute limits) and the request
 * its values make. Errors are 400 `HubError`s saying which field is wrong.
 */
import { HubError } from '../api.js';
import type {
  IComputeInfo,
  INotebookJobRequest,
  INotebookSweepRequest,
  IServerInfo,
} from '../tokens.js';
import {
  assignmentsText,
  changedParameters,
  type IAssignment,
  readAssignments,
} from './parameters.js';
import { folderOf, type IWorkspaceMapping, workspacePathOf } from './paths.js';
import { readSweep } from './sweep.js';

const MiB = 1024 * 1024;

/** What the dialog starts from. */
export interface IRunJobDefaults {
  /** The notebook, relative to the workspace. */
  notebook: string;
  domains: string[];
  images: string[];
  values: IRunJobValues;
  /** The assignments of the notebook's `parameters` cell. */
  cellParameters: IAssignment[];
  /** Whether the notebook has a cell tagged `parameters`. */
  hasParameterCell: boolean;
  /** The largest CPUs and memory a job may ask for (a server's). */
  maxCpus: number;
  maxMemoryMb: number;
}

/** The dialog's fields, as typed. Numbers left empty take the hub's defaults. */
export interface IRunJobValues {
  domain: string;
  image: string;
  workingDir: string;
  parameters: string;
  cpus: string;
  memoryMb: string;
  timeLimitMinutes: string;
  /** Parameter sets, one job each (sweep.ts); empty: one job. */
  sweep: string;
}

/** What the dialog submits: one job, or a sweep of jobs. */
export type RunRequest = { job: INotebookJobRequest } | { sweep: INotebookSweepRequest };

const invalid = (message: string) => new HubError(400, 'invalid_input', message);

export function runJobDefaults(options: {
  browserPath: string;
  mapping: IWorkspaceMapping;
  compute: IComputeInfo;
  /** This server, if the lab is a hub server (its image and domain come first). */
  server: Pick<IServerInfo, 'image' | 'domain'> | null;
  /** The source of the notebook's cell tagged `parameters`, or null. */
  parameterCell: string | null;
}): IRunJobDefaults {
  const { browserPath, mapping, compute, server, parameterCell } = options;
  if (!browserPath.endsWith('.ipynb')) {
    throw invalid(`Only notebooks (.ipynb) run as jobs: ${browserPath}`);
  }
  const notebook = workspacePathOf(browserPath, mapping);
  if (notebook === null || notebook === '') {
    throw invalid(
      `${browserPath} is not in your workspace; jobs see only the workspace. Copy it there first.`,
    );
  }
  const domains = compute.domains.map((d) => d.name);
  const images = [...compute.images];
  // This server's image and domain first, even if the offer no longer lists them (the hub decides).
  const domain = server && domains.includes(server.domain) ? server.domain : (domains[0] ?? '');
  const image = server && images.includes(server.image) ? server.image : (images[0] ?? '');
  const cellParameters = parameterCell === null ? [] : readAssignments(parameterCell);
  const maxMemoryMb = Math.floor(compute.limits.memory_bytes / MiB);
  return {
    notebook,
    domains,
    images,
    cellParameters,
    hasParameterCell: parameterCell !== null,
    maxCpus: compute.limits.cpus,
    maxMemoryMb,
    values: {
      domain,
      image,
      workingDir: folderOf(notebook),
      parameters: assignmentsText(cellParameters),
      cpus: compute.limits.cpus > 0 ? String(compute.limits.cpus) : '',
      memoryMb: maxMemoryMb > 0 ? String(maxMemoryMb) : '',
      timeLimitMinutes: '',
      sweep: '',
    },
  };
}

function numberField(
  label: string,
  text: string,
  options: { integer?: boolean; min: number; max?: number },
): number | undefined {
  const t = text.trim();
  if (!t) {
    return undefined;
  }
  const n = Number(t);
  if (!Number.isFinite(n) || (options.integer && !Number.isInteger(n)) || n < options.min) {
    throw invalid(
      `${label} must be ${options.integer ? 'a whole number' : 'a number'} of at least ${options.min}.`,
    );
  }
  if (options.max !== undefined && options.max > 0 && n > options.max) {
    throw invalid(`${label} may be at most ${options.max}.`);
  }
  return n;
}

/** The request the dialog's values make; throws a 400 `HubError` naming a wrong field. */
export function runJobRequest(
  defaults: IRunJobDefaults,
  values: IRunJobValues,
  idempotencyKey: string,
): INotebookJobRequest {
  const workingDir = values.workingDir.trim().replace(/^\/+|\/+$/g, '');
  if (workingDir.split('/').includes('..')) {
    throw invalid('The working folder must stay inside your workspace (no "..").');
  }
  const parameters = changedParameters(values.parameters, defaults.cellParameters);
  const cpus = numberField('CPUs', values.cpus, { min: 0.01, max: defaults.maxCpus });
  const memory = numberField('Memory (MiB)', values.memoryMb, {
    integer: true,
    min: 6,
    max: defaults.maxMemoryMb,
  });
  const minutes = numberField('The time limit (minutes)', values.timeLimitMinutes, { min: 1 });
  return {
    notebook: defaults.notebook,
    ...(Object.keys(parameters).length ? { parameters } : {}),
    ...(values.image ? { image: values.image } : {}),
    ...(values.domain ? { domain: values.domain } : {}),
    working_dir: workingDir,
    ...(cpus !== undefined ? { cpus } : {}),
    ...(memory !== undefined ? { memory_mb: memory } : {}),
    ...(minutes !== undefined ? { time_limit_seconds: Math.round(minutes * 60) } : {}),
    idempotency_key: idempotencyKey,
  };
}

/**
 * The request the dialog's values make: one job, or with a Sweep a job per parameter set, each
 * set on top of the changed Parameters (a set's value wins). A sweep has no idempotency key.
 */
export function runRequest(
  defaults: IRunJobDefaults,
  values: IRunJobValues,
  idempotencyKey: string,
): RunRequest {
  const job = runJobRequest(defaults, values, idempotencyKey);
  const sets = readSweep(values.sweep);
  if (sets === null) {
    return { job };
  }
  const { parameters, idempotency_key: _key, ...definition } = job;
  return {
    sweep: { ...definition, parameter_sets: sets.map((set) => ({ ...parameters, ...set })) },
  };
}
