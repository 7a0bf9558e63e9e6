import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  createBackend,
  DockerBackend,
  defaultFirewallOptions,
  dockerAvailable,
  firewallRules,
  hostResolvers,
  LocalProcessBackend,
  PRIVATE_NETWORKS,
  SwarmBackend,
} from '../src/index.ts';

describe('createBackend', () => {
  it('builds each kind, without connecting, configured as asked', async () => {
    const docker = createBackend({
      kind: 'docker',
      hosts: [{ name: 'a', socketPath: '/nonexistent' }],
    });
    assert.ok(docker instanceof DockerBackend);
    assert.equal(docker.kind, 'docker');
    assert.deepEqual((docker as DockerBackend).hostNames, ['a']);
    // Its states name the configured host; an older single-host state lands on it.
    const dockerState = docker.loadState({ containerId: 'c1' });
    assert.deepEqual(dockerState, {
      backend: 'docker',
      host: 'a',
      containerId: 'c1',
      containerName: '',
    });
    assert.equal(docker.identity(dockerState), 'docker:a:c1');

    const swarm = createBackend({
      kind: 'swarm',
      manager: { name: 's', socketPath: '/nonexistent' },
    });
    assert.ok(swarm instanceof SwarmBackend);
    assert.equal(swarm.kind, 'swarm');
    const swarmState = swarm.loadState({ service_id: 'sv1' });
    assert.deepEqual(swarmState, {
      backend: 'swarm',
      host: 's',
      serviceId: 'sv1',
      serviceName: '',
    });
    assert.equal(swarm.identity(swarmState), 'swarm:s:sv1');
    assert.throws(() => swarm.loadState(dockerState), /not a Swarm state/);

    const local = createBackend({
      kind: 'local',
      workspaceRoot: '/tmp/w',
      stateDir: '/nonexistent/orrery-state',
    });
    assert.ok(local instanceof LocalProcessBackend);
    assert.equal(local.kind, 'local');
    const localState = local.loadState({ name: 'orrery-x', pid: 4242, port: 8888 });
    assert.equal(local.identity(localState), 'local:orrery-x:4242');
    // Its state directory is the configured one: nothing there, so nothing is managed.
    assert.deepEqual(await local.listManaged(), []);
  });

  it('rejects an empty or duplicated compute domain', () => {
    assert.throws(() => createBackend({ kind: 'docker', hosts: [] }), TypeError);
    const host = { name: 'a', socketPath: '/x' };
    assert.throws(() => createBackend({ kind: 'docker', hosts: [host, host] }), TypeError);
  });
});

describe('dockerAvailable', () => {
  it('is false for a socket nobody listens on, and for an unroutable daemon in time', async () => {
    assert.equal(await dockerAvailable({ socketPath: '/nonexistent/docker.sock' }), false);
    const started = Date.now();
    assert.equal(await dockerAvailable({ host: '192.0.2.254', port: 2375 }, 300), false);
    assert.ok(Date.now() - started < 2000);
  });
});

describe('firewallRules', () => {
  const comment = ['-m', 'comment', '--comment', 'orrery user network'];

  it('accepts replies, allowed ports, then drops the host and blocked networks', () => {
    assert.deepEqual(
      firewallRules('orrery0', { allowHostPorts: [8081], blockedNetworks: ['169.254.0.0/16'] }),
      [
        {
          chain: 'INPUT',
          args: [
            '-i',
            'orrery0',
            '-m',
            'conntrack',
            '--ctstate',
            'ESTABLISHED,RELATED',
            ...comment,
            '-j',
            'ACCEPT',
          ],
        },
        {
          chain: 'INPUT',
          args: ['-i', 'orrery0', '-p', 'tcp', '--dport', '8081', ...comment, '-j', 'ACCEPT'],
        },
        { chain: 'INPUT', args: ['-i', 'orrery0', ...comment, '-j', 'DROP'] },
        {
          chain: 'DOCKER-USER',
          family: 4,
          args: [
            '-i',
            'orrery0',
            '-m',
            'conntrack',
            '--ctstate',
            'ESTABLISHED,RELATED',
            ...comment,
            '-j',
            'RETURN',
          ],
        },
        {
          chain: 'DOCKER-USER',
          family: 4,
          args: ['-i', 'orrery0', '-p', 'tcp', '--dport', '8081', ...comment, '-j', 'RETURN'],
        },
        {
          chain: 'DOCKER-USER',
          family: 4,
          args: ['-i', 'orrery0', '-d', '169.254.0.0/16', ...comment, '-j', 'DROP'],
        },
      ],
    );
  });

  it('by default drops every private and special range, IPv4 and IPv6, but lets DNS reach the host’s resolvers', () => {
    const rules = firewallRules('orrery0', { ...defaultFirewallOptions, resolvers: ['10.0.0.2'] });
    const dropped = (family: 4 | 6) =>
      rules
        .filter((rule) => rule.family === family && rule.args.at(-1) === 'DROP')
        .map((rule) => rule.args[rule.args.indexOf('-d') + 1]);
    for (const range of [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '100.64.0.0/10',
      '169.254.0.0/16',
    ])
      assert.ok(dropped(4).includes(range), range);
    assert.deepEqual(dropped(6), ['fc00::/7', 'fe80::/10']);
    assert.deepEqual(PRIVATE_NETWORKS, [...dropped(4), ...dropped(6)]);
    const dns = rules.filter((rule) => rule.args.includes('10.0.0.2'));
    assert.deepEqual(
      dns.map((rule) => [rule.args[rule.args.indexOf('-p') + 1], rule.args.at(-1)]),
      [
        ['udp', 'RETURN'],
        ['tcp', 'RETURN'],
      ],
    );
    // The exceptions come before the drops (iptables stops at the first match).
    const firstDrop = rules.findIndex((rule) => rule.family === 4 && rule.args.at(-1) === 'DROP');
    assert.ok(rules.indexOf(dns[0]!) < firstDrop);
  });

  it('reads the host’s resolvers, leaving out loopback ones (answered from the host itself)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'orrery-resolv-'));
    const file = path.join(dir, 'resolv.conf');
    writeFileSync(
      file,
      '# comment\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch x\n',
    );
    assert.deepEqual(await hostResolvers(file), ['10.255.255.53', 'fe80::1']);
    assert.deepEqual(await hostResolvers(path.join(dir, 'missing')), []);
  });
});
