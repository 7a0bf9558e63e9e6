/**
 * The jobs' delivery guarantee under faults (docs/jobs.md, "Nothing is lost"): a hub running
 * the dispatcher is killed with SIGKILL at random moments while 200 jobs run, and restarted
 * each time. In the end every job succeeded, each has exactly one recorded outcome (a trigger
 * of this test's database logs every status change), and each job's command ran once: every
 * job appends its id to one file of the workspace, and each id is there exactly once.
 * Then the case the random kills rarely hit, made on purpose: a job re-queued as a lost start
 * whose container a dead hub did create after all is adopted by name, not run a second time.
 * Real Docker, real PostgreSQL; no timed assertions (waits have generous bounds only).
 * In CI (CI=true) a missing Docker daemon fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import pg from 'pg';
import { defaultRootVolumes } from '../../src/files/config.ts';
import { volumeFolder } from '../../src/files/disk.ts';
import { buildJobSpec } from '../../src/jobs/jobSpec.ts';
import { type Client, createTestDatabase, signUp } from '../support.ts';
import { deploymentOf, KillableHub, waitFor } from './support.ts';

const run = promisify(execFile);
const available = await dockerAvailable();
if (!available && process.env.CI === 'true')
  throw new Error('Docker is required in CI: run scripts/provision-docker.sh');
const skip = available ? false : 'no Docker daemon answers (CI=true makes this a failure)';

const IMAGE = 'orrery/lab:latest';
const JOBS = Number(process.env.ORRERY_FAULT_JOBS ?? 200);
const SLOTS = 8;
/** Kills while jobs remain; after the last one the hub runs the rest undisturbed. */
const KILLS = Number(process.env.ORRERY_FAULT_KILLS ?? 12);
const WORKSPACE = '/home/jovyan/work';
const prefix = `orrery-test-${randomBytes(3).toString('hex')}-`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: pg.Pool;
let hub: KillableHub;
let alice: Client;

const openJobs = async () =>
  (await db.query(`SELECT count(*)::int AS n FROM jobs WHERE status IN ('queued', 'running')`))
    .rows[0].n as number;

const jobContainers = async () =>
  (
    await run('docker', ['ps', '-a', '--filter', `name=^${prefix}`, '--format', '{{.Names}}'])
  ).stdout
    .split('\n')
    .filter((n) => n.includes('-job-'));

async function submit(command: string): Promise<number> {
  const res = await alice.post('/hub/api/users/alice/jobs', { command, image: IMAGE });
  assert.equal(res.status, 201, res.text);
  return res.json.id;
}

async function ended(id: number) {
  // biome-ignore lint/suspicious/noExplicitAny: the job's row as the test reads it
  let job: any;
  await waitFor(`job ${id} to end`, 300_000, async () => {
    job = (await db.query('SELECT * FROM jobs WHERE id = $1', [id])).rows[0];
    return !['queued', 'running'].includes(job.status);
  });
  return job;
}

