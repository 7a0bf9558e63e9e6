/** Accounts and sessions: register, log in and out, who am I, user look-up, admin approval. */
import { Type } from '@sinclair/typebox';
import type { Request, Response } from 'express';
import { recordFor } from '../activity/record.ts';
import { selfOrAdmin } from '../auth/guards.ts';
import {
  checkPasswordRules,
  MAX_PASSWORD_LENGTH,
  verifyDecoy,
  verifyPassword,
} from '../auth/passwords.ts';
import type { UserRecord } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';
import { createSession, deleteSession, SESSION_COOKIE } from '../auth/sessions.ts';
import { setXsrfCookie } from '../auth/xsrf.ts';
import type { Queryable } from '../db/pool.ts';
import { inTransaction } from '../db/pool.ts';
import { Conflict } from '../errors.ts';
import { HttpError } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Empty, NameParams, NoQuery, Username } from '../http/schemas.ts';
import type { Hub } from '../hub.ts';
import { updateAccountFlags } from './flags.ts';
import { hubDetails, JUPYTERHUB_API_VERSION } from './hubDetails.ts';
import { normaliseUsername } from './names.ts';
import { deleteAccount } from './removal.ts';
import { HubDetails, HubInfo, LoggedIn, Me, NewUsers, Registered, UserPage } from './responses.ts';
import { createAccount, userNamed } from './service.ts';
import { findUserByName, listUsers, passwordHashOf, recordLogin } from './store.ts';
import { factsOf, type ModelView, UserModel, userModel } from './userModel.ts';

/** The model of each user in `users`, as a caller with `view` sees it. */
async function modelsOf(db: Queryable, users: UserRecord[], view: ModelView) {
  return (await factsOf(db, users)).map((facts) => userModel(facts, view));
}

/** A caller's view of user models: by their scopes, culling as configured. */
const viewOf = (hub: Hub, scopes: ReadonlySet<Scope>): ModelView => ({
  scopes,
  idleCullSeconds: hub.config.compute.idleCullSeconds,
});

/** What an account sees of itself right after registering or signing in (no servers yet matter). */
const OWN_ACCOUNT: ReadonlySet<Scope> = new Set(['read:users', 'read:users:activity']);

/** JupyterHub's paginated answer is asked for with this media type; otherwise a plain list. */
const PAGINATION_TYPE = 'application/jupyterhub-pagination+json';

const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });
const Email = Type.String({ format: 'email', maxLength: 254 });

/** Start a browser session for `user`: used by password login and single sign-on. */
export async function startSession(
  hub: Hub,
  req: Request,
  res: Response,
  user: UserRecord,
): Promise<void> {
  const secret = await createSession(hub.db, user.id, hub.config.sessionSeconds, req.ip);
  await recordLogin(hub.db, user.id);
  res.cookie(SESSION_COOKIE, secret, {
    httpOnly: true,
    sameSite: 'lax',
    // Secure when configured, or when the request came over https (directly or via a trusted proxy).
    secure: hub.config.secureCookies || req.secure,
    path: '/',
    maxAge: hub.config.sessionSeconds * 1000,
  });
  // The XSRF token is bound to the session: the new session's pages need a new one.
  setXsrfCookie(res, hub.config.secureCookies || req.secure, secret);
}

const tooManyFailures = (wait: number) =>
  new HttpError(429, `Too many wrong passwords for this account; try again in ${wait} s`, {
    headers: { 'Retry-After': String(wait) },
  });

/** Check a username and password under the login rate limits; the account on success. */
export async function checkLogin(
  hub: Hub,
  req: Request,
  username: string,
  password: string,
): Promise<UserRecord> {
  const name = normaliseUsername(username);
  const address = req.ip ?? '';
  hub.limits.loginPerAddress.check(`addr:${address}`, 'Too many login attempts from your address');
  // Keyed on (account, address): wrong passwords from one address never lock the owner out elsewhere.
  const wait = hub.limits.loginBackoff.waitSeconds(name, address);
  if (wait > 0) throw tooManyFailures(wait);
  const found = await passwordHashOf(hub.db, name);
  const ok = found?.hash
    ? await verifyPassword(found.hash, password)
    : await verifyDecoy(password, hub.config.argon2);
  if (!found || !ok) {
    hub.limits.loginBackoff.failed(name, address);
    await recordFor(hub.db, req, {
      type: 'user.login_failed',
      userId: found?.user.id ?? null,
      payload: { name },
    });
    throw new HttpError(403, 'Wrong username or password');
  }
  if (!found.user.approved)
    throw new HttpError(403, 'Your account is waiting for an administrator’s approval');
  hub.limits.loginBackoff.succeeded(name, address);
  await recordFor(hub.db, req, {
    type: 'user.login',
    userId: found.user.id,
    payload: { method: 'password' },
  });
  return found.user;
}

