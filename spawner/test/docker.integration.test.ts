/**
 * DockerBackend against the real local Docker daemon and the real orrery/lab image.
 * Needs root (iptables) and scripts/provision-docker.sh to have run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DockerBackend, type DockerBackendConfig } from '../src/docker/backend.ts';
import {
  defaultFirewallOptions,
  firewallRules,
  hostResolvers,
  removeFirewallRules,
} from '../src/docker/network.ts';
import type { DockerSavedState, SpawnRequest } from '../src/types.ts';
import {
  docker,
  httpStatus,
  LAB_IMAGE,
  leftovers,
  lockDockerTests,
  requireDocker,
  SECRET,
  sweep,
  TEST_PREFIX,
  waitForHttp,
} from './helpers.ts';

const run = promisify(execFile);
const BRIDGE = 'orrerytst0';

export const testConfig: DockerBackendConfig = {
  hosts: [
    {
      name: 'local',
      socketPath: '/var/run/docker.sock',
      bridgeName: BRIDGE,
      firewall: 'local-iptables',
    },
  ],
  spec: { namePrefix: TEST_PREFIX, deployment: 'orrery-test', network: `${TEST_PREFIX}users` },
};

function request(user: string, serverName = ''): SpawnRequest {
  return {
    user: { name: user, safeName: user },
    serverName,
    image: LAB_IMAGE,
    env: {},
    workspaceVolume: `${TEST_PREFIX}ws-${user}`,
    limits: { memoryBytes: 768 * 1024 * 1024, cpus: 1, pids: 128 },
    baseUrl: serverName ? `/user/${user}/${serverName}/` : `/user/${user}/`,
    authSecret: SECRET,
  };
}

/**
 * The host directory of a container's pids cgroup, on cgroup v1 (the pids hierarchy) or v2
 * (the unified one), whichever driver (cgroupfs or systemd) named it: read from the
 * container's first process, not guessed.
 */
async function pidsCgroupDir(containerId: string): Promise<string> {
  const pid = await docker(['inspect', '--format', '{{.State.Pid}}', containerId]);
  const lines = (await readFile(`/proc/${pid.trim()}/cgroup`, 'utf8')).split('\n');
  const v1 = lines.find((line) => line.split(':')[1]?.split(',').includes('pids'));
  if (v1) return `/sys/fs/cgroup/pids${v1.split(':')[2]}`;
  const v2 = lines.find((line) => line.startsWith('0::'));
  if (!v2) throw new Error(`no pids cgroup for container ${containerId}`);
  return `/sys/fs/cgroup${v2.slice(3)}`;
}

/** Try a TCP connection from inside `container`: connected | refused | timeout | error text. */
async function probeFrom(container: string, host: string, port: number): Promise<string> {
  const script = [
    'import socket, sys',
    'try:',
    `    socket.create_connection((${JSON.stringify(host)}, ${port}), timeout=3).close(); print("connected")`,
    'except ConnectionRefusedError: print("refused")',
    'except (socket.timeout, TimeoutError): print("timeout")',
    'except OSError as e: print("error", e.errno)',
  ].join('\n');
  return docker(['exec', container, 'python3', '-c', script]);
}

