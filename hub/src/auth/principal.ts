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
  /** The server a per-server token belongs to. */
  serverName?: string;
}
