/**
 * Pure translation of a job into Docker's container-create body, hardened as the spawner
 * hardens servers (spawner/src/containerSpec.ts): not privileged, every capability dropped,
 * no-new-privileges, the servers' non-root user, memory without extra swap, CPU and pids
 * limits, and the user's workspace and volume view mounted exactly as their servers have them
 * (the spawner's own `serverMounts`). No network: a job reaches nothing (docs/jobs.md).
 */
import path from 'node:path';
import {
  defaultContainerSpecOptions,
  LABELS,
  serverMounts,
  VOLUMES_LINK_SCRIPT,
} from '@orrery/spawner';
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

/** A notebook job's executed notebook: `jobs/<id>/<the input's file name>`. */
export const outputNotebookOf = (id: number, notebook: string) =>
  `${outputFolder(id)}/${path.posix.basename(notebook)}`;

/** The line a notebook job's runner writes last on stderr when the notebook failed. */
export const FAILURE_MARKER = 'orrery-job-failure: ';

/**
 * The notebook runner, run by the image's `python` with everything job-dependent in the
 * environment (never in a command line): papermill executes the notebook with the parameters
 * (JSON, also saved as `parameters.json` beside the output), cells' output streams to the job's
 * stdout and stderr, and a failure ends with one FAILURE_MARKER line naming the cell and the
 * exception, which the dispatcher turns into the job's `failure` and `message`.
 */
export const NOTEBOOK_RUNNER = `
import json, os, sys
def fail(kind, message):
    sys.stderr.write(${JSON.stringify(FAILURE_MARKER)} + json.dumps({"failure": kind, "message": message[:2000]}) + "\\n")
    sys.stderr.flush()
    sys.exit(1)
source = os.environ["ORRERY_JOB_NOTEBOOK"]
label = os.environ["ORRERY_JOB_NOTEBOOK_LABEL"]
parameters = json.loads(os.environ.get("ORRERY_JOB_PARAMETERS") or "{}")
with open(os.path.join(os.environ["ORRERY_JOB_OUTPUT"], "parameters.json"), "w") as f:
    json.dump(parameters, f, indent=2)
if not os.path.isfile(source):
    fail("notebook_error", "The notebook " + label + " is not in your workspace")
try:
    import papermill
    from papermill.exceptions import PapermillExecutionError
except ImportError:
    fail("notebook_error", "The image has no papermill: notebook jobs need an image with it")
try:
    papermill.execute_notebook(source, os.environ["ORRERY_JOB_OUTPUT_NOTEBOOK"],
        parameters=parameters, cwd=os.getcwd(), progress_bar=False, log_output=False,
        stdout_file=sys.stdout, stderr_file=sys.stderr)
except PapermillExecutionError as e:
    fail("cell_error", "Cell [%s] raised %s: %s" % (e.exec_count, e.ename, e.evalue))
except Exception as e:
    fail("notebook_error", "The notebook could not be run: %s: %s" % (type(e).__name__, e))
`;

/**
 * The container's command; constant, since every job-dependent value arrives through the
 * environment and the user's command is run by a shell of its own (as `sh -c` would in a
 * terminal). The output folder is made first; stdout and stderr go both to Docker's log (which
 * the hub reads) and to `stdout.txt`/`stderr.txt` in the output folder (through tee, from fifos
 * outside the workspace); the volume link is made as a server makes it; then the working folder.
 */
export const JOB_SCRIPT = [
  'mkdir -p "$ORRERY_JOB_OUTPUT" || exit 125',
  'pipes=$(mktemp -d) && mkfifo "$pipes/out" "$pipes/err" || exit 125',
  'tee "$ORRERY_JOB_OUTPUT/stdout.txt" < "$pipes/out" & out=$!',
  'tee "$ORRERY_JOB_OUTPUT/stderr.txt" < "$pipes/err" >&2 & err=$!',
  `( ${VOLUMES_LINK_SCRIPT}; cd "$ORRERY_JOB_CWD" || exit 2;` +
    ' if [ "$ORRERY_JOB_KIND" = notebook ]; then exec python -c "$ORRERY_JOB_RUNNER";' +
    ' else exec sh -c "$ORRERY_JOB_COMMAND"; fi ) > "$pipes/out" 2> "$pipes/err"',
  'status=$?',
  'wait "$out" "$err"',
  'rm -rf "$pipes"',
  'exit "$status"',
].join('\n');

