/**
 * The hub's side of OpenID Connect, and the only module that talks to the
 * provider (through openid-client). Discovery happens on first use and is
 * cached; a provider that cannot be reached, or answers nonsense, becomes a 503
 * that says so, and an answer that fails verification becomes a 400.
 */
import * as oidc from 'openid-client';
import type { OidcConfig } from '../config.ts';
import { HttpError } from '../http/errors.ts';
import { clip } from '../log.ts';
import type { ProfileClaims } from './names.ts';
import type { PendingLogin } from './pending.ts';

/** Seconds to wait for any one request to the provider. */
const PROVIDER_TIMEOUT_SECONDS = 10;
const WANTED_SCOPES = ['openid', 'profile', 'email'];

/** A verified sign-in: who the provider says this is, and the means to ask it more. */
export interface SignedIn {
  subject: string;
  /** The ID token's claims, filled in from the userinfo endpoint when it names nobody. */
  profile(): Promise<ProfileClaims>;
}

// Failures that mean "the provider is down or broken", as opposed to "this answer is wrong".
const UNREACHABLE_CODES = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
]);

export class OidcClient {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(
    readonly settings: OidcConfig,
    /** The hub's callback URL, as registered with the provider. */
    readonly redirectUri: string,
  ) {}

  /** A fresh sign-in to remember, and the provider URL to send the browser to. */
  async start(next: string): Promise<{ login: PendingLogin; url: URL }> {
    const config = await this.discover();
    const login: PendingLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      next,
    };
    const supported = config.serverMetadata().scopes_supported;
    const scope = WANTED_SCOPES.filter(
      (wanted) => wanted === 'openid' || !supported || supported.includes(wanted),
    ).join(' ');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope,
      state: login.state,
      nonce: login.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(login.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { login, url };
  }

  /**
   * Check the provider's answer at `callbackUrl` against the sign-in that was
   * started (state, PKCE, nonce, ID token signature, issuer, audience, expiry)
   * and exchange the code for tokens.
   */
  async finish(callbackUrl: URL, login: PendingLogin): Promise<SignedIn> {
    const config = await this.discover();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw this.refusal(err);
    }
    const claims = tokens.claims();
    if (!claims?.sub) {
      throw new HttpError(400, `${this.settings.name} did not say who you are; start again`, {
        logMessage: 'token response without an ID token subject',
      });
    }
    const subject = claims.sub;
    return {
      subject,
      profile: async () => {
        const fromToken: ProfileClaims = { ...claims, sub: subject };
        if (fromToken.preferred_username || fromToken.email) return fromToken;
        if (!config.serverMetadata().userinfo_endpoint) return fromToken;
        try {
          const info = await oidc.fetchUserInfo(config, tokens.access_token, subject);
          return { ...fromToken, ...info, sub: subject };
        } catch (err) {
          throw this.refusal(err);
        }
      },
    };
  }

  /** Discovery on first use, cached; a failure is not cached, so a later sign-in tries again. */
  private discover(): Promise<oidc.Configuration> {
    this.configuration ??= this.load().catch((err: unknown) => {
      this.configuration = undefined;
      throw err;
    });
    return this.configuration;
  }

  private async load(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret, allowHttp } = this.settings;
    let server: oidc.ServerMetadata;
    try {
      const found = await oidc.discovery(new URL(issuer), clientId, undefined, undefined, {
        execute: allowHttp ? [oidc.allowInsecureRequests] : [],
        timeout: PROVIDER_TIMEOUT_SECONDS,
      });
      server = found.serverMetadata();
    } catch (err) {
      throw this.unavailable(err);
    }
    // Discovery's default when the provider lists no methods is client_secret_basic.
    const methods = server.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    let auth: oidc.ClientAuth;
    if (methods.includes('client_secret_basic')) auth = oidc.ClientSecretBasic(clientSecret);
    else if (methods.includes('client_secret_post')) auth = oidc.ClientSecretPost(clientSecret);
    else {
      throw this.unavailable(
        new Error(`no supported client authentication method in ${methods.join(', ')}`),
      );
    }
    const config = new oidc.Configuration(server, clientId, { client_secret: clientSecret }, auth);
    if (allowHttp) oidc.allowInsecureRequests(config);
    config.timeout = PROVIDER_TIMEOUT_SECONDS;
    return config;
  }

  private unavailable(err: unknown): HttpError {
    return new HttpError(
      503,
      `Signing in with ${this.settings.name} is not possible right now: the provider cannot be reached. Try again later, or sign in with a password.`,
      { logMessage: `OIDC provider ${this.settings.issuer}: ${clip(describe(err), 300)}` },
    );
  }

  /**
   * An error from talking to the provider after discovery, as the HttpError to
   * answer with; any other error (a bug here) is rethrown as it is.
   */
  private refusal(err: unknown): HttpError {
    const name = this.settings.name;
    if (err instanceof HttpError) return err;
    if (err instanceof oidc.AuthorizationResponseError) {
      return err.error === 'access_denied'
        ? new HttpError(403, `You did not allow ${name} to sign you in`)
        : new HttpError(400, `${name} could not sign you in (${clip(err.error, 60)})`);
    }
    if (err instanceof oidc.ResponseBodyError) {
      if (err.status >= 500 || err.error === 'invalid_client') return this.unavailable(err);
      return new HttpError(
        400,
        `${name} refused to complete the sign-in (${clip(err.error, 60)}); start again`,
        { logMessage: clip(describe(err), 300) },
      );
    }
    // fetch() failing to connect is a TypeError without a code; openid-client's own are coded.
    if (err instanceof TypeError && !('code' in err)) return this.unavailable(err);
    if (err instanceof oidc.ClientError) {
      if (err.code && UNREACHABLE_CODES.has(err.code)) return this.unavailable(err);
      return new HttpError(
        400,
        `The answer from ${name} could not be verified; start the sign-in again`,
        { logMessage: clip(describe(err), 300) },
      );
    }
    throw err;
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${code ? `${String(code)} ` : ''}${err.message}${cause}`;
}
