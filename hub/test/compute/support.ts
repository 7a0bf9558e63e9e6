/**
 * Helpers for compute tests: wait for a server, talk to a kernel over the proxy, clean a
 * deployment up, run a hub in a process of its own to kill.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import { deploymentIdentity, deploymentNames } from '../../src/compute/deployment.ts';
import { Client, releaseViews } from '../support.ts';
import type { FaultHubOptions } from './jobsFaultHub.ts';

/**
 * The names a hub on `databaseUrl` with `prefix` gives its resources (its deployment identity
 * is in that database): for observers that look at its containers from outside.
 */
export async function deploymentOf(databaseUrl: string, prefix: string) {
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const names = deploymentNames(prefix, await deploymentIdentity(db), []);
    return {
      ...names,
      /** The spec of an observer backend for `domain`. */
      spec: (domain: string) => ({
        namePrefix: names.resourcePrefix,
        deployment: names.label(domain),
      }),
      /** The bridge of the first (local) Docker host. */
      localBridge: `or${names.identity}0`,
    };
  } finally {
    await db.end();
  }
}

/** Wait until `check` holds, asking every 100 ms; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function waitForStatus(
  client: Client,
  name: string,
  server: string,
  want: 'running' | 'gone',
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    // The user model holds the servers, keyed by name ("" the default server).
    const res = await client.get(`/hub/api/users/${encodeURIComponent(name)}`);
    const found = res.json?.servers?.[server];
    last = res.json;
    if (want === 'running' && found?.status === 'running') return found;
    if (want === 'gone' && res.status === 200 && !found) return res.json;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`server ${name}/${server} not ${want} in time; last: ${JSON.stringify(last)}`);
}

/** Read the SSE progress stream to its end. */
export async function readProgress(base: string, path: string, headers: Record<string, string>) {
  const res = await fetch(base + path, { headers });
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((chunk) => chunk.startsWith('data: '))
    .map(
      (chunk) =>
        JSON.parse(chunk.slice(6)) as {
          progress: number;
          message: string;
          ready?: boolean;
          failed?: boolean;
        },
    );
}

/** Open a WebSocket through the hub; resolves on open, rejects with the HTTP status when refused. */
export function openSocket(
  url: string,
  headers: Record<string, string>,
  timeoutMs = 30_000,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`refused with ${res.statusCode}`)),
    );
    socket.once('error', reject);
  });
}

