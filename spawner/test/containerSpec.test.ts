import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildContainerSpec,
  defaultContainerSpecOptions,
  JUPYTER_START_SCRIPT,
  SINGLEUSER_START_SCRIPT,
} from '../src/containerSpec.ts';
import { serverResourceName } from '../src/names.ts';
import type { SpawnRequest } from '../src/types.ts';

const request: SpawnRequest = {
  user: { name: 'Ada Lovelace', safeName: 'ada' },
  serverName: 'gpu',
  image: 'orrery/lab:latest',
  env: { TZ: 'UTC' },
  workspaceVolume: 'orrery-ws-ada',
  extraVolumes: [{ name: 'orrery-data-sdss', mountPath: '/data/sdss', readOnly: true }],
  limits: { memoryBytes: 512 * 1024 * 1024, cpus: 1.5, pids: 256 },
  baseUrl: '/user/ada/gpu/',
  authSecret: 'a-secret-of-sufficient-length',
};

describe('buildContainerSpec', () => {
  it('builds the hardened container body', () => {
    const name = serverResourceName('orrery-', request.user, 'gpu');
    assert.match(name, /^orrery-ada-gpu-[0-9a-f]{8}$/);
    assert.deepEqual(buildContainerSpec(request, defaultContainerSpecOptions), {
      name,
      Image: 'orrery/lab:latest',
      Cmd: ['sh', '-c', JUPYTER_START_SCRIPT],
      Env: [
        'TZ=UTC',
        'ORRERY_USER=Ada Lovelace',
        'ORRERY_SERVER_NAME=gpu',
        'ORRERY_BASE_URL=/user/ada/gpu/',
        'ORRERY_WORKSPACE=/home/jovyan/work',
        'ORRERY_SERVER_SECRET=a-secret-of-sufficient-length',
      ],
      Labels: {
        'org.orrery.managed': 'true',
        'org.orrery.deployment': 'default',
        'org.orrery.owner': 'Ada Lovelace',
        'org.orrery.server': 'gpu',
      },
      User: '1000:1000',
      WorkingDir: '/home/jovyan/work',
      ExposedPorts: { '8888/tcp': {} },
      HostConfig: {
        Privileged: false,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: 536870912,
        MemorySwap: 536870912,
        NanoCpus: 1500000000,
        PidsLimit: 256,
        Mounts: [
          { Type: 'volume', Source: 'orrery-ws-ada', Target: '/home/jovyan/work', ReadOnly: false },
          { Type: 'volume', Source: 'orrery-data-sdss', Target: '/data/sdss', ReadOnly: true },
        ],
        NetworkMode: 'orrery-users',
        PortBindings: { '8888/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        RestartPolicy: { Name: 'no' },
      },
    });
  });

  it('keeps the secret and base URL out of the command line', () => {
    const spec = buildContainerSpec(request);
    assert.ok(!JSON.stringify(spec.Cmd).includes(request.authSecret));
    assert.ok(!JSON.stringify(spec.Cmd).includes(request.baseUrl));
    assert.match(JUPYTER_START_SCRIPT, /JUPYTER_TOKEN="\$ORRERY_SERVER_SECRET"/);
    assert.match(JUPYTER_START_SCRIPT, /--ServerApp.base_url="\$ORRERY_BASE_URL"/);
  });

  it('runs jupyterhub-singleuser for a single-user image, without the secret', () => {
    const env = {
      JUPYTERHUB_API_TOKEN: 'orr_server-token',
      JUPYTERHUB_CLIENT_ID: 'jupyterhub-user-ada.gpu',
      JUPYTERHUB_OAUTH_CALLBACK_URL: '/user/ada/gpu/oauth_callback',
      JUPYTERHUB_OAUTH_ACCESS_SCOPES: '["access:servers!server=Ada Lovelace/gpu"]',
    };
    const spec = buildContainerSpec({ ...request, server: 'jupyterhub-singleuser', env });
    assert.deepEqual(spec.Cmd, ['sh', '-c', SINGLEUSER_START_SCRIPT]);
    assert.match(
      SINGLEUSER_START_SCRIPT,
      /exec jupyterhub-singleuser --ip=0\.0\.0\.0 --port=8888 /,
    );
    // The secret is dropped before the server starts, and never becomes Jupyter's token.
    assert.match(SINGLEUSER_START_SCRIPT, /unset ORRERY_SERVER_SECRET; (export [^;]*; )?exec /);
    assert.doesNotMatch(SINGLEUSER_START_SCRIPT, /JUPYTER_TOKEN/);
    assert.ok(spec.Env?.includes('JUPYTERHUB_CLIENT_ID=jupyterhub-user-ada.gpu'));
    assert.deepEqual(buildContainerSpec({ ...request, server: 'lab' }).Cmd, [
      'sh',
      '-c',
      JUPYTER_START_SCRIPT,
    ]);
    assert.throws(
      () => buildContainerSpec({ ...request, server: 'bash' as 'lab' }),
      /server "bash" is neither lab nor jupyterhub-singleuser/,
    );
  });

  it('applies deployment options', () => {
    const spec = buildContainerSpec(request, {
      ...defaultContainerSpecOptions,
      namePrefix: 'orrery-test-',
      deployment: 'ci',
      network: 'orrery-test-net',
      publishHostIp: '10.0.0.5',
    });
    assert.match(spec.name ?? '', /^orrery-test-ada-gpu-/);
    assert.equal(spec.Labels?.['org.orrery.deployment'], 'ci');
    assert.equal(spec.HostConfig?.NetworkMode, 'orrery-test-net');
    assert.deepEqual(spec.HostConfig?.PortBindings, {
      '8888/tcp': [{ HostIp: '10.0.0.5', HostPort: '' }],
    });
  });

  it('rejects root, bind mounts, reserved or unlisted env and malformed requests', () => {
    const bad: Array<[string, Partial<SpawnRequest>]> = [
      ['workspace path', { workspaceVolume: '/var/run/docker.sock' }],
      ['extra bind mount', { extraVolumes: [{ name: '/', mountPath: '/host', readOnly: true }] }],
      ['reserved env', { env: { ORRERY_SERVER_SECRET: 'x' } }],
      ['token env', { env: { JUPYTER_TOKEN: 'x' } }],
      ['hub database', { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1/orrery' } }],
      ['hub key', { env: { ORRERY_SECRET_KEY: 'k' } }],
      ['loader path', { env: { LD_PRELOAD: '/tmp/x.so' } }],
      ['malformed key', { env: { 'A=B': 'x' } }],
      ['base url', { baseUrl: 'user/ada/' }],
      ['short secret', { authSecret: 'short' }],
      ['pids', { limits: { memoryBytes: 1 << 30, cpus: 1, pids: 0 } }],
      ['cpus', { limits: { memoryBytes: 1 << 30, cpus: 0, pids: 10 } }],
      [
        'duplicate mount',
        { extraVolumes: [{ name: 'v1', mountPath: '/home/jovyan/work', readOnly: false }] },
      ],
    ];
    for (const [label, change] of bad) {
      assert.throws(() => buildContainerSpec({ ...request, ...change }), TypeError, label);
    }
    for (const user of ['0', 'root', '0:0', 'root:users']) {
      assert.throws(
        () => buildContainerSpec(request, { ...defaultContainerSpecOptions, user }),
        /root/,
      );
    }
  });
});

describe('buildContainerSpec with Storage and the volume view', () => {
  const roots = ['/srv/orrery/volumes/storage', '/srv/orrery/views'];
  const options = { ...defaultContainerSpecOptions, bindRoots: roots };
  const bound: SpawnRequest = {
    ...request,
    extraVolumes: [],
    workspaceHostPath: '/srv/orrery/volumes/storage/7/12',
    volumesViewHostPath: '/srv/orrery/views/7',
  };

  it('binds the Storage folder at the workspace and the view rslave at /home/jovyan/volumes', () => {
    const spec = buildContainerSpec(bound, options);
    assert.deepEqual(spec.HostConfig?.Mounts, [
      {
        Type: 'bind',
        Source: '/srv/orrery/volumes/storage/7/12',
        Target: '/home/jovyan/work',
        ReadOnly: false,
      },
      {
        Type: 'bind',
        Source: '/srv/orrery/views/7',
        Target: '/home/jovyan/volumes',
        ReadOnly: false,
        BindOptions: { Propagation: 'rslave' },
      },
    ]);
    // Still unprivileged: the server cannot mount or remount anything itself.
    assert.equal(spec.HostConfig?.Privileged, false);
    assert.deepEqual(spec.HostConfig?.CapDrop, ['ALL']);
    assert.deepEqual(spec.HostConfig?.SecurityOpt, ['no-new-privileges']);
  });

  it('names the view for the start script’s `volumes` link only when the view is bound', () => {
    assert.ok(buildContainerSpec(bound, options).Env?.includes('ORRERY_VOLUMES_LINK=../volumes'));
    const plain = buildContainerSpec({ ...request, extraVolumes: [] }, options);
    assert.ok(!plain.Env?.some((entry) => entry.startsWith('ORRERY_VOLUMES_LINK=')));
    // A request cannot point the link elsewhere.
    const forged = { ...bound, env: { ORRERY_VOLUMES_LINK: '/' } };
    assert.throws(() => buildContainerSpec(forged, options), /reserved/);
  });

  it('keeps the named workspace volume when no Storage folder is given', () => {
    const spec = buildContainerSpec({ ...request, extraVolumes: [] }, options);
    assert.deepEqual(spec.HostConfig?.Mounts, [
      { Type: 'volume', Source: 'orrery-ws-ada', Target: '/home/jovyan/work', ReadOnly: false },
    ]);
  });

  it('refuses bind sources outside the bind roots or not normalised', () => {
    const bad: Array<[string, Partial<SpawnRequest>]> = [
      ['docker socket', { workspaceHostPath: '/var/run/docker.sock' }],
      ['climbing out', { workspaceHostPath: '/srv/orrery/volumes/storage/7/../../../../etc' }],
      ['a root itself', { workspaceHostPath: '/srv/orrery/volumes/storage' }],
      ['prefix look-alike', { workspaceHostPath: '/srv/orrery/volumes/storage-evil/7' }],
      ['relative', { volumesViewHostPath: 'srv/orrery/views/7' }],
      ['trailing slash', { volumesViewHostPath: '/srv/orrery/views/7/' }],
      ['view elsewhere', { volumesViewHostPath: '/etc' }],
    ];
    for (const [label, change] of bad) {
      assert.throws(() => buildContainerSpec({ ...bound, ...change }, options), TypeError, label);
    }
    // Without bind roots (the default) no bind mount is accepted at all.
    assert.throws(() => buildContainerSpec(bound), /outside the bind roots/);
  });
});

describe('serverResourceName', () => {
  it('maps look-alike users and servers to distinct names', () => {
    const cases: Array<[string, string, string]> = [
      ['a-b', 'a-b', 'c'],
      ['a', 'a', 'b-c'],
      ['a_b', 'a_b', ''],
      ['A-B', 'A-B', ''],
      ['a-b', 'a-b', ''],
      ['秀樹', '秀樹', ''],
      ['has@', 'has@', ''],
      ['has_', 'has_', ''],
    ];
    const names = cases.map(([name, safeName, server]) =>
      serverResourceName('orrery-', { name, safeName }, server),
    );
    assert.equal(new Set(names).size, names.length, names.join(' '));
    for (const name of names) assert.match(name, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });

  it('is stable and readable', () => {
    const user = { name: 'ada', safeName: 'ada' };
    assert.equal(serverResourceName('orrery-', user, ''), serverResourceName('orrery-', user, ''));
    assert.match(serverResourceName('orrery-', user, ''), /^orrery-ada-default-[0-9a-f]{8}$/);
  });
});
