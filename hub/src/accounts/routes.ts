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
import {
  createSession,
  deleteSession,
  deleteUserSessions,
  SESSION_COOKIE,
} from '../auth/sessions.ts';
import { setXsrfCookie } from '../auth/xsrf.ts';
import { inTransaction } from '../db/pool.ts';
import { HttpError } from '../http/errors.ts';
import { route } from '../http/route.ts';
import { Empty, NameParams, NoQuery, Username } from '../http/schemas.ts';
import type { Hub } from '../hub.ts';
import { normaliseUsername } from './names.ts';
import { deleteAccount } from './removal.ts';
import { HubInfo, LoggedIn, Me, Registered, User, UserList } from './responses.ts';
import { createAccount, publicUser, userNamed } from './service.ts';
import { countAdmins, passwordHashOf, recordLogin, searchUsers, updateUserFlags } from './store.ts';

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
      return { user: publicUser(user), pendingApproval: !approved };
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
      return { user: publicUser(user) };
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
    tag: 'accounts',
    summary: 'Who am I',
    access: { scope: 'read:user' },
    response: Me,
    lab: true,
    async handler({ caller }) {
      return {
        ...publicUser(caller!.user),
        scopes: [...caller!.scopes].sort(),
        server: caller!.serverName ?? null,
      };
    },
  }),
  route({
    method: 'get',
    path: '/users',
    tag: 'accounts',
    summary: 'Look up users by name prefix (for inviting and sharing); admins see full records',
    access: { scope: 'read:user' },
    response: UserList,
    lab: true,
    query: Type.Object(
      {
        prefix: Type.Optional(Type.String({ maxLength: 64 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })),
      },
      { additionalProperties: false },
    ),
    async handler({ hub, caller, query }) {
      const users = await searchUsers(
        hub.db,
        normaliseUsername(query.prefix ?? ''),
        query.limit ?? 20,
      );
      const admin = caller!.scopes.has('admin');
      return { users: users.map((user) => (admin ? publicUser(user) : { name: user.name })) };
    },
  }),
  route({
    method: 'get',
    path: '/users/:name',
    tag: 'accounts',
    summary: 'One user’s record',
    access: { scope: 'read:user', guard: selfOrAdmin() },
    response: User,
    params: NameParams,
    query: NoQuery,
    async handler({ hub, params }) {
      const user = await userNamed(hub.db, params.name);
      return publicUser(user);
    },
  }),
  route({
    method: 'patch',
    path: '/users/:name',
    tag: 'admin',
    summary: 'Approve a registration, or make or unmake an admin',
    access: { scope: 'admin' },
    response: User,
    params: NameParams,
    body: Type.Object(
      { approved: Type.Optional(Type.Boolean()), admin: Type.Optional(Type.Boolean()) },
      { additionalProperties: false, minProperties: 1 },
    ),
    async handler({ hub, req, caller, params, body }) {
      return inTransaction(hub.db, async (client) => {
        const user = await userNamed(client, params.name);
        if (body.admin === false && user.admin && (await countAdmins(client)) <= 1) {
          throw new HttpError(409, 'This is the last admin; make someone else an admin first');
        }
        const updated = await updateUserFlags(client, user.id, body);
        if (body.approved === false) await deleteUserSessions(client, user.id);
        await recordFor(client, req, {
          type: 'user.update',
          userId: user.id,
          actorId: caller!.user.id,
          payload: { ...body },
        });
        return publicUser(updated!);
      });
    },
  }),
  route({
    method: 'delete',
    path: '/users/:name',
    tag: 'admin',
    summary: 'Delete an account',
    access: { scope: 'admin' },
    params: NameParams,
    status: 204,
    async handler({ hub, req, caller, params }) {
      await deleteAccount(hub, req, params.name, caller!.user.id);
    },
  }),
  route({
    method: 'get',
    path: '/',
    tag: 'meta',
    summary: 'Hub version and where the API is described',
    access: { anonymous: true },
    response: HubInfo,
    query: Empty,
    async handler({ hub }) {
      return {
        version: hub.version,
        openapi: '/hub/api/openapi.json',
        sso: hub.config.oidc ? hub.config.oidc.name : null,
      };
    },
  }),
];
