/** API tokens: a user creates, lists and revokes their own. */
import { Type } from '@sinclair/typebox';
import { userNamed } from '../accounts/service.ts';
import { findUserByName } from '../accounts/store.ts';
import { recordFor } from '../activity/record.ts';
import { inTransaction } from '../db/pool.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Id, NameParams, NoQuery, Username } from '../http/schemas.ts';
import { selfOrAdmin } from './guards.ts';
import { NewToken, TokenList, tokenModel } from './responses.ts';
import { effectiveScopes, isScope, SCOPES } from './scopes.ts';
import {
  countLiveApiTokens,
  createToken,
  listTokens,
  lockTokensOf,
  revokeToken,
} from './tokens.ts';

const ScopeName = Type.Union(Object.keys(SCOPES).map((scope) => Type.Literal(scope)));

export const tokenRoutes = [
  route({
    method: 'get',
    path: '/users/:name/tokens',
    jupyterhub: true,
    tag: 'tokens',
    summary: 'List live API tokens (never their values)',
    access: { scope: 'read:tokens', guard: selfOrAdmin() },
    response: TokenList,
    params: NameParams,
    query: NoQuery,
    async handler({ hub, params }) {
      const user = await userNamed(hub.db, params.name);
      return {
        api_tokens: (await listTokens(hub.db, user.id)).map((t) => tokenModel(user.name, t)),
      };
    },
  }),
  route({
    method: 'post',
    path: '/users/:name/tokens',
    jupyterhub: true,
    tag: 'tokens',
    summary:
      'Create an API token; its value is shown once. An admin may make one for another user, with no scope the admin lacks. A token made with a token expires by its parent’s expiry.',
    access: { scope: 'tokens', guard: selfOrAdmin() },
    response: NewToken,
    params: NameParams,
    body: Type.Object(
      {
        note: Type.Optional(Type.String({ maxLength: 200 })),
        scopes: Type.Optional(Type.Array(ScopeName, { maxItems: 20, uniqueItems: true })),
        expires_in: Type.Optional(Type.Integer({ minimum: 60, description: 'seconds' })),
        roles: Type.Optional(
          Type.Array(Type.String(), {
            maxItems: 0,
            description: 'JupyterHub’s roles; Orrery has none, so only [] is accepted: name scopes',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    status: 201,
    async handler({ hub, req, caller, params, body }) {
      const owner = await userNamed(hub.db, params.name);
      const scopes = body.scopes ?? ['all'];
      const held = caller!.scopes;
      // A token never does more than its owner, nor more than the credential that mints it.
      const adminOnly = scopes.filter((s) => !effectiveScopes([s], owner.admin).size);
      if (adminOnly.length) {
        throw new HttpError(
          403,
          `A token of ${owner.name} cannot have the "${adminOnly[0]}" scope: only admin accounts hold it`,
        );
      }
      const wanted = effectiveScopes(scopes, owner.admin);
      for (const scope of wanted) {
        if (!held.has(scope))
          throw new HttpError(
            403,
            `You cannot give a token the "${scope}" scope: you do not hold it`,
          );
      }
      if (!scopes.every(isScope)) throw new HttpError(400, 'Unknown scope');
      const seconds = body.expires_in ?? hub.config.maxTokenSeconds;
      if (seconds > hub.config.maxTokenSeconds) {
        throw new HttpError(400, `A token may live at most ${hub.config.maxTokenSeconds} seconds`);
      }
      return inTransaction(hub.db, async (client) => {
        await lockTokensOf(client, owner.id);
        if ((await countLiveApiTokens(client, owner.id)) >= hub.config.maxTokensPerUser) {
          throw new HttpError(
            429,
            `${owner.name} holds ${hub.config.maxTokensPerUser} API tokens, the most allowed; revoke one first`,
          );
        }
        const { token, record } = await createToken(client, owner.id, {
          scopes,
          seconds,
          ...(body.note ? { note: body.note } : {}),
          // A token minted by a token never outlives it: a short-lived token cannot renew itself.
          ...(caller!.tokenExpiresAt ? { notAfter: caller!.tokenExpiresAt } : {}),
        });
        await recordFor(client, req, {
          type: 'token.create',
          userId: owner.id,
          actorId: caller!.user.id,
          payload: { token_id: record.id, note: record.note, scopes },
        });
        return { ...tokenModel(owner.name, record), token };
      });
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name/tokens/:token_id',
    jupyterhub: true,
    tag: 'tokens',
    summary: 'Revoke an API token',
    access: { scope: 'tokens', guard: selfOrAdmin() },
    params: Type.Object({ name: Username, token_id: Id }, { additionalProperties: false }),
    status: 204,
    async handler({ hub, req, caller, params }) {
      const user = await findUserByName(hub.db, params.name);
      if (!user || !(await revokeToken(hub.db, user.id, params.token_id))) throw notFound('Token');
      await recordFor(hub.db, req, {
        type: 'token.revoke',
        userId: user.id,
        actorId: caller!.user.id,
        payload: { token_id: params.token_id },
      });
    },
  }),
];
