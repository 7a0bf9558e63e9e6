import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DockerClient } from '@orrery/spawner';
import { parseComputeDomains } from '../../src/compute/domainConfig.ts';
import { type MountableVolume, VolumeMounter } from '../../src/files/mounts/mounter.ts';
import { mountHostsOf } from '../../src/files/mounts/mountHosts.ts';
import { isViewComponent, viewScriptArgs } from '../../src/files/mounts/viewScript.ts';

const mounter = new VolumeMounter({
  viewsRoot: '/srv/orrery/views',
  stageRoot: '/srv/orrery/views-stage',
  sourceRoots: ['/srv/orrery/volumes/storage', '/srv/orrery/volumes/data'],
  hosts: [],
});

const volume = (change: Partial<MountableVolume>): MountableVolume => ({
  root: 'Storage',
  owner: 'alice',
  volume: 'persistent',
  host_path: '/srv/orrery/volumes/storage/7/12',
  read_only: false,
  ...change,
});

describe('the volume view', () => {
  it('places each volume at <root>/<owner>/<volume> of the user view folder', () => {
    assert.equal(mounter.viewPath(7), '/srv/orrery/views/7');
    assert.throws(() => mounter.viewPath(0), TypeError);
    assert.throws(() => mounter.viewPath(1.5), TypeError);
    const { entries, refused } = mounter.entriesOf([
      volume({}),
      volume({
        owner: 'bob',
        volume: 'shared data',
        host_path: '/srv/orrery/volumes/storage/8/3',
        read_only: true,
      }),
      volume({
        root: 'Data',
        owner: 'admin',
        volume: 'sdss',
        host_path: '/srv/orrery/volumes/data/1/4',
        read_only: true,
      }),
    ]);
    assert.deepEqual(refused, []);
    assert.deepEqual(
      viewScriptArgs({
        viewsRoot: '/srv/orrery/views',
        stageRoot: '/srv/orrery/views-stage',
        view: mounter.viewPath(7),
        entries,
      }),
      [
        '/srv/orrery/views',
        '/srv/orrery/views-stage',
        '/srv/orrery/views/7',
        '0',
        'rw',
        'Storage/alice/persistent',
        '/srv/orrery/volumes/storage/7/12',
        'ro',
        'Storage/bob/shared data',
        '/srv/orrery/volumes/storage/8/3',
        'ro',
        'Data/admin/sdss',
        '/srv/orrery/volumes/data/1/4',
      ],
    );
  });

  it('refuses names that are paths and folders outside the root volumes', () => {
    const { entries, refused } = mounter.entriesOf([
      volume({ volume: '..' }),
      volume({ owner: 'a/b' }),
      volume({ volume: 'new\nline' }),
      volume({ host_path: '/etc' }),
      volume({ host_path: '/srv/orrery/volumes/storage' }),
      volume({ host_path: '/srv/orrery/volumes/storage/7/../../../../etc' }),
      volume({ host_path: '/srv/orrery/volumes/storage-evil/7/1' }),
      volume({ host_path: 'srv/orrery/volumes/storage/7/12' }),
      volume({}),
      volume({ host_path: '/srv/orrery/volumes/storage/7/13' }),
    ]);
    assert.equal(entries.length, 1);
    assert.equal(refused.length, 9);
    assert.match(refused.at(-1) ?? '', /listed twice/);
  });

  it('accepts any other name as one path component', () => {
    for (const name of ['persistent', 'shared data', '秀樹', 'a.b-c_d', '...']) {
      assert.equal(isViewComponent(name), true, name);
    }
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'a\nb']) {
      assert.equal(isViewComponent(name), false, JSON.stringify(name));
    }
  });

  it('keeps the view inside the views root', () => {
    const base = { viewsRoot: '/srv/orrery/views', stageRoot: '/srv/s', entries: [] };
    assert.throws(
      () => viewScriptArgs({ ...base, view: '/srv/orrery/views/7/../../x' }),
      TypeError,
    );
    assert.throws(() => viewScriptArgs({ ...base, view: '/srv/elsewhere/7' }), TypeError);
    assert.throws(() => viewScriptArgs({ ...base, view: '/srv/orrery/views/7/deeper' }), TypeError);
  });
});

describe('the mount hosts of the compute domains', () => {
  it('this machine once, each remote Docker host and Swarm manager once, no local-process domain', () => {
    const domains = parseComputeDomains(
      'here=docker:unix:///var/run/docker.sock,tcp://10.0.0.5:2375?insecure=1;' +
        'more=docker:unix:///var/run/docker.sock,tcp://10.0.0.5:2375?insecure=1,tcp://10.0.0.6:2375?insecure=1;' +
        'cluster=swarm:tcp://10.0.0.9:2375?insecure=1,tcp://10.0.0.8:2375?insecure=1;laptop=local',
      { name: 'x', backend: 'auto', hosts: [] },
    );
    const connected: string[] = [];
    const hosts = mountHostsOf(domains, {
      connect: (host) => {
        connected.push(host.url);
        return {} as DockerClient;
      },
      helperImage: 'orrery/lab:latest',
      deployment: 'orrery-abc',
    });
    assert.deepEqual(
      hosts.map((host) => [host.name, host.constructor.name]),
      [
        ['local', 'LocalMountHost'],
        ['10.0.0.5:2375', 'DockerHelperMountHost'],
        ['10.0.0.6:2375', 'DockerHelperMountHost'],
        // The manager only: a Swarm domain's jobs are placed on the manager's node.
        ['10.0.0.9:2375', 'DockerHelperMountHost'],
      ],
    );
    assert.deepEqual(connected, [
      'tcp://10.0.0.5:2375',
      'tcp://10.0.0.6:2375',
      'tcp://10.0.0.9:2375',
    ]);
  });
});
