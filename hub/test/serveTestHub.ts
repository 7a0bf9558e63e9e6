/**
 * A real hub on a fresh database for tests written in other languages (the `orrery` Python
 * client's pytest suite). Registers the users named on the command line, gives each a token
 * with exactly the scopes a server's own token has, prints one JSON line
 * `{"url", "users": {name: token}}`, and stops (dropping its database) when stdin closes.
 *
 *   node --import tsx hub/test/serveTestHub.ts alice bob
 *
 * With ORRERY_TEST_JOBS_IMAGE set (an image on the local Docker daemon), the hub also has a
 * Docker compute domain `docker` offering that image, where batch jobs run; the JSON line then
 * names it as `jobs: {domain, image}` (else `jobs: null`). Its job containers are removed at
 * the end.
 */
import { dockerAvailable } from '@orrery/spawner';
import { domain } from '../src/compute/domainConfig.ts';
import { SERVER_TOKEN_SCOPES } from '../src/routes.ts';
import { deploymentOf, removeDeployment } from './compute/support.ts';
import { signUp, startTestHub, testConfig } from './support.ts';

const names = process.argv.slice(2);
const jobsImage = process.env.ORRERY_TEST_JOBS_IMAGE;
const jobs = jobsImage && (await dockerAvailable()) ? { domain: 'docker', image: jobsImage } : null;
const base = testConfig('').compute;
const hub = await startTestHub(
  'pyclient',
  jobs
    ? {
        compute: {
          domains: [...base.domains, domain('docker', 'docker')],
          images: [...new Set([...base.images, jobs.image])],
        },
      }
    : {},
);
const users: Record<string, string> = {};
for (const name of names) {
  const client = await signUp(hub.url, name);
  const minted = await client.post(`/hub/api/users/${name}/tokens`, {
    note: 'python client tests',
    scopes: SERVER_TOKEN_SCOPES,
  });
  if (minted.status !== 201) throw new Error(`token for ${name}: ${minted.status} ${minted.text}`);
  users[name] = minted.json.token;
}
process.stdout.write(`${JSON.stringify({ url: hub.url, users, jobs })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const names = jobs
    ? await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix)
    : null;
  await hub.stop();
  if (names) await removeDeployment(names);
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.on('SIGTERM', stop);
process.stdin.resume();
