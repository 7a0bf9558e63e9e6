/**
 * Docker-side floors and housekeeping of the compute benchmark: a bare container start of the
 * same spec the DockerBackend sends (buildContainerSpec + dockerode, no hub), the "stock"
 * image (orrery/lab with Nagle left on), and the sweep/leak check of everything named
 * `orrery-bench-`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  buildContainerSpec,
  CONTAINER_PORT,
  defaultContainerSpecOptions,
  LABELS,
} from '@orrery/spawner';
import Docker from 'dockerode';
import { untilOk } from './computeLoad.ts';
import { msSince } from './stats.ts';

export const BENCH_PREFIX = 'orrery-bench-';
/** The floor's own deployment label, so the hub's reconcile loop never takes its containers for orphans. */
const FLOOR_DEPLOYMENT = 'orrery-bench-floor';
const FLOOR_VOLUME = `${BENCH_PREFIX}floor-work`;

export const connectLocalDocker = () => new Docker({ socketPath: '/var/run/docker.sock' });

export interface BareServer {
  /** From the create call to Jupyter answering /api/status directly. */
  ms: number;
  stop(): Promise<void>;
}

/**
 * Start `image` exactly as the DockerBackend would for a user (same command, environment keys,
 * limits, network, hardening), then poll its /api/status every 50 ms with the secret.
 */
export async function bareSpawn(
  docker: Docker,
  options: {
    index: number;
    image: string;
    network: string;
    limits: { memoryBytes: number; cpus: number; pids: number };
  },
): Promise<BareServer> {
  const user = { name: `floor${options.index}`, safeName: `floor${options.index}` };
  const baseUrl = `/user/${user.safeName}/s/`;
  const secret = randomBytes(32).toString('base64url');
  const spec = buildContainerSpec(
    {
      user,
      serverName: 's',
      image: options.image,
      // The keys the hub sends (orchestrator.serverEnvironment), with harmless values.
      env: {
        ORRERY_HUB_URL: 'http://127.0.0.1:1',
        ORRERY_API_TOKEN: 'unused',
        JUPYTERHUB_USER: user.name,
        JUPYTERHUB_SERVER_NAME: 's',
        JUPYTERHUB_BASE_URL: '/',
        JUPYTERHUB_SERVICE_PREFIX: baseUrl,
        JUPYTERHUB_HOST: '',
        JUPYTERHUB_API_URL: 'http://127.0.0.1:1/hub/api',
      },
      workspaceVolume: FLOOR_VOLUME,
      limits: options.limits,
      baseUrl,
      authSecret: secret,
    },
    {
      ...defaultContainerSpecOptions,
      namePrefix: `${BENCH_PREFIX}floor-`,
      deployment: FLOOR_DEPLOYMENT,
      network: options.network,
    },
  );
  const started = process.hrtime.bigint();
  const container = await docker.createContainer(spec);
  const stop = async () => {
    await container.remove({ force: true, v: false }).catch(() => {});
  };
  try {
    await container.start();
    const info = await container.inspect();
    const port = info.NetworkSettings.Ports?.[`${CONTAINER_PORT}/tcp`]?.[0]?.HostPort;
    if (!port) throw new Error('the floor container has no published port');
    await untilOk(
      `http://127.0.0.1:${port}${baseUrl}api/status`,
      { authorization: `token ${secret}` },
      120_000,
    );
    return { ms: msSince(started), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args[0]}: ${output}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/**
 * `<tag>`: `image` with ORRERY_WS_NODELAY=0 baked in, i.e. stock Jupyter websockets (Nagle on).
 * The hub's API takes no environment, so the stock server is a second allowed image.
 */
export async function buildStockImage(image: string, tag: string): Promise<void> {
  await run(
    'docker',
    ['build', '--quiet', '-t', tag, '-'],
    `FROM ${image}\nENV ORRERY_WS_NODELAY=0\nLABEL ${LABELS.managed}=bench\n`,
  );
}

/** Names of containers and volumes called `orrery-bench-*` (the leak check). */
export async function benchLeftovers(docker: Docker): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { name: [BENCH_PREFIX] } });
  const { Volumes } = await docker.listVolumes({ filters: { name: [BENCH_PREFIX] } });
  return [
    ...containers
      .map((info) => (info.Names[0] ?? '').replace(/^\//, ''))
      .filter((name) => name.startsWith(BENCH_PREFIX)),
    ...(Volumes ?? []).map((volume) => volume.Name).filter((name) => name.startsWith(BENCH_PREFIX)),
  ];
}

/** Remove every `orrery-bench-*` container, then volume, and the stock image tag. */
export async function sweep(docker: Docker, stockTag?: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { name: [BENCH_PREFIX] } });
  await Promise.all(
    containers
      .filter((info) => (info.Names[0] ?? '').startsWith(`/${BENCH_PREFIX}`))
      .map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
  );
  const { Volumes } = await docker.listVolumes({ filters: { name: [BENCH_PREFIX] } });
  for (const volume of Volumes ?? []) {
    if (volume.Name.startsWith(BENCH_PREFIX))
      await docker
        .getVolume(volume.Name)
        .remove()
        .catch(() => {});
  }
  if (stockTag)
    await docker
      .getImage(stockTag)
      .remove()
      .catch(() => {});
}
