/**
 * Token scopes. A route names the one scope it needs; a token carries a list.
 * A session (browser cookie) holds `all`. A token never does more than its
 * owner: `admin` only counts when the owner is a platform admin.
 * An unknown scope in a route declaration fails when the hub loads.
 */
export const SCOPES = {
  all: 'Everything the owner may do',
  'read:user': 'Read your account and look up usernames',
  tokens: 'Create, list and revoke your API tokens',
  'read:groups': 'See your groups, invitations and science domains',
  groups: 'Create and manage groups, answer invitations, join domains',
  'read:racm': 'See resources and privileges you hold',
  racm: 'Register resources and grant or revoke privileges on them',
  'read:activity': 'Search your activity log',
  'read:servers': 'See your servers, their progress and when an idle one will be stopped',
  servers: 'Start and stop your servers',
  'access:servers': 'Reach your running servers through the proxy',
  'read:mydb': 'See your MyDB (made on first use): its schema, role, quota and size',
  mydb: 'Use your MyDB',
  'read:files': 'List your volumes and the folders and files you may read; download',
  files: 'Upload, make folders, move and delete files; create, share and delete volumes',
  admin: 'Platform administration (only for admin accounts)',
} as const;

export type Scope = keyof typeof SCOPES;

const IMPLIES: Partial<Record<Scope, Scope[]>> = {
  groups: ['read:groups'],
  racm: ['read:racm'],
  servers: ['read:servers'],
  mydb: ['read:mydb'],
  files: ['read:files'],
};

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

export function assertScope(value: string): Scope {
  if (!isScope(value)) throw new Error(`Unknown scope "${value}" in a route declaration`);
  return value;
}

/** The scopes a holder effectively has, expanded, and capped by what the owner may do. */
export function effectiveScopes(granted: readonly string[], ownerIsAdmin: boolean): Set<Scope> {
  const result = new Set<Scope>();
  const add = (scope: Scope) => {
    if (scope === 'admin' && !ownerIsAdmin) return;
    if (result.has(scope)) return;
    result.add(scope);
    for (const implied of IMPLIES[scope] ?? []) add(implied);
  };
  for (const raw of granted) {
    if (!isScope(raw)) continue;
    if (raw === 'all') for (const scope of Object.keys(SCOPES) as Scope[]) add(scope);
    else add(raw);
  }
  return result;
}
