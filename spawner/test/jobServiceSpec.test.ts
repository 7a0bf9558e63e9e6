/** buildJobServiceSpec: a job's container body as a one-replica Swarm service, binds checked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerCreateOptions } from 'dockerode';
import { buildJobServiceSpec } from '../src/swarm/serviceSpec.ts';

const ROOTS = ['/srv/orrery/storage', '/srv/orrery/views'];

const container: ContainerCreateOptions = {
  name: 'p-job-7',
  Image: 'orrery/lab:latest',
  Cmd: ['sh', '-c', 'constant script'],
  Env: ['ORRERY_JOB_ID=7'],
  Labels: { 'org.orrery.job': '7', 'org.orrery.job.deployment': 'p-' },
  User: '1000:1000',
  WorkingDir: '/home/jovyan/work',
  HostConfig: {
    Privileged: false,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Memory: 64 * 1024 * 1024,
    MemorySwap: 64 * 1024 * 1024,
    NanoCpus: 5e8,
    PidsLimit: 512,
    Mounts: [
      {
        Type: 'bind',
        Source: '/srv/orrery/storage/Storage/alice/persistent',
        Target: '/home/jovyan/work',
        ReadOnly: false,
      },
      {
        Type: 'bind',
        Source: '/srv/orrery/views/3',
        Target: '/home/jovyan/volumes',
        ReadOnly: false,
        BindOptions: { Propagation: 'rslave' },
      },
    ],
    NetworkMode: 'none',
    RestartPolicy: { Name: 'no' },
  },
};

const options = { bindRoots: ROOTS, network: 'p-job-7', constraints: ['node.id==abc'] };

describe('buildJobServiceSpec', () => {
  it('keeps the job container’s image, command, user, mounts and limits, and runs once', () => {
    assert.deepEqual(buildJobServiceSpec(container, options), {
      Name: 'p-job-7',
      Labels: container.Labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: 'orrery/lab:latest',
          Args: ['sh', '-c', 'constant script'],
          Env: ['ORRERY_JOB_ID=7'],
          Labels: container.Labels,
          User: '1000:1000',
          Dir: '/home/jovyan/work',
          Mounts: container.HostConfig!.Mounts,
          CapabilityDrop: ['ALL'],
        },
        Resources: { Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 5e8, Pids: 512 } },
        RestartPolicy: { Condition: 'none' },
        Placement: { Constraints: ['node.id==abc'] },
        Networks: [{ Target: 'p-job-7' }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
  });

  it('takes a named workspace volume without any root', () => {
    const volume = {
      ...container,
      HostConfig: {
        ...container.HostConfig,
        Mounts: [{ Type: 'volume' as const, Source: 'p-alice-work', Target: '/home/jovyan/work' }],
      },
    };
    const spec = buildJobServiceSpec(volume, { ...options, bindRoots: [], constraints: [] });
    const task = spec.TaskTemplate as { ContainerSpec?: { Mounts?: unknown } };
    assert.deepEqual(task.ContainerSpec?.Mounts, volume.HostConfig.Mounts);
  });

  const mounting = (Source: string, Type: 'bind' | 'tmpfs' = 'bind') => ({
    ...container,
    HostConfig: { ...container.HostConfig, Mounts: [{ Type, Source, Target: '/x' }] },
  });
  const refused: [string, ContainerCreateOptions, RegExp][] = [
    ['the Docker socket', mounting('/var/run/docker.sock'), /outside the bind roots/],
    ['a path climbing out of a root', mounting('/srv/orrery/storage/../../etc'), /normalised/],
    ['a relative path', mounting('srv/orrery/storage/x'), /normalised/],
    ['a root itself', mounting('/srv/orrery/storage'), /outside the bind roots/],
    ['a sibling sharing a prefix', mounting('/srv/orrery/storage2/x'), /outside the bind roots/],
    ['a tmpfs', mounting('', 'tmpfs'), /cannot mount a tmpfs/],
    ['root', { ...container, User: '0:0' }, /root/],
    ['no user', { ...container, User: undefined }, /root/],
    ['privileged', { ...container, HostConfig: { Privileged: true } }, /privileged/],
    ['Binds', { ...container, HostConfig: { Binds: ['/:/host'] } }, /Mounts, not Binds/],
    ['no name', { ...container, name: undefined }, /container name/],
  ];
  for (const [what, body, reason] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => buildJobServiceSpec(body, options), reason);
    });
  }
});
