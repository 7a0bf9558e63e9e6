/** SwarmBackend on a one-node swarm made from the local daemon (left again afterwards). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SwarmBackend } from '../src/swarm/backend.ts';
import { buildServiceSpec } from '../src/swarm/serviceSpec.ts';
import type { SpawnRequest } from '../src/types.ts';
import {
  docker,
  httpStatus,
  LAB_IMAGE,
  lockDockerTests,
  requireDocker,
  SECRET,
  sweep,
  TEST_PREFIX,
  waitForHttp,
} from './helpers.ts';

const request: SpawnRequest = {
  user: { name: 'swarmy', safeName: 'swarmy' },
  serverName: 'svc',
  image: LAB_IMAGE,
  env: {},
  workspaceVolume: `${TEST_PREFIX}ws-swarmy`,
  limits: { memoryBytes: 768 * 1024 * 1024, cpus: 1, pids: 128 },
  baseUrl: '/user/swarmy/svc/',
  authSecret: SECRET,
};

describe('buildServiceSpec', () => {
  it('builds a hardened one-replica service with a host-mode port', () => {
    const spec = buildServiceSpec(request);
    assert.match(spec.Name ?? '', /^orrery-swarmy-svc-[0-9a-f]{8}$/);
    assert.deepEqual(spec.EndpointSpec, {
      Ports: [{ Protocol: 'tcp', TargetPort: 8888, PublishMode: 'host' }],
    });
    assert.deepEqual(spec.TaskTemplate?.Resources, {
      Limits: { MemoryBytes: 805306368, NanoCPUs: 1e9, Pids: 128 },
    });
    const template = spec.TaskTemplate;
    const container = template && 'ContainerSpec' in template ? template.ContainerSpec : undefined;
    assert.equal(container?.User, '1000:1000');
    assert.deepEqual(container?.CapabilityDrop, ['ALL']);
    assert.deepEqual(container?.Mounts, [
      {
        Type: 'volume',
        Source: `${TEST_PREFIX}ws-swarmy`,
        Target: '/home/jovyan/work',
        ReadOnly: false,
      },
    ]);
    assert.deepEqual(spec.Mode, { Replicated: { Replicas: 1 } });
  });
});

describe('SwarmBackend on a one-node swarm', () => {
  let joinedByTest = false;
  let available = false;
  const backend = new SwarmBackend({
    manager: { name: 'swarm-local', socketPath: '/var/run/docker.sock' },
    spec: { namePrefix: TEST_PREFIX, deployment: 'orrery-test' },
  });

  let release: () => void = () => undefined;
  before(async () => {
    release = await lockDockerTests();
    try {
      const state = await docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
      if (state !== 'active') {
        await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
        joinedByTest = true;
      }
    } catch {
      // requireDocker reports it in the test
    }
  });

  after(async () => {
    try {
      if (available) assert.deepEqual(await sweep(), [], 'test objects leaked');
      if (joinedByTest) await docker(['swarm', 'leave', '--force']);
    } finally {
      release();
    }
  });

  it('runs a server as a service and stops it', async (t) => {
    available = await requireDocker(t);
    if (!available) return;
    const started = Date.now();
    const { url, state } = await backend.start(request);
    const startMs = Date.now() - started;
    const readyMs = await waitForHttp(`${url}/user/swarmy/svc/api/status`, SECRET);
    t.diagnostic(`swarm start() ${startMs} ms, HTTP ready ${startMs + readyMs} ms after start()`);
    assert.equal(await httpStatus(`${url}/user/swarmy/svc/api/status`), 403);
    assert.deepEqual(await backend.poll(state), { running: true });
    assert.deepEqual(await backend.listManaged(), [
      { owner: 'swarmy', serverName: 'svc', running: true, url, state },
    ]);
    const container = await docker([
      'ps',
      '-q',
      '--filter',
      `label=com.docker.swarm.service.id=${state.serviceId}`,
    ]);
    const [info] = JSON.parse(await docker(['inspect', container]));
    assert.equal(info.HostConfig.Privileged, false);
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
    assert.equal(info.HostConfig.PidsLimit, 128);
    assert.equal(info.Config.User, '1000:1000');
    await backend.stop(state);
    await backend.stop(state); // already gone: success
    assert.deepEqual(await backend.poll(state), { running: false, exitCode: null });
    assert.deepEqual(backend.loadState({ service_id: state.serviceId }), {
      ...state,
      serviceName: '',
    });
  });
});
