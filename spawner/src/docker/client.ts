/**
 * The one place that loads dockerode. Connects to a Docker host over a local socket, TCP (with
 * or without TLS) or SSH, and classifies Docker API errors.
 */
import Docker from 'dockerode';

export type DockerClient = Docker;

/** How to reach one Docker host. Exactly one of `socketPath` or `host` is set. */
export interface DockerEndpoint {
  /** Unix socket of a local daemon, e.g. `/var/run/docker.sock`. */
  socketPath?: string;
  /** Host name or address of a remote daemon. */
  host?: string;
  port?: number;
  /** `https` requires `ca`/`cert`/`key` (PEM text); `ssh` uses `username` and the SSH agent. */
  protocol?: 'http' | 'https' | 'ssh';
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
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