export const accountRoutes = [
  route({
    method: 'post',
    path: '/register',
    tag: 'accounts',
    summary: 'Create an account',
    access: { anonymous: true },
    response: Registered,
    body: Type.Object(
      { username: Username, email: Email, password: Password },
      { additionalProperties: false },
    ),
    status: 201,
    async handler({ hub, req, body }) {
      if (!hub.config.openRegistration)
        throw new HttpError(403, 'Registration is closed; ask an administrator for an account');
      // Before the argon2 hash: each registration costs the hub memory and CPU time.
      hub.limits.registerPerAddress.check(
        `addr:${req.ip ?? ''}`,
        'Too many registrations from your address',
      );
      checkPasswordRules(body.password);
      const approved = !hub.config.requireApproval;
      const user = await inTransaction(hub.db, (client) =>
        createAccount(
          client,
          hub.config,
          { username: body.username, email: body.email, password: body.password, approved },
          {
            type: 'user.register',
            address: req.ip ?? null,
          },
        ),
      );
      const [model] = await modelsOf(hub.db, [user], viewOf(hub, OWN_ACCOUNT));
      return { user: model!, pending_approval: !approved };
    },
  }),
  route({
    method: 'post',
    path: '/login',
    tag: 'accounts',
    summary: 'Log in with a password; sets the session cookie',
    access: { anonymous: true },
    response: LoggedIn,
    body: Type.Object({ username: Username, password: Password }, { additionalProperties: false }),
    async handler({ hub, req, res, body }) {
      const user = await checkLogin(hub, req, body.username, body.password);
      await startSession(hub, req, res, user);
      const [model] = await modelsOf(hub.db, [user], viewOf(hub, OWN_ACCOUNT));
      return { user: model! };
    },
  }),
  route({
    method: 'post',
    path: '/logout',
    tag: 'accounts',
    summary: 'End the browser session',
    access: { anonymous: true },
    status: 204,
    async handler({ hub, req, res, caller }) {
      const cookie = req.cookies?.[SESSION_COOKIE];
      if (typeof cookie === 'string') await deleteSession(hub.db, cookie);
      if (caller) await recordFor(hub.db, req, { type: 'user.logout', userId: caller.user.id });
      res.clearCookie(SESSION_COOKIE, { path: '/' });
    },
  }),
  route({
    method: 'get',
    path: '/user',
    jupyterhub: true,
    tag: 'accounts',
    summary:
      'Who am I: my user model (only my name without read:users), with the scopes of this credential',
    // JupyterHub's answer to no credential: its clients ask here to identify a token.
    access: { scope: 'read:users:name', anonymousStatus: 403 },
    response: Me,
    lab: true,
    async handler({ hub, caller }) {
      const { user, scopes, serverName } = caller!;
      if (!scopes.has('read:users')) {
        return {
          kind: 'user' as const,
          name: user.name,
          admin: user.admin,
          // An OAuth token reaches one server: JupyterHub's filter says which.
          scopes: caller!.oauth
            ? [`access:servers!server=${user.name}/${serverName ?? ''}`]
            : [...scopes].sort(),
          token_server: serverName ?? null,
        };
      }
      const [model] = await modelsOf(hub.db, [user], viewOf(hub, scopes));
      return {
        ...model!,
        scopes: [...caller!.scopes].sort(),
        token_server: caller!.serverName ?? null,
      };
    },
  }),
  route({
    method: 'get',
    path: '/users',
    jupyterhub: true,
    tag: 'accounts',
    summary:
      'List users, paginated (JupyterHub’s offset, limit and state; its paginated answer with Accept: application/jupyterhub-pagination+json). Admins see user models, others names only (for inviting and sharing).',
    access: { scope: 'list:users' },
    response: UserPage,
    lab: true,
    query: Type.Object(
      {
        prefix: Type.Optional(Type.String({ maxLength: 64, description: 'names starting so' })),
        name_filter: Type.Optional(
          Type.String({ maxLength: 64, description: 'names containing it (JupyterHub’s)' }),
        ),
        state: Type.Optional(
          Type.Union([Type.Literal('ready'), Type.Literal('active'), Type.Literal('inactive')], {
            description: 'ready: a server is ready; active: any server; inactive: none',
          }),
        ),
        offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 200 })),
        include_stopped_servers: Type.Optional(
          Type.String({ description: 'accepted; a stopped server has no model in Orrery' }),
        ),
      },
      { additionalProperties: false },
    ),
    async handler({ hub, req, caller, query }) {
      const offset = query.offset ?? 0;
      const limit = query.limit ?? 200;
      const { users, total } = await listUsers(hub.db, {
        prefix: normaliseUsername(query.prefix ?? ''),
        ...(query.name_filter ? { contains: normaliseUsername(query.name_filter) } : {}),
        ...(query.state ? { state: query.state } : {}),
        offset,
        limit,
      });
      const items =
        caller!.user.admin && caller!.serverName === undefined
          ? await modelsOf(hub.db, users, viewOf(hub, caller!.scopes))
          : users.map((user) => ({ kind: 'user' as const, name: user.name }));
      if (!(req.get('accept') ?? '').includes(PAGINATION_TYPE)) return items;
      const more = offset + items.length < total;
      const nextQuery = new URLSearchParams(req.query as Record<string, string>);
      nextQuery.set('offset', String(offset + limit));
      nextQuery.set('limit', String(limit));
      return {
        items,
        _pagination: {
          offset,
          limit,
          total,
          next: more
            ? {
                offset: offset + limit,
                limit,
                url: `${req.protocol}://${req.get('host')}${req.baseUrl}${req.path}?${nextQuery}`,
              }
            : null,
        },
      };
    },
  }),
  route({
    method: 'post',
    path: '/users',
    jupyterhub: true,
    tag: 'admin',
    summary:
      'Create users (JupyterHub’s body); approved, without a password (they sign in by single sign-on, or an admin sets one with the CLI). 409 when all exist; existing names are skipped.',
    access: { scope: 'admin:users' },
    response: NewUsers,
    body: Type.Object(
      {
        usernames: Type.Array(Username, { minItems: 1, maxItems: 1000, uniqueItems: true }),
        admin: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    status: 201,
    async handler({ hub, req, caller, body }) {
      const created = await inTransaction(hub.db, async (client) => {
        const made: UserRecord[] = [];
        for (const raw of body.usernames) {
          if (await findUserByName(client, normaliseUsername(raw))) continue;
          made.push(await createByAdmin(client, hub, req, caller!.user.id, raw, body.admin));
        }
        return made;
      });
      if (created.length === 0)
        throw new Conflict('users_exist', `All ${body.usernames.length} users already exist`);
      return modelsOf(hub.db, created, viewOf(hub, caller!.scopes));
    },
  }),
  route({
    method: 'post',
    path: '/users/:name',
    jupyterhub: true,
    tag: 'admin',
    summary: 'Create one user (JupyterHub’s); 409 if the name is taken',
    access: { scope: 'admin:users' },
    response: UserModel,
    params: NameParams,
    body: Type.Object({ admin: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    status: 201,
    async handler({ hub, req, caller, params, body }) {
      const user = await inTransaction(hub.db, (client) =>
        createByAdmin(client, hub, req, caller!.user.id, params.name, body.admin),
      );
      const [model] = await modelsOf(hub.db, [user], viewOf(hub, caller!.scopes));
      return model!;
    },
  }),
  route({
    method: 'get',
    path: '/users/:name',
    jupyterhub: true,
    tag: 'accounts',
    summary: 'One user’s model, with their servers keyed by name ("" the default server)',
    access: { scope: 'read:users', guard: selfOrAdmin() },
    response: UserModel,
    lab: true,
    params: NameParams,
    query: NoQuery,
    async handler({ hub, caller, params }) {
      const user = await userNamed(hub.db, params.name);
      const [model] = await modelsOf(hub.db, [user], viewOf(hub, caller!.scopes));
      return model!;
    },
  }),
  route({
    method: 'patch',
    path: '/users/:name',
    tag: 'admin',
    summary:
      'Approve a registration or disable an account (approved: false ends its sessions), or make or unmake an admin',
    access: { scope: 'admin:users' },
    response: UserModel,
    params: NameParams,
    body: Type.Object(
      { approved: Type.Optional(Type.Boolean()), admin: Type.Optional(Type.Boolean()) },
      { additionalProperties: false, minProperties: 1 },
    ),
    async handler({ hub, req, caller, params, body }) {
      const updated = await updateAccountFlags(hub, req, caller!.user.id, params.name, body);
      const [model] = await modelsOf(hub.db, [updated], viewOf(hub, caller!.scopes));
      return model!;
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name',
    jupyterhub: true,
    tag: 'admin',
    summary: 'Delete an account (its servers are stopped, its files removed)',
    access: { scope: 'admin:users' },
    params: NameParams,
    status: 204,
    async handler({ hub, req, caller, params }) {
      await deleteAccount(hub, req, params.name, caller!.user.id);
    },
  }),
  route({
    method: 'get',
    path: '/',
    jupyterhub: true,
    tag: 'meta',
    summary: 'Hub version and where the API is described (JupyterHub’s `{version}`, and more)',
    access: { anonymous: true },
    response: HubInfo,
    query: Empty,
    async handler({ hub }) {
      return {
        version: JUPYTERHUB_API_VERSION,
        orrery_version: hub.version,
        openapi: '/hub/api/openapi.json',
        sso: hub.config.oidc ? hub.config.oidc.name : null,
      };
    },
  }),
  route({
    method: 'get',
    path: '/info',
    jupyterhub: true,
    tag: 'meta',
    summary: 'Details of the hub (JupyterHub’s /info): versions, runtime, backends, authenticator',
    access: { scope: 'read:hub' },
    response: HubDetails,
    query: Empty,
    async handler({ hub }) {
      return hubDetails(hub);
    },
  }),
];

/** An account made by an admin: approved, no password, in the Public group, recorded. */
function createByAdmin(
  db: Queryable,
  hub: Hub,
  req: Request,
  actorId: number,
  username: string,
  admin: boolean | undefined,
): Promise<UserRecord> {
  return createAccount(
    db,
    hub.config,
    { username, approved: true, admin: admin ?? false },
    { type: 'user.create', address: req.ip ?? null, actorId },
  );
}