/** One kernel_info round trip on a kernel channels socket. */
export function kernelInfo(socket: WebSocket, timeoutMs = 30_000): Promise<{ status: string }> {
  const msgId = `${Date.now()}-${Math.random()}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no kernel_info_reply in time')), timeoutMs);
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data));
      if (message.parent_header?.msg_id === msgId && message.msg_type === 'kernel_info_reply') {
        socket.off('message', onMessage);
        clearTimeout(timer);
        resolve(message.content);
      }
    };
    socket.on('message', onMessage);
    socket.once('error', reject);
    socket.send(
      JSON.stringify({
        header: {
          msg_id: msgId,
          msg_type: 'kernel_info_request',
          username: '',
          session: 'test',
          version: '5.3',
          date: new Date().toISOString(),
        },
        parent_header: {},
        metadata: {},
        content: {},
        channel: 'shell',
        buffers: [],
      }),
    );
  });
}

const run = promisify(execFile);

/**
 * Remove everything a test deployment left on the local daemon and firewall: its containers,
 * volumes and network (by its labels and names), and the iptables rules of its bridge.
 * Returns the names of containers that were still there.
 */
export async function removeDeployment(
  names: {
    network: string;
    label(domain: string): string;
    resourcePrefix: string;
    identity: string;
  },
  /** Another Docker daemon to clean (its containers, volumes, network); not its firewall. */
  dockerHost?: string,
): Promise<string[]> {
  const docker = async (...args: string[]) =>
    (await run('docker', [...(dockerHost ? ['-H', dockerHost] : []), ...args])).stdout.trim();
  const listed = (text: string) => text.split('\n').filter(Boolean);
  const left = listed(
    await docker('ps', '-a', '--filter', `name=^${names.resourcePrefix}`, '--format', '{{.Names}}'),
  );
  if (left.length > 0) await docker('rm', '-f', ...left);
  const volumes = listed(
    await docker(
      'volume',
      'ls',
      '--filter',
      `name=^${names.resourcePrefix}`,
      '--format',
      '{{.Name}}',
    ),
  );
  if (volumes.length > 0) await docker('volume', 'rm', '-f', ...volumes);
  await docker('network', 'rm', names.network).catch(() => '');
  const bridge = `or${names.identity}`;
  for (const chain of ['INPUT', 'DOCKER-USER']) {
    const rules = (await run('iptables', ['-w', '-S', chain])).stdout.split('\n');
    for (const rule of rules) {
      if (!new RegExp(`-i ${bridge}\\d+ `).test(rule)) continue;
      const args = rule
        .replace(/^-A /, '')
        .match(/"[^"]*"|\S+/g)!
        .map((a) => a.replace(/"/g, ''));
      await run('iptables', ['-w', '-D', ...args]).catch(() => undefined);
    }
  }
  return left;
}

/**
 * A "jupyter" that answers `--version` (the local backend's start-up check runs it as an
 * unprivileged user) and otherwise sleeps: its spawn stays in progress until stopped. In a
 * folder the local servers' users can enter, as the real command's is.
 */
export function sleepingJupyter(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orrery-sleeper-'));
  chmodSync(dir, 0o755);
  const command = path.join(dir, 'jupyter');
  writeFileSync(
    command,
    '#!/bin/sh\nif [ "$1" = --version ]; then echo 0; exit 0; fi\nexec sleep 600\n',
  );
  chmodSync(command, 0o755);
  return command;
}

/**
 * A hub with a job dispatcher in a process of its own (jobsFaultHub.ts), for the tests that
 * kill it with SIGKILL and start another on the same database, state folder and name prefix.
 */
export class KillableHub {
  readonly options: FaultHubOptions;
  /** The URL of the hub process started last. */
  url = '';
  private child: ChildProcess | undefined;

  /** Its state folder is `<tmp>/<prefix>state`; its secret key is new. */
  constructor(options: Omit<FaultHubOptions, 'secretKey' | 'stateDir'>) {
    this.options = {
      secretKey: randomBytes(32).toString('base64url'),
      stateDir: path.join(tmpdir(), `${options.prefix}state`),
      ...options,
    };
  }

  /** Start a hub process (on a port of its own each time); resolves once it listens. */
  async start(): Promise<void> {
    const started = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/compute/jobsFaultHub.ts', JSON.stringify(this.options)],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.join(import.meta.dirname, '..', '..') },
    );
    this.child = started;
    let stderr = '';
    started.stderr!.on('data', (chunk) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: started.stdout! }).once('line', resolve);
      started.once('exit', (code, signal) =>
        reject(
          new Error(`the hub process exited (${code ?? signal}) before it listened: ${stderr}`),
        ),
      );
    });
    this.url = JSON.parse(line).url;
  }

  /** SIGKILL the hub process, if one runs; resolves once it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** A session of `username` (signed up before, password "correct horse") on the hub now running. */
  async signIn(username: string): Promise<Client> {
    const client = new Client(this.url);
    const answer = await client.post('/hub/api/login', { username, password: 'correct horse' });
    assert.equal(answer.status, 200, answer.text);
    return client;
  }

  /**
   * After the tests: remove its deployment's containers and volumes, unmount its volume views
   * (a killed hub never does) and delete its state folder.
   */
  async removeLeftovers(): Promise<void> {
    const { databaseUrl, prefix, stateDir } = this.options;
    await removeDeployment(await deploymentOf(databaseUrl, prefix));
    await releaseViews({ files: {}, stateDir });
    await rm(stateDir, { recursive: true, force: true });
  }
}