/** The lines of a workspace file, read by a job of its own (its stdout). */
async function readWorkspaceFile(file: string): Promise<string[]> {
  const id = await submit(`cat ${WORKSPACE}/${file}`);
  const job = await ended(id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  return (job.stdout as string).split('\n').filter(Boolean);
}

before(async () => {
  if (skip) return;
  database = await createTestDatabase('jobs_fault');
  db = new pg.Pool({ connectionString: database.url, max: 2 });
  hub = new KillableHub({ databaseUrl: database.url, prefix, image: IMAGE, slots: SLOTS });
  await hub.start();
  // Every status change of every job, as the database saw it: the outcomes are counted here.
  await db.query(`
    CREATE TABLE test_job_changes (job_id bigint, from_status text, to_status text);
    CREATE FUNCTION test_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
          INSERT INTO test_job_changes VALUES (NEW.id, OLD.status, NEW.status);
        END IF;
        RETURN NEW;
      END $$;
    CREATE TRIGGER test_job_change AFTER UPDATE ON jobs
      FOR EACH ROW EXECUTE FUNCTION test_job_change();`);
  alice = await signUp(hub.url, 'alice');
});

after(async () => {
  if (skip) return;
  await hub.kill();
  await db?.end();
  await hub.removeLeftovers();
  await database.drop();
});

test(`SIGKILL of the dispatcher's hub while ${JOBS} jobs run: each completes, is recorded once, runs once`, {
  skip,
}, async () => {
  const submitted: number[] = [];
  // Each job's one visible effect: its id appended to one shared file of the workspace.
  for (let i = 0; i < JOBS; i++)
    submitted.push(await submit(`echo "$ORRERY_JOB_ID" >> ${WORKSPACE}/fault-lines.txt; sleep 1`));
  let kills = 0;
  const moments: number[] = [];
  while (kills < KILLS && (await openJobs()) > 0) {
    // A random moment: anywhere from the hub's first dispatch round to several rounds in.
    const delay = Math.floor(Math.random() * 3000);
    moments.push(delay);
    await new Promise((resolve) => setTimeout(resolve, delay));
    await hub.kill();
    kills++;
    await hub.start();
  }
  await waitFor('every job to end', 900_000, async () => (await openJobs()) === 0);
  alice = await hub.signIn('alice');
  await waitFor('ended jobs to leave no container', 120_000, async () => {
    return (await jobContainers()).length === 0;
  });

  const { rows: jobs } = await db.query(
    'SELECT id::int, status, attempts, failure, message FROM jobs WHERE id = ANY($1) ORDER BY id',
    [submitted],
  );
  const notSucceeded = jobs.filter((j) => j.status !== 'succeeded');
  assert.deepEqual(notSucceeded, [], `kills after ${moments.join(', ')} ms`);
  assert.equal(jobs.length, JOBS, 'completed equals submitted');

  // Exactly one outcome each: one change into an ended status, none out of one.
  const { rows: changes } = await db.query(
    `SELECT job_id::int AS id,
            count(*) FILTER (WHERE to_status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))::int AS outcomes,
            count(*) FILTER (WHERE from_status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))::int AS reopened
       FROM test_job_changes WHERE job_id = ANY($1) GROUP BY job_id`,
    [submitted],
  );
  assert.equal(changes.length, JOBS);
  for (const c of changes) {
    assert.equal(c.outcomes, 1, `job ${c.id} recorded ${c.outcomes} outcomes`);
    assert.equal(c.reopened, 0, `job ${c.id} left its outcome`);
  }

  // Run once: each id appears exactly once in the shared file.
  const lines = await readWorkspaceFile('fault-lines.txt');
  const seen = new Map<number, number>();
  for (const line of lines) seen.set(Number(line), (seen.get(Number(line)) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice, [], 'no job ran its command twice');
  assert.deepEqual(
    [...seen.keys()].sort((a, b) => a - b),
    submitted,
    'every job ran its command',
  );
  const requeued = jobs.filter((j) => j.attempts > 1).length;
  console.log(
    `# ${kills} kills (after ${moments.join(', ')} ms); ${requeued} jobs re-queued as lost starts`,
  );
});

test('a re-queued job whose container a dead hub created after all is adopted, not run again', {
  skip,
}, async () => {
  // A job first, so alice has her Storage workspace (jobs mount it, as her servers would).
  assert.equal((await ended(await submit('true'))).status, 'succeeded');
  await hub.kill();
  const names = await deploymentOf(database.url, prefix);
  const storage = defaultRootVolumes(hub.options.stateDir).find((root) => root.name === 'Storage');
  assert.ok(storage);
  const { rows: volume } = await db.query(
    `SELECT v.id, v.owner_id FROM file_volumes v JOIN users u ON u.id = v.owner_id
      WHERE u.name = 'alice' AND v.root = 'Storage' AND v.name = 'persistent'`,
  );
  assert.equal(volume.length, 1, 'alice has her Storage workspace');
  // What a killed hub leaves in the worst order: it claimed the job and sent the create; the
  // next hub saw no container yet and re-queued the job; then Docker created and started it.
  const { rows } = await db.query(
    `INSERT INTO jobs (user_id, command, image, domain, cpus, memory_bytes, time_limit_seconds,
                       status, attempts)
     SELECT id, $1, $2, 'docker', 1, 268435456, 600, 'queued', 1
       FROM users WHERE name = 'alice' RETURNING id::int`,
    [`echo "$ORRERY_JOB_ID" >> ${WORKSPACE}/adopt-lines.txt; echo ran; sleep 2`, IMAGE],
  );
  const id: number = rows[0].id;
  const { rows: user } = await db.query("SELECT safe_name FROM users WHERE name = 'alice'");
  const spec = buildJobSpec(
    {
      id,
      command: `echo "$ORRERY_JOB_ID" >> ${WORKSPACE}/adopt-lines.txt; echo ran; sleep 2`,
      image: IMAGE,
      workingDir: '',
      cpus: 1,
      memoryBytes: 268435456,
    } as Parameters<typeof buildJobSpec>[0],
    {
      name: `${names.resourcePrefix}job-${id}`,
      deployment: names.resourcePrefix,
      owner: 'alice',
      workspaceVolume: `${names.resourcePrefix}${user[0].safe_name}-work`,
      workspaceHostPath: volumeFolder(storage, Number(volume[0].owner_id), volume[0].id),
      bindRoots: [storage.path],
    },
  );
  const { default: Docker } = await import('dockerode');
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await (await docker.createContainer(spec)).start();
  await hub.start();
  alice = await hub.signIn('alice');
  const job = await ended(id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  assert.equal(job.attempts, 2, 'claimed again');
  assert.equal(job.stdout, 'ran\n', 'the adopted container’s output');
  assert.deepEqual(await readWorkspaceFile('adopt-lines.txt'), [String(id)], 'ran once');
});
