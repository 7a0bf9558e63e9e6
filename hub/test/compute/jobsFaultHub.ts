/**
 * A hub with a job dispatcher in a process of its own, for the fault tests to kill with
 * SIGKILL (jobsFault.test.ts; jobsSwarm.test.ts with `backend: "swarm"`), through
 * `KillableHub` (support.ts). Its one compute domain is named after its backend. Prints one
 * JSON line `{"url"}` once it listens.
 *
 *   node --import tsx hub/test/compute/jobsFaultHub.ts <json options>
 */
import { domain } from '../../src/compute/domainConfig.ts';
import { defaultRootVolumes } from '../../src/files/config.ts';
import { createLogger } from '../../src/log.ts';
import { startHub } from '../../src/server.ts';
import { testConfig } from '../support.ts';

export interface FaultHubOptions {
  databaseUrl: string;
  secretKey: string;
  stateDir: string;
  prefix: string;
  image: string;
  /** Jobs running at once in the domain (and per user). */
  slots: number;
  /** The domain's backend (and name): default docker. */
  backend?: 'docker' | 'swarm';
}

const options: FaultHubOptions = JSON.parse(process.argv[2] ?? 'null');
if (!options) throw new Error('usage: jobsFaultHub.ts <json options>');
const backend = options.backend ?? 'docker';
const base = testConfig(options.databaseUrl, {
  secretKey: options.secretKey,
  compute: {
    domains: [domain(backend, backend)],
    namePrefix: options.prefix,
    images: [options.image],
  },
});
const running = await startHub(
  {
    ...base,
    stateDir: options.stateDir,
    files: { ...base.files, rootVolumes: defaultRootVolumes(options.stateDir) },
    // Only one dispatcher is ever alive here (the last one was killed before this started),
    // so a second of silence safely means "dead".
    jobs: {
      ...base.jobs,
      pollMs: 200,
      staleSeconds: 1,
      domains: {
        [backend]: { maxRunning: options.slots, maxRunningPerUser: options.slots, maxSeconds: 600 },
      },
    },
  },
  createLogger('warn'),
);
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
