/**
 * The one place that loads dockerode. Connects to a Docker host over a local socket, TCP (with
 * or without TLS) or SSH, and classifies Docker API errors.
 */
import { createHash } from 'node:crypto';
import Docker from 'dockerode';

export type DockerClient = Docker;

/** How to reach one Docker host. Exactly one of `socketPath` or `host` is set. */
export interface DockerEndpoint {
  /** Unix socket of a local daemon, e.g. `/var/run/docker.sock`. */
  socketPath?: string;
  /** Host name or address of a remote daemon. */
  host?: string;
  port?: number;
  /**
   * `https` requires `ca`/`cert`/`key` (PEM text); `ssh` needs `username`, `hostKeyFingerprint`
   * and a way to authenticate (`sshPrivateKey` and/or `sshAgent`); the daemon is reached through
   * `docker system dial-stdio` on the host.
   */
  protocol?: 'http' | 'https' | 'ssh';
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  /** The SSH host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`); others are refused. */
  hostKeyFingerprint?: string;
  /** OpenSSH private key (text) for SSH. */
  sshPrivateKey?: string;
  /** Path of an SSH agent's socket (SSH_AUTH_SOCK). */
  sshAgent?: string;
}

/** `SHA256:<base64, unpadded>` of a raw SSH host key, as OpenSSH prints fingerprints. */
export function sshFingerprint(hostKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}`;
}

function sshOptions(endpoint: DockerEndpoint) {
  const expected = endpoint.hostKeyFingerprint;
  if (!expected) throw new TypeError('an SSH Docker host needs its host key fingerprint');
  if (!endpoint.sshPrivateKey && !endpoint.sshAgent) {
    throw new TypeError('an SSH Docker host needs a private key or an SSH agent');
  }
  return {
    ...(endpoint.sshPrivateKey ? { privateKey: endpoint.sshPrivateKey } : {}),
    ...(endpoint.sshAgent ? { agent: endpoint.sshAgent } : {}),
    // A host that is not the one configured never sees a credential or a Docker request.
    hostVerifier: (key: Buffer) => sshFingerprint(key) === expected,
  };
}

export function connectDocker(endpoint: DockerEndpoint): DockerClient {
  if (endpoint.socketPath !== undefined) return new Docker({ socketPath: endpoint.socketPath });
  if (endpoint.host === undefined) throw new TypeError('Docker endpoint needs socketPath or host');
  const protocol = endpoint.protocol ?? 'http';
  return new Docker({
    host: endpoint.host,
    port: endpoint.port ?? (protocol === 'https' ? 2376 : protocol === 'ssh' ? 22 : 2375),
    protocol,
    ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
    ...(endpoint.cert === undefined ? {} : { cert: endpoint.cert }),
    ...(endpoint.key === undefined ? {} : { key: endpoint.key }),
    ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
    ...(protocol === 'ssh' ? { sshOptions: sshOptions(endpoint) } : {}),
  });
}

/** HTTP status of a Docker API error, or undefined for anything else (e.g. ECONNREFUSED). */
export function dockerStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = (error as { statusCode: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** True for "no such container/service/volume" (404). */
export function isNotFound(error: unknown): boolean {
  return dockerStatus(error) === 404;
}

/**
 * True for errors meaning the thing is already gone or going: 404 (no such object), 409
 * (removal already in progress / conflict with a concurrent remove) and 304 (already stopped).
 */
export function isAlreadyGone(error: unknown): boolean {
  const status = dockerStatus(error);
  return status === 404 || status === 409 || status === 304;
}
