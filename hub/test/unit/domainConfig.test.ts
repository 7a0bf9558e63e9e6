import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseComputeDomains, parseDockerHost } from '../../src/compute/domainConfig.ts';

const single = { name: 'local', backend: 'auto' as const, hosts: [] };

test('without ORRERY_COMPUTE_DOMAINS there is one domain on the local socket', () => {
  const [only, ...rest] = parseComputeDomains(undefined, single);
  assert.deepEqual(rest, []);
  assert.equal(only!.name, 'local');
  assert.equal(only!.backend, 'auto');
  assert.deepEqual(only!.hosts, [
    {
      url: 'unix:///var/run/docker.sock',
      name: 'local',
      bridge: null,
      local: true,
      hubUrl: null,
      tlsDir: null,
      ssh: null,
    },
  ]);
  assert.deepEqual(parseComputeDomains('', { ...single, backend: 'local' })[0]!.hosts, []);
});

test('several domains, each with its backend and hosts', () => {
  const domains = parseComputeDomains(
    'local=docker:unix:///var/run/docker.sock ; big=docker:tcp://10.0.0.5:2375?insecure=1,tcp://127.0.0.1:2376?bridge=orrery1&firewall=local&insecure=1;cluster=swarm:tcp://mgr:2377?hub=http%3A%2F%2Fhub.internal%3A8000&insecure=1;laptop=local',
    single,
  );
  assert.deepEqual(
    domains.map((d) => [d.name, d.backend, d.hosts.map((h) => h.name)]),
    [
      ['local', 'docker', ['local']],
      ['big', 'docker', ['10.0.0.5:2375', '127.0.0.1:2376']],
      ['cluster', 'swarm', ['mgr:2377']],
      ['laptop', 'local', []],
    ],
  );
  assert.equal(domains[1]!.hosts[0]!.local, false, 'a TCP host is remote unless it says so');
  assert.equal(domains[2]!.hosts[0]!.hubUrl, 'http://hub.internal:8000');
});

test('host settings are parsed and checked', () => {
  const host = parseDockerHost('tcp://127.0.0.1:2376?bridge=orrery1&firewall=local&insecure=1');
  assert.deepEqual(host, {
    url: 'tcp://127.0.0.1:2376',
    name: '127.0.0.1:2376',
    bridge: 'orrery1',
    local: true,
    hubUrl: null,
    tlsDir: null,
    ssh: null,
  });
  const tls = parseDockerHost('tcp://docker.example:2376?tls=/etc/orrery/certs');
  assert.equal(tls.tlsDir, '/etc/orrery/certs');
  assert.equal(tls.url, 'tcp://docker.example:2376');
  const print = 'SHA256:uNiVz+ksCsDhcc0u9e8BujQXV/pKZIDTMczCvj3tD2s';
  const ssh = parseDockerHost(`ssh://orrery@gpu1.example?fingerprint=${print}`, {
    sshAgent: '/run/agent.sock',
  });
  assert.equal(ssh.url, 'ssh://orrery@gpu1.example');
  assert.equal(ssh.name, 'gpu1.example');
  assert.equal(ssh.local, false);
  assert.deepEqual(ssh.ssh, { fingerprint: print, identityFile: null, agent: '/run/agent.sock' });
  const keyed = parseDockerHost(`ssh://o@h:2222?fingerprint=${print}&identity=/etc/orrery/id`);
  assert.deepEqual(keyed.ssh, { fingerprint: print, identityFile: '/etc/orrery/id', agent: null });
  assert.throws(() => parseDockerHost(`ssh://h?fingerprint=${print}`), /names its user/);
  assert.throws(
    () => parseDockerHost(`ssh://o@h?fingerprint=${print}`),
    /identity=\/path\/key or an SSH agent/,
  );
  assert.throws(() => parseDockerHost('ssh://o@h?identity=/k'), /fingerprint=SHA256/);
  assert.throws(() => parseDockerHost('tcp://h:1?fingerprint=SHA256:x'), /for ssh:\/\/ hosts/);
  assert.throws(() => parseDockerHost('tcp://h:2376?tls=certs'), /absolute directory/);
  assert.throws(() => parseDockerHost('unix:///s?tls=/c'), /tcp:\/\/ hosts only/);
  assert.equal(parseDockerHost('unix:///run/docker.sock?firewall=none').local, false);
  assert.throws(
    () => parseDockerHost('http://x:2375'),
    /unix:\/\/\/path, tcp:\/\/host:port or ssh/,
  );
  assert.throws(() => parseDockerHost('tcp://x:2375?colour=red'), /unknown setting "colour"/);
  assert.throws(() => parseDockerHost('tcp://x:2375?firewall=maybe'), /firewall must be/);
  assert.throws(() => parseDockerHost('tcp://x:2375?bridge=a-very-long-bridge-name'), /15/);
});

test('a tcp:// Docker host without TLS is refused unless marked insecure', () => {
  assert.throws(() => parseDockerHost('tcp://10.0.0.5:2375'), /needs tls=\/dir.*insecure=1/);
  assert.equal(parseDockerHost('tcp://10.0.0.5:2375?insecure=1').tlsDir, null);
  assert.throws(() => parseDockerHost('tcp://h:2375?insecure=yes'), /insecure=1 is for tcp/);
  assert.throws(() => parseDockerHost('unix:///s?insecure=1'), /insecure=1 is for tcp/);
  assert.equal(parseDockerHost('tcp://h:2376?tls=/etc/orrery/certs').tlsDir, '/etc/orrery/certs');
});

test('mistakes in ORRERY_COMPUTE_DOMAINS name what is wrong', () => {
  assert.throws(() => parseComputeDomains('local', single), /name=backend/);
  assert.throws(() => parseComputeDomains('a=kubernetes', single), /backend must be one of/);
  assert.throws(() => parseComputeDomains('a b=local', single), /not a valid compute domain name/);
  assert.throws(() => parseComputeDomains('a=local;a=docker', single), /names a domain twice/);
  assert.throws(
    () => parseComputeDomains('a=docker:tcp://h:1?insecure=1,tcp://h:1?insecure=1', single),
    /lists a host twice/,
  );
});
