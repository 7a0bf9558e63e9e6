import type { Scope } from './scopes.ts';

export interface UserRecord {
  id: number;
  name: string;
  safeName: string;
  email: string | null;
  admin: boolean;
  approved: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

/** Who is calling, and with what. */
export interface Principal {
  user: UserRecord;
  scopes: Set<Scope>;
  via: 'session' | 'token';
  /** The token's id when `via` is token. */
  tokenId?: number;
  /** When the token expires, when `via` is token: tokens it mints expire by then too. */
  tokenExpiresAt?: Date;
  /**
   * The server a per-server token belongs to (its own token, or an OAuth token of a user of
   * jupyterhub-singleuser: `oauth`, which reaches that server only).
   */
  serverName?: string;
  /** An OAuth access token, issued to the server `serverName` for this user. */
  oauth?: true;
}
