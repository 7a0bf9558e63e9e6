/**
 * A Docker host reached over SSH for tests: a private sshd on a loopback port that admits one
 * generated key, in front of this machine's daemon (dockerode runs `docker system dial-stdio`
 * through it, as it would on a remote host).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@orrery/spawner';

const run = promisify(execFile);

export interface SshDocker {
  port: number;
  /** The host key's fingerprint, `SHA256:…`. */
  fingerprint: string;
  /** Path of the private key sshd admits. */
  identityFile: string;
  /** Its text, for direct dockerode connections. */
  privateKey: string;
  close(): Promise<void>;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startSshDocker(): Promise<SshDocker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orrery-ssh-'));
  const file = (name: string) => path.join(dir, name);
  for (const key of ['host_key', 'client_key'])
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', file(key)]);
  writeFileSync(file('authorized_keys'), readFileSync(file('client_key.pub')));
  const port = await freePort();
  writeFileSync(
    file('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${file('host_key')}`,
      `AuthorizedKeysFile ${file('authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${file('sshd.pid')}`,
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  const sshd: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', file('sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  sshd.stderr!.on('data', (chunk) => {
    log += chunk;
  });
  for (let i = 0; i < 50 && !(await accepts(port)); i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  if (!(await accepts(port))) throw new Error(`sshd did not come up: ${log}`);
  const { stdout } = await run('ssh-keygen', ['-lf', file('host_key.pub')]);
  return {
    port,
    fingerprint: stdout.split(' ')[1]!,
    identityFile: file('client_key'),
    privateKey: readFileSync(file('client_key'), 'utf8'),
    async close() {
      sshd.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
