/**
 * The OAuth clients of users' servers, as jupyterhub-singleuser knows them: each server is one
 * client, named after its owner and server, authenticated by its own server token, with one
 * callback under its base URL. Pure: names and scopes from the server's identity.
 */
import { serverBaseUrl } from '../compute/serverModel.ts';

const CLIENT_PREFIX = 'jupyterhub-user-';
/** A safe name is [a-z0-9-], so the '.' before a named server's name cannot be part of it. */
const CLIENT_ID = /^jupyterhub-user-([a-z0-9-]+)(?:\.([a-z0-9][a-z0-9-]*))?$/;

/** The client id of a server; also the name of the cookie jupyterhub-singleuser sets. */
export const clientIdOf = (ownerSafeName: string, serverName: string): string =>
  serverName === ''
    ? `${CLIENT_PREFIX}${ownerSafeName}`
    : `${CLIENT_PREFIX}${ownerSafeName}.${serverName}`;

/** The server a client id names, or null for anything else. */
export function serverOfClient(
  clientId: string,
): { ownerSafeName: string; serverName: string } | null {
  const match = CLIENT_ID.exec(clientId);
  return match ? { ownerSafeName: match[1]!, serverName: match[2] ?? '' } : null;
}

/** Where the hub sends the browser back with a code: the server's own callback, and no other. */
export const callbackOf = (ownerSafeName: string, serverName: string): string =>
  `${serverBaseUrl(ownerSafeName, serverName)}oauth_callback`;

/**
 * What the server demands of a user's token (JUPYTERHUB_OAUTH_ACCESS_SCOPES), in JupyterHub's
 * filtered spelling: access to this one server. `/hub/api/user` reports an OAuth token's scope
 * the same way.
 */
export const accessScopeOf = (userName: string, serverName: string): string =>
  `access:servers!server=${userName}/${serverName}`;

/** The environment that makes a server an OAuth client of the hub (jupyterhub-singleuser's). */
export function oauthClientEnv(
  user: { name: string; safeName: string },
  serverName: string,
  hubApiUrl: string,
  serverToken: string,
): Record<string, string> {
  const access = JSON.stringify([accessScopeOf(user.name, serverName)]);
  return {
    JUPYTERHUB_API_TOKEN: serverToken,
    JUPYTERHUB_CLIENT_ID: clientIdOf(user.safeName, serverName),
    JUPYTERHUB_OAUTH_CALLBACK_URL: callbackOf(user.safeName, serverName),
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: access,
    // The deprecated name of the same (jupyterhub-singleuser before 3.0 reads only this).
    JUPYTERHUB_OAUTH_SCOPES: access,
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: '[]',
    JUPYTERHUB_ACTIVITY_URL: `${hubApiUrl}/users/${encodeURIComponent(user.name)}/activity`,
    JUPYTERHUB_DEFAULT_URL: '/lab',
  };
}
