/**
 * Child processes of the compute benchmark: the hub (bench/support/computeHub.ts, forked with an
 * IPC channel) and configurable-http-proxy (the floor JupyterHub's own proxy sets), both on
 * loopback. Each has a pid for /proc readings and a stop that waits for the exit.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { HubConfig } from '../../hub/src/config.ts';
import type { HubReply, HubRequest } from './computeHub.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free on loopback right now (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface HubProcess {
  url: string;
  pid: number;
  /** Run a full garbage collection in the hub; resolves with its heap afterwards. */
  gc(): Promise<number>;
  /** Point the route of `owner`/`server` at `url` (an upstream base URL). */
  route(owner: string, server: string, url: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Fork the hub with `config`. `cpuProfileDir` adds `--cpu-prof` (a .cpuprofile per run, for
 * Chrome DevTools or speedscope), which is how the proxy's costs were found.
 */
export async function forkHub(config: HubConfig, cpuProfileDir?: string): Promise<HubProcess> {
  const child = fork(fileURLToPath(new URL('./computeHub.ts', import.meta.url)), [], {
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: HubReply[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (reply: HubReply) => {
    replies.push(reply);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async <T extends HubReply['type']>(type: T) => {
    for (;;) {
      const index = replies.findIndex((reply) => reply.type === type || reply.type === 'error');
      if (index >= 0) {
        const [reply] = replies.splice(index, 1);
        if (reply!.type === 'error') throw new Error(`hub process: ${reply!.message}`);
        return reply as Extract<HubReply, { type: T }>;
      }
      if (child.exitCode !== null) throw new Error(`hub process exited (${child.exitCode})`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 1000);
      });
    }
  };
  const ask = (request: HubRequest) => child.send(request);
  ask({ type: 'start', config });
  const { url } = await next('started');
  return {
    url,
    pid: child.pid!,
    async gc() {
      ask({ type: 'gc' });
      return (await next('gc')).heapUsed;
    },
    async route(owner, server, url) {
      ask({ type: 'route', owner, server, url });
      await next('routed');
    },
    async stop() {
      if (child.connected) {
        ask({ type: 'stop' });
        await Promise.race([next('stopped'), sleep(30_000)]).catch(() => {});
      }
      await waitForExit(child, 10_000);
    },
  };
}

export interface ChpProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * configurable-http-proxy on loopback with one route, `prefix` → `target`, added through its
 * REST API as JupyterHub adds routes. It adds no credentials: callers send the server's secret.
 */
export async function startChp(prefix: string, target: string): Promise<ChpProcess> {
  const require = createRequire(import.meta.url);
  const bin = require.resolve('configurable-http-proxy/bin/configurable-http-proxy');
  const [port, apiPort] = [await freePort(), await freePort()];
  const authToken = randomBytes(16).toString('hex');
  const child = spawn(
    process.execPath,
    [
      bin,
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--api-ip=127.0.0.1',
      `--api-port=${apiPort}`,
      '--log-level=warn',
    ],
    {
      // CHP reads its API token from the environment only.
      env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: authToken },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const api = `http://127.0.0.1:${apiPort}/api/routes${prefix.replace(/\/$/, '')}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(api, {
        method: 'POST',
        headers: { authorization: `token ${authToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target }),
      });
      if (res.status === 201) break;
      throw new Error(`CHP route: HTTP ${res.status}`);
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw err;
      }
      await sleep(100);
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await waitForExit(child, 5000);
    },
  };
}
