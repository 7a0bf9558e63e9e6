import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createBackend,
  DockerBackend,
  dockerAvailable,
  firewallRules,
  LocalProcessBackend,
  SwarmBackend,
} from '../src/index.ts';

describe('createBackend', () => {
  it('builds each kind without connecting', () => {
    const docker = createBackend({
      kind: 'docker',
      hosts: [{ name: 'a', socketPath: '/nonexistent' }],
    });
    assert.ok(docker instanceof DockerBackend);
    assert.equal(docker.kind, 'docker');
    const swarm = createBackend({
      kind: 'swarm',
      manager: { name: 's', socketPath: '/nonexistent' },
    });
    assert.ok(swarm instanceof SwarmBackend);
    const local = createBackend({ kind: 'local', workspaceRoot: '/tmp/w', stateDir: '/tmp/s' });
    assert.ok(local instanceof LocalProcessBackend);
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
  it('accepts replies, allowed ports, then drops the host and blocked networks', () => {
    const comment = ['-m', 'comment', '--comment', 'orrery user network'];
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
          args: ['-i', 'orrery0', '-d', '169.254.0.0/16', ...comment, '-j', 'DROP'],
        },
      ],
    );
  });
});
