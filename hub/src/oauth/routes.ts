/**
 * The hub as the OAuth 2 provider of users' servers, as JupyterHub is to jupyterhub-singleuser:
 * the authorization-code flow only. A signed-in user opening their own server is sent back to
 * it with a code at once (no consent page: it is their server); the server trades the code,
 * with its own token as the client secret, for an access token that reaches that server only.
 */
import { Type } from '@sinclair/typebox';
import { createToken, lookupToken } from '../auth/tokens.ts';
import { HttpError } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Strict } from '../http/schemas.ts';
import { callbackOf, clientIdOf, serverOfClient } from './clients.ts';
import { hasServer, insertCode, takeCode } from './store.ts';

/** A code lives long enough for one redirect and one request back, no longer. */
const CODE_SECONDS = 120;

/** A refusal with OAuth's error code as the rule (`{error, message, rule: "invalid_grant"}`). */
const oauthError = (status: number, rule: string, message: string) =>
  new HttpError(status, message, { rule });

const AuthorizeQuery = Type.Object({
  client_id: Type.String({ maxLength: 200 }),
  redirect_uri: Type.String({ maxLength: 2000 }),
  response_type: Type.String({ maxLength: 50 }),
  state: Type.Optional(Type.String({ maxLength: 2000 })),
  scope: Type.Optional(Type.String({ maxLength: 2000 })),
});

const TokenBody = Type.Object({
  grant_type: Type.String({ maxLength: 50 }),
  code: Type.String({ maxLength: 200 }),
  redirect_uri: Type.String({ maxLength: 2000 }),
  client_id: Type.String({ maxLength: 200 }),
  client_secret: Type.Optional(Type.String({ maxLength: 200 })),
});

const TokenAnswer = Strict({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
});

export const oauthRoutes = [
  route({
    method: 'get',
    path: '/oauth2/authorize',
    jupyterhub: true,
    tag: 'oauth',
    summary:
      'OAuth 2 authorization of a user’s own server (jupyterhub-singleuser): redirects back to the server’s callback with a single-use code; without a hub session, to the sign-in page first',
    // The browser's hub session is checked in the handler: without one the answer is the
    // sign-in page, not a 401, and API tokens do not count (a code is for a browser).
    access: { anonymous: true },
    query: AuthorizeQuery,
    status: 302,
    response: Type.Null(),
    async handler({ hub, req, res, caller, query }) {
      if (caller?.via !== 'session') {
        res.redirect(302, `/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
        return null;
      }
      if (query.response_type !== 'code')
        throw oauthError(400, 'unsupported_response_type', 'Only response_type=code is supported');
      const client = serverOfClient(query.client_id);
      if (!client) throw oauthError(400, 'invalid_client', 'No such OAuth client');
      if (client.ownerSafeName !== caller.user.safeName)
        throw new HttpError(403, 'This server belongs to another user');
      if (!(await hasServer(hub.db, caller.user.id, client.serverName)))
        throw oauthError(400, 'invalid_client', 'That server is not running');
      // Exactly the server's own callback: a code never leaves for anywhere else.
      const callback = callbackOf(client.ownerSafeName, client.serverName);
      if (query.redirect_uri !== callback)
        throw oauthError(400, 'invalid_request', 'redirect_uri is not this client’s callback');
      const code = await insertCode(
        hub.db,
        {
          userId: caller.user.id,
          serverName: client.serverName,
          clientId: query.client_id,
          redirectUri: callback,
        },
        CODE_SECONDS,
      );
      const target = new URLSearchParams({ code });
      if (query.state !== undefined) target.set('state', query.state);
      res.set('cache-control', 'no-store').redirect(302, `${callback}?${target}`);
      return null;
    },
  }),
  route({
    method: 'post',
    path: '/oauth2/token',
    jupyterhub: true,
    tag: 'oauth',
    summary:
      'OAuth 2 token endpoint (form-encoded, grant_type=authorization_code): the server, with its own token as client_secret, trades a code for an access token to itself',
    // The client authenticates in the body (client_secret: its server's token), checked in
    // the handler; whatever Authorization header comes with it is not the client's proof.
    access: { anonymous: true },
    body: TokenBody,
    response: TokenAnswer,
    async handler({ hub, body, res }) {
      if (body.grant_type !== 'authorization_code')
        throw oauthError(400, 'unsupported_grant_type', 'Only authorization_code is supported');
      const client = serverOfClient(body.client_id);
      // The client's secret is its server's token.
      const server = body.client_secret ? await lookupToken(hub.db, body.client_secret) : undefined;
      const owner = server?.kind === 'server' ? server.owner : null;
      if (
        !client ||
        !server ||
        server.kind !== 'server' ||
        !owner ||
        clientIdOf(owner.safeName, server.serverName ?? '') !== body.client_id
      )
        throw oauthError(401, 'invalid_client', 'The client’s credentials are not valid');
      const grant = await takeCode(hub.db, body.code);
      if (
        !grant ||
        grant.expired ||
        grant.clientId !== body.client_id ||
        grant.redirectUri !== body.redirect_uri ||
        grant.userId !== owner.id ||
        grant.serverName !== server.serverName
      )
        throw oauthError(400, 'invalid_grant', 'The code is not valid (unknown, used, or expired)');
      const { token, record } = await createToken(hub.db, owner.id, {
        kind: 'oauth',
        serverName: grant.serverName,
        scopes: ['access:servers'],
        seconds: hub.config.serverTokenSeconds,
        note: `OAuth for server ${grant.serverName === '' ? '(default)' : grant.serverName}`,
        // Not beyond the server's own token: both end with the server.
        notAfter: server.expiresAt,
      });
      res.set('cache-control', 'no-store');
      return {
        access_token: token,
        token_type: 'Bearer' as const,
        expires_in: Math.max(0, Math.round((record.expiresAt.getTime() - Date.now()) / 1000)),
        scope: `access:servers!server=${owner.name}/${grant.serverName}`,
      };
    },
  }),
];
