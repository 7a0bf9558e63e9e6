/**
 * A server as JupyterHub's REST API shows it (its "server model"), plus Orrery's own fields
 * (image, domain, status, cull_at). Pure, so the user model (accounts) and the compute routes
 * describe a server the same way. The default server's name is "".
 */
import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../http/schemas.ts';
import type { ServerRecord } from './store.ts';

/** The path a server answers under; the default server ("") owns `/user/<name>/` itself. */
export const serverBaseUrl = (ownerSafeName: string, serverName: string) =>
  serverName === '' ? `/user/${ownerSafeName}/` : `/user/${ownerSafeName}/${serverName}/`;

/** The API path of a server: JupyterHub's `/users/{name}/server` for the default one. */
export const serverApiPath = (owner: string, serverName: string) =>
  serverName === ''
    ? `/hub/api/users/${encodeURIComponent(owner)}/server`
    : `/hub/api/users/${encodeURIComponent(owner)}/servers/${serverName}`;

/** When an idle server will be stopped, or null when culling is off or it is not running. */
export function cullAt(
  server: Pick<ServerRecord, 'status' | 'lastActivityAt'>,
  idleCullSeconds: number,
): Date | null {
  if (!idleCullSeconds || server.status !== 'running') return null;
  return new Date(new Date(server.lastActivityAt).getTime() + idleCullSeconds * 1000);
}

export const ServerModel = Strict({
  name: Type.String({ description: '"" for the default server' }),
  ready: Type.Boolean(),
  pending: Nullable(Type.Union([Type.Literal('spawn'), Type.Literal('stop')])),
  stopped: Type.Boolean({ description: 'Always false: a stopped server has no model' }),
  url: Type.String({ description: 'Where the server answers, under this hub' }),
  progress_url: Type.String(),
  started: Timestamp,
  last_activity: Timestamp,
  user_options: Type.Record(Type.String(), Type.Unknown()),
  state: Type.Optional(
    Type.Unknown({ description: 'The backend’s saved state; with "admin:servers" only' }),
  ),
  image: Type.String(),
  domain: Type.String(),
  status: Type.Union([Type.Literal('starting'), Type.Literal('running'), Type.Literal('stopping')]),
  ready_at: Nullable(Timestamp),
  cull_at: Nullable(Timestamp),
});

export function serverModel(
  server: ServerRecord,
  options: { idleCullSeconds: number; withState: boolean },
) {
  return {
    name: server.name,
    ready: server.status === 'running',
    pending:
      server.status === 'starting'
        ? ('spawn' as const)
        : server.status === 'stopping'
          ? ('stop' as const)
          : null,
    stopped: false,
    url: serverBaseUrl(server.ownerSafeName, server.name),
    progress_url: `${serverApiPath(server.owner, server.name)}/progress`,
    started: server.startedAt,
    last_activity: server.lastActivityAt,
    user_options: server.userOptions ?? {},
    ...(options.withState ? { state: server.state ?? {} } : {}),
    image: server.image,
    domain: server.domain,
    status: server.status,
    ready_at: server.readyAt,
    cull_at: cullAt(server, options.idleCullSeconds),
  };
}

/** A user's servers as JupyterHub keys them: by name, "" the default. */
export function serversByName(
  servers: ServerRecord[],
  options: { idleCullSeconds: number; withState: boolean },
) {
  return Object.fromEntries(servers.map((server) => [server.name, serverModel(server, options)]));
}