/** Threads and processes a job may have (fork-bomb guard), as a server has by default. */
export const JOB_PIDS = 512;

/** Names of parameters: Python identifiers and environment names alike (ASCII). */
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A working folder is relative to the workspace and stays inside it. */
export function checkWorkingDir(dir: string): string | null {
  if (dir === '') return '';
  const normal = path.posix.normalize(dir);
  if (dir.startsWith('/') || normal.startsWith('..') || normal.includes('\0')) return null;
  return normal.replace(/\/$/, '');
}

/** A notebook is a `.ipynb` file of the workspace, relative to it and inside it. */
export function checkNotebookPath(file: string): string | null {
  const normal = checkWorkingDir(file);
  if (!normal || normal === '.' || !normal.endsWith('.ipynb') || normal.includes('\n')) {
    return null;
  }
  return normal;
}

/** A sweep command job's parameter as an environment value: strings as they are, else JSON. */
export const parameterValue = (value: unknown) =>
  typeof value === 'string' ? value : JSON.stringify(value);

/** Where the job's container finds the user's files: what their servers mount. */
export interface JobMounts {
  /** The named workspace volume (used when there is no Storage folder). */
  workspaceVolume: string;
  /** The user's Storage `persistent` folder on the host, bound at the workspace path. */
  workspaceHostPath?: string;
  /** The user's volume view folder on the host, bound at /home/jovyan/volumes (rslave). */
  volumesViewHostPath?: string;
  /** Host folders a bind may come from (the root volumes' and the views'). */
  bindRoots: string[];
}

export function buildJobSpec(
  job: JobRecord,
  options: { name: string; deployment: string; owner: string } & JobMounts,
): ContainerCreateOptions {
  const { workspacePath: workspace, volumesPath } = defaultContainerSpecOptions;
  const cwd = checkWorkingDir(job.workingDir);
  if (cwd === null) throw new TypeError(`working folder ${job.workingDir} leaves the workspace`);
  const env = [
    `ORRERY_JOB_ID=${job.id}`,
    `ORRERY_JOB_KIND=${job.kind}`,
    `ORRERY_JOB_CWD=${cwd ? `${workspace}/${cwd}` : workspace}`,
    `ORRERY_JOB_OUTPUT=${workspace}/${outputFolder(job.id)}`,
    `ORRERY_WORKSPACE=${workspace}`,
  ];
  if (job.kind === 'notebook') {
    const notebook = job.notebook === null ? null : checkNotebookPath(job.notebook);
    if (notebook === null) throw new TypeError(`notebook ${job.notebook} is not in the workspace`);
    env.push(
      `ORRERY_JOB_NOTEBOOK=${workspace}/${notebook}`,
      `ORRERY_JOB_NOTEBOOK_LABEL=${notebook}`,
      `ORRERY_JOB_OUTPUT_NOTEBOOK=${workspace}/${outputNotebookOf(job.id, notebook)}`,
      `ORRERY_JOB_PARAMETERS=${JSON.stringify(job.parameters ?? {})}`,
      `ORRERY_JOB_RUNNER=${NOTEBOOK_RUNNER}`,
    );
  } else {
    env.push(`ORRERY_JOB_COMMAND=${job.command}`);
    for (const [name, value] of Object.entries(job.parameters ?? {})) {
      if (!PARAMETER_NAME.test(name)) throw new TypeError(`parameter name ${name}`);
      env.push(`ORRERY_PARAM_${name}=${parameterValue(value)}`);
    }
  }
  const mounts = serverMounts(
    {
      workspaceVolume: options.workspaceVolume,
      ...(options.workspaceHostPath ? { workspaceHostPath: options.workspaceHostPath } : {}),
      ...(options.volumesViewHostPath ? { volumesViewHostPath: options.volumesViewHostPath } : {}),
    },
    workspace,
    { bindRoots: options.bindRoots, volumesPath },
  );
  if (options.volumesViewHostPath) {
    env.push(`ORRERY_VOLUMES_LINK=${path.posix.relative(workspace, volumesPath)}`);
  }
  return {
    name: options.name,
    Image: job.image,
    Cmd: ['sh', '-c', JOB_SCRIPT],
    Env: env,
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
      Mounts: mounts,
      NetworkMode: 'none',
      RestartPolicy: { Name: 'no' },
    },
  };
}