describe('DockerBackend on the local daemon', () => {
  let backend: DockerBackend;
  let available = false;

  let release: () => void = () => undefined;
  before(async () => {
    release = await lockDockerTests();
    backend = new DockerBackend(testConfig);
    await sweep();
  });

  after(async () => {
    try {
      if (!available) return;
      const left = await sweep();
      await removeFirewallRules(
        firewallRules(BRIDGE, { ...defaultFirewallOptions, resolvers: await hostResolvers() }),
      );
      assert.deepEqual(left, [], 'test objects leaked');
      assert.deepEqual(await leftovers(), []);
    } finally {
      release();
    }
  });

  it('starts a server that requires the secret, and reports it', async (t) => {
    available = await requireDocker(t);
    if (!available) return;
    const started = Date.now();
    const { url, state } = await backend.start(request('alice'));
    const startMs = Date.now() - started;
    const readyMs = await waitForHttp(`${url}/user/alice/api/status`, SECRET);
    t.diagnostic(`start() ${startMs} ms, HTTP ready ${startMs + readyMs} ms after start()`);
    assert.equal(await httpStatus(`${url}/user/alice/api/status`, SECRET), 200);
    assert.equal(await httpStatus(`${url}/user/alice/api/status`), 403);
    assert.equal(
      await httpStatus(`${url}/user/alice/api/status`, 'wrong-secret-wrong-secret'),
      403,
    );
    assert.deepEqual(await backend.poll(state), { running: true });
    const managed = await backend.listManaged();
    assert.deepEqual(managed, [{ owner: 'alice', serverName: '', running: true, url, state }]);
    await backend.stop(state);
  });

  it('runs hardened: no privileges, capabilities or Docker socket, limits set', async (t) => {
    if (!(await requireDocker(t))) return;
    const { state } = await backend.start(request('bob'));
    const [info] = JSON.parse(await docker(['inspect', state.containerId]));
    assert.equal(info.HostConfig.Privileged, false);
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
    assert.equal(info.HostConfig.CapAdd, null);
    assert.ok(info.HostConfig.SecurityOpt.includes('no-new-privileges'));
    assert.equal(info.Config.User, '1000:1000');
    assert.equal(info.HostConfig.Memory, 768 * 1024 * 1024);
    assert.equal(info.HostConfig.NanoCpus, 1e9);
    assert.equal(info.HostConfig.PidsLimit, 128);
    for (const mount of info.Mounts as Array<{ Type: string; Source: string }>) {
      assert.equal(mount.Type, 'volume');
      assert.doesNotMatch(mount.Source, /docker\.sock/);
    }
    const status = await docker(['exec', state.containerId, 'cat', '/proc/self/status']);
    assert.match(status, /^Uid:\s+1000\s/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.equal(
      await docker(['exec', state.containerId, 'test', '-e', '/var/run/docker.sock']).catch(
        () => 'absent',
      ),
      'absent',
    );
    await backend.stop(state);
  });

  it('keeps the host and the metadata address out of reach of user servers', async (t) => {
    if (!(await requireDocker(t))) return;
    // A stand-in for a host service such as the hub database, listening on every address.
    const listener = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const control = `${TEST_PREFIX}control`;
    const hostAddress = (await run('hostname', ['-I'])).stdout.trim().split(/\s+/)[0]!;
    let state: DockerSavedState | undefined;
    try {
      state = (await backend.start(request('carol'))).state;
      const gateway = await docker([
        'network',
        'inspect',
        '--format',
        '{{(index .IPAM.Config 0).Gateway}}',
        `${TEST_PREFIX}users`,
      ]);
      // Control: a plain container on the default bridge reaches the host service.
      await docker(['run', '-d', '--name', control, '--entrypoint', 'sleep', LAB_IMAGE, '60']);
      assert.equal(await probeFrom(control, hostAddress, port), 'connected');
      // The user server does not: host service via its bridge gateway or the host's address,
      // host Postgres, the metadata address.
      assert.equal(await probeFrom(state.containerId, gateway, port), 'timeout');
      assert.equal(await probeFrom(state.containerId, hostAddress, port), 'timeout');
      assert.notEqual(await probeFrom(state.containerId, gateway, 5432), 'connected');
      assert.notEqual(await probeFrom(state.containerId, '169.254.169.254', 80), 'connected');
      const rules = await run('iptables', ['-S', 'DOCKER-USER']);
      assert.match(rules.stdout, new RegExp(`-d 169.254.0.0/16 -i ${BRIDGE} .*-j DROP`));
      // Every private range is dropped too (a Docker API on the private network, say).
      for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'])
        assert.match(rules.stdout, new RegExp(`-d ${range} -i ${BRIDGE} .*-j DROP`));
    } finally {
      listener.close();
      if (state) await backend.stop(state);
      await docker(['rm', '-f', control]).catch(() => undefined);
    }
  });

  it('contains a fork bomb with the pids limit', async (t) => {
    if (!(await requireDocker(t))) return;
    const { url, state } = await backend.start(request('dave'));
    await waitForHttp(`${url}/user/dave/api/status`, SECRET);
    // Every process forks until the deadline, then exits: the bomb ends by itself.
    const bomb = [
      'import os, time',
      'deadline = time.time() + 8',
      'while time.time() < deadline:',
      '    try: os.fork()',
      '    except OSError: time.sleep(0.05)',
    ].join('\n');
    const bombRun = docker(['exec', state.containerId, 'python3', '-c', bomb]).catch(
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const cgroup = await pidsCgroupDir(state.containerId);
    const current = Number((await run('cat', [`${cgroup}/pids.current`])).stdout);
    const events = (await run('cat', [`${cgroup}/pids.events`])).stdout;
    t.diagnostic(`pids.current during bomb: ${current}; ${events.trim()}`);
    assert.ok(current <= 128, `pids.current ${current}`);
    assert.match(events, /^max [1-9]/m);
    await run('true'); // the host can still fork
    await bombRun;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(await backend.poll(state), { running: true });
    assert.equal(await httpStatus(`${url}/user/dave/api/status`, SECRET), 200);
    await backend.stop(state);
  });

  it('keeps the workspace across stop and start, and stop is idempotent', async (t) => {
    if (!(await requireDocker(t))) return;
    const first = await backend.start(request('erin', 'analysis'));
    await docker([
      'exec',
      first.state.containerId,
      'sh',
      '-c',
      'echo kept > /home/jovyan/work/notes.txt',
    ]);
    await backend.stop(first.state);
    assert.deepEqual(await backend.poll(first.state), { running: false, exitCode: null });
    await backend.stop(first.state); // already gone: success
    const second = await backend.start(request('erin', 'analysis'));
    assert.notEqual(second.state.containerId, first.state.containerId);
    assert.equal(
      await docker(['exec', second.state.containerId, 'cat', '/home/jovyan/work/notes.txt']),
      'kept',
    );
    await docker(['rm', '-f', second.state.containerId]); // removed behind the backend's back
    await backend.stop(second.state);
    assert.deepEqual(await backend.poll(second.state), { running: false, exitCode: null });
  });

  it('reports the exit status of a stopped container and replaces leftovers', async (t) => {
    if (!(await requireDocker(t))) return;
    const { state } = await backend.start(request('frank'));
    await docker(['kill', '--signal', 'KILL', state.containerId]);
    const polled = await backend.poll(state);
    assert.equal(polled.running, false);
    assert.equal((polled as { exitCode: number | null }).exitCode, 137);
    // Starting the same server again replaces the dead container of the same name.
    const again = await backend.start(request('frank'));
    assert.equal(again.state.containerName, state.containerName);
    assert.deepEqual(await backend.poll(state), { running: false, exitCode: null });
    const owners = (await backend.listManaged()).map((server) => server.owner);
    assert.deepEqual(owners, ['frank']);
    await backend.stop(again.state);
  });

  it('loads saved state of this and older shapes', () => {
    const current: DockerSavedState = {
      backend: 'docker',
      host: 'local',
      containerId: 'abc',
      containerName: 'orrery-x',
    };
    assert.deepEqual(backend.loadState(current), current);
    // Single-host shape without backend/host.
    assert.deepEqual(backend.loadState({ containerId: 'abc', containerName: 'orrery-x' }), current);
    // dockerspawner-style snake case; the name may be missing.
    assert.deepEqual(backend.loadState({ container_id: 'abc' }), { ...current, containerName: '' });
    assert.deepEqual(
      backend.loadState({ container_id: 'abc', container_name: 'orrery-x', host: 'local' }),
      current,
    );
    assert.throws(() => backend.loadState({ backend: 'swarm', serviceId: 'x' }), TypeError);
    assert.throws(() => backend.loadState({ containerName: 'orrery-x' }), TypeError);
    assert.throws(() => backend.loadState('abc'), TypeError);
  });
});
