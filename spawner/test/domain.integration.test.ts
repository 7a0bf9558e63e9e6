/**
 * A compute domain of two Docker hosts: the local daemon over its socket and a second daemon
 * on the same machine reached over TCP (started here if not running, stopped afterwards).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DockerBackend } from '../src/docker/backend.ts';
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
import {
  answers,
  copyImageToSecond,
  SECOND,
  startSecondDaemon,
  stopSecondDaemon,
} from './secondDaemon.ts';

const BRIDGES = ['orrerytst0', 'orrerytst1'];

function request(user: string): SpawnRequest {
  return {
    user: { name: user, safeName: user },
    serverName: '',
    image: LAB_IMAGE,
    env: {},
    workspaceVolume: `${TEST_PREFIX}ws-${user}`,
    limits: { memoryBytes: 512 * 1024 * 1024, cpus: 0.5, pids: 128 },
    baseUrl: `/user/${user}/`,
    authSecret: SECRET,
  };
}

describe('DockerBackend over a two-host compute domain', () => {
  let daemonPid: number | undefined;
  let available = false;

  let release: () => void = () => undefined;
  before(async () => {
    release = await lockDockerTests();
    if (!(await answers('unix:///var/run/docker.sock'))) return;
    if (!(await answers(SECOND))) daemonPid = await startSecondDaemon();
    await copyImageToSecond();
    await sweep();
    await sweep(SECOND);
  });

  after(async () => {
    try {
      if (available) {
        assert.deepEqual(await sweep(), []);
        assert.deepEqual(await sweep(SECOND), []);
        assert.deepEqual([...(await leftovers()), ...(await leftovers(SECOND))], []);
      }
      for (const bridge of BRIDGES) {
        await removeFirewallRules(
          firewallRules(bridge, { ...defaultFirewallOptions, resolvers: await hostResolvers() }),
        );
      }
      if (daemonPid !== undefined) await stopSecondDaemon(daemonPid);
    } finally {
      release();
    }
  });

  it('spreads servers over both hosts, least-loaded first', async (t) => {
    available = await requireDocker(t);
    if (!available) return;
    const backend = new DockerBackend({
      hosts: [
        {
          name: 'local',
          socketPath: '/var/run/docker.sock',
          bridgeName: BRIDGES[0],
          firewall: 'local-iptables',
        },
        {
          name: 'second',
          host: '127.0.0.1',
          port: 23750,
          protocol: 'http',
          bridgeName: BRIDGES[1],
        },
      ],
      spec: { namePrefix: TEST_PREFIX, deployment: 'orrery-test', network: `${TEST_PREFIX}users` },
    });
    // A server already on "local" makes "second" the least loaded for the next start.
    const states: DockerSavedState[] = [];
    states.push((await backend.start(request('u1'))).state);
    assert.equal(states[0]!.host, 'local');
    const second = await backend.start(request('u2'));
    states.push(second.state);
    assert.equal(second.state.host, 'second');
    for (const user of ['u3', 'u4', 'u5', 'u6'])
      states.push((await backend.start(request(user))).state);
    const perHost = new Map<string, number>();
    for (const state of states) perHost.set(state.host, (perHost.get(state.host) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(perHost), { local: 3, second: 3 });
    assert.equal(
      (
        await docker(['ps', '-q', '--filter', 'label=org.orrery.deployment=orrery-test'], SECOND)
      ).split('\n').length,
      3,
    );

    // The server on the TCP host answers behind its secret.
    await waitForHttp(`${second.url}/user/u2/api/status`, SECRET);
    assert.equal(await httpStatus(`${second.url}/user/u2/api/status`), 403);

    const managed = await backend.listManaged();
    assert.deepEqual(managed.map((server) => server.owner).sort(), [
      'u1',
      'u2',
      'u3',
      'u4',
      'u5',
      'u6',
    ]);
    for (const state of states) await backend.stop(state);
    assert.deepEqual(await backend.listManaged(), []);
  });
});
