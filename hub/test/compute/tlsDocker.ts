/**
 * A Docker API over TCP with TLS and client certificates, in front of the local daemon's
 * socket, for tests of `tcp://…?tls=` hosts without a second daemon: a CA, a server and a
 * client certificate are made with openssl; connections without a client certificate signed
 * by that CA are refused during the handshake.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsDocker {
  /** `tcp://127.0.0.1:<port>` */
  url: string;
  /** Directory with ca.pem, cert.pem, key.pem for a client (Docker's layout). */
  clientCertDir: string;
  close(): Promise<void>;
}

async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=orrery test CA',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
  );
  for (const [name, subject] of [
    ['server', '/CN=127.0.0.1'],
    ['client', '/CN=orrery hub'],
  ]) {
    await openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject!,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    );
    await run(
      'sh',
      [
        '-c',
        `printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=${name === 'server' ? 'serverAuth' : 'clientAuth'}\\n' > ${name}.ext`,
      ],
      { cwd: dir },
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }
  // Docker's client layout: ca.pem, cert.pem, key.pem.
  await run('sh', ['-c', 'cp client.pem cert.pem && cp client-key.pem key.pem'], { cwd: dir });
}

export async function startTlsDocker(socketPath = '/var/run/docker.sock'): Promise<TlsDocker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orrery-tls-'));
  await makeCertificates(dir);
  const pem = (name: string) => readFileSync(path.join(dir, name));
  const open = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    {
      ca: pem('ca.pem'),
      cert: pem('server.pem'),
      key: pem('server-key.pem'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (client) => {
      open.add(client);
      client.on('close', () => open.delete(client));
      const daemon = net.connect(socketPath);
      client.pipe(daemon).pipe(client);
      // Either side going away takes the other with it (a destroyed socket does not end a pipe):
      // a connection to the daemon left open would keep the test process alive.
      client.on('close', () => daemon.destroy());
      daemon.on('close', () => client.destroy());
      client.on('error', () => daemon.destroy());
      daemon.on('error', () => client.destroy());
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `tcp://127.0.0.1:${port}`,
    clientCertDir: dir,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
