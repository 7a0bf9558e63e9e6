/**
 * A stock JupyterHub single-user server on Orrery, in real Docker: the image of
 * images/singleuser (`jupyterhub-singleuser` from PyPI on the compute image) starts, signs alice
 * in through the hub's OAuth endpoints (authorize with her hub session, code for a token,
 * `/hub/api/user`) and serves JupyterLab and its API through the proxy with no token prompt;
 * bob is refused, and alice's OAuth token reaches nothing else. The same run shows the compute
 * image's configuration starting cleanly under jupyterhub-singleuser.
 * In CI (CI=true) a missing Docker daemon or image fails these tests instead of skipping them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dockerAvailable } from '@orrery/spawner';
import { domain } from '../../src/compute/domainConfig.ts';
import { Client, signUp, startTestHub, type TestHub } from '../support.ts';
import { deploymentOf, readProgress, removeDeployment } from './support.ts';

const run = promisify(execFile);
const IMAGE = process.env.ORRERY_SINGLEUSER_TAG ?? 'orrery/lab-singleuser:latest';
const LAB = process.env.ORRERY_LAB_TAG ?? 'orrery/lab:latest';
const available = await dockerAvailable();
const haveImage =
  available &&
  (await run('docker', ['image', 'inspect', IMAGE]).then(
    () => true,
    () => false,
  ));
if (!haveImage && process.env.CI === 'true')
  throw new Error(`Docker and ${IMAGE} are required in CI: run images/build.sh`);
const skip = haveImage ? false : `no Docker daemon or no ${IMAGE} (images/build.sh builds it)`;

let hub: TestHub;
let alice: Client;
let bob: Client;
let names: Awaited<ReturnType<typeof deploymentOf>> | undefined;

before(async () => {
  if (skip) return;
  hub = await startTestHub('singleuser', {
    compute: {
      domains: [domain('local', 'docker')],
      images: [LAB, IMAGE],
      singleuserImages: [IMAGE],
    },
  });
  names = await deploymentOf(hub.databaseUrl, hub.hub.config.compute.namePrefix);
  alice = await signUp(hub.url, 'alice');
  bob = await signUp(hub.url, 'bob');
});

after(async () => {
  if (skip) return;
  try {
    if (hub?.logLines.length) console.error(`hub warnings:\n${hub.logLines.join('')}`);
    await hub?.stop();
  } finally {
    if (names) await removeDeployment(names);
  }
});

/**
 * GET `path` as a browser would, following redirects on the hub's origin; returns every hop
 * (the path asked and the status) and the last answer.
 */
async function browse(client: Client, path: string) {
  const hops: string[] = [];
  let at = path;
  for (let i = 0; i < 10; i++) {
    const res = await client.request('GET', at, undefined, { accept: 'text/html' });
    hops.push(`${res.status} ${at}`);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { hops, res };
    const next = new URL(location, `${hub.url}${at}`);
    assert.equal(next.origin, new URL(hub.url).origin, `a redirect off the hub: ${location}`);
    at = next.pathname + next.search;
  }
  throw new Error(`too many redirects: ${hops.join(' → ')}`);
}

test('jupyterhub-singleuser: alice signs in through the hub’s OAuth, no token prompt; bob is refused', {
  skip,
  timeout: 300_000,
}, async () => {
  const started = await alice.post('/hub/api/users/alice/server', { image: IMAGE });
  assert.equal(started.status, 202, started.text);
  const events = await readProgress(hub.url, started.json.progress_url, alice.authHeaders());
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));

  // Her browser, signed in to the hub (a client of its own: this one keeps cookies by name,
  // not by path, and the server sets an _xsrf cookie of its own under /user/alice/).
  const browser = new Client(hub.url);
  const login = await browser.post('/hub/api/login', {
    username: 'alice',
    password: 'correct horse',
  });
  assert.equal(login.status, 200, login.text);
  // The server sends her browser to the hub, the hub back with a code, the server trades it.
  const { hops, res } = await browse(browser, '/user/alice/');
  const trail = hops.join(' → ');
  assert.ok(
    hops.some((hop) => hop.startsWith('302 /hub/api/oauth2/authorize?')),
    `through the hub's authorize endpoint: ${trail}`,
  );
  assert.ok(
    hops.some((hop) => hop.startsWith('302 /user/alice/oauth_callback?code=')),
    `back to the server's callback with a code: ${trail}`,
  );
  assert.equal(res.status, 200, `${trail}\n${res.text.slice(0, 300)}`);
  assert.match(hops.at(-1)!, /^200 \/user\/alice\/lab/, trail);
  assert.doesNotMatch(
    res.text,
    /name="password"|Token authentication is enabled/i,
    'no token prompt',
  );
  // JupyterLab's page carries the OAuth token it sends with every API call.
  const pageConfig =
    /<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(res.text);
  assert.ok(pageConfig, 'JupyterLab’s page');
  const config = JSON.parse(pageConfig[1]!);
  assert.equal(config.hubUser, 'alice');
  assert.equal(config.hubServerUser, 'alice');
  const token: string = config.token;
  assert.match(token, /^orr_/, 'an access token of the hub’s');

  // JupyterLab's API with that token, as JupyterLab calls it, and with the server's cookie.
  const lab = new Client(hub.url, token);
  const saved = await lab.request('PUT', '/user/alice/api/contents/notes.txt', {
    type: 'file',
    format: 'text',
    content: 'M31 tonight',
  });
  assert.equal(saved.status, 201, saved.text);
  const listed = await browser.get('/user/alice/api/contents');
  assert.equal(listed.status, 200, listed.text);
  assert.ok(listed.json.content.some((item: { name: string }) => item.name === 'notes.txt'));

  // The token is for this server: the hub tells the server so, and answers nothing else.
  const me = await lab.get('/hub/api/user');
  assert.equal(me.status, 200, me.text);
  assert.deepEqual(me.json.scopes, ['access:servers!server=alice/']);
  assert.equal(me.json.name, 'alice');
  assert.equal((await lab.get('/hub/api/users/alice')).status, 403);
  assert.equal((await lab.get('/hub/api/users/alice/tokens')).status, 403);
  assert.equal((await lab.get('/user/bob/api/status')).status, 403);

  // Bob: refused by the proxy, by the hub's authorize, and with his own token at the server.
  const bobs = await browse(bob, '/user/alice/');
  assert.equal(bobs.res.status, 403, bobs.hops.join(' → '));
  const bobAuthorize = await bob.get(
    `/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&response_type=code&redirect_uri=${encodeURIComponent('/user/alice/oauth_callback')}`,
  );
  assert.equal(bobAuthorize.status, 403, bobAuthorize.text);
  assert.equal((await bob.get('/user/alice/api/contents')).status, 403);
  const anonymous = await new Client(hub.url).get('/user/alice/api/contents');
  assert.equal(anonymous.status, 401);

  const stopped = await alice.delete('/hub/api/users/alice/server');
  assert.equal(stopped.status, 204, stopped.text);
  // Its users' OAuth tokens end with the server.
  assert.equal((await lab.get('/hub/api/user')).status, 403);
});
