/**
 * Token scopes. A route names the one scope it needs; a token carries a list.
 * A session (browser cookie) holds `all`. A token never does more than its
 * owner: the admin-only scopes count only when the owner is a platform admin.
 * Where a scope means what one of JupyterHub's does, it has JupyterHub's name
 * (docs/jupyterhub.md): held by an ordinary account it covers that account (JupyterHub's
 * `!user` filter); held by an admin account it covers every user, as JupyterHub's unfiltered
 * scopes do (`auth/guards.ts`, `selfOrAdmin`).
 * An unknown scope in a route declaration fails when the hub loads.
 */
export const SCOPES = {
  all: 'Everything the owner may do',
  'read:users': 'Read user models (yours; an admin: anyone’s) and look up usernames',
  'read:users:activity': 'Read users’ last activity',
  'read:users:name': 'Who you are (`GET /user`): what a server you reach asks the hub',
  'list:users': 'List users (others’ names only, unless you are an admin)',
  'users:activity': 'Report activity of your servers (what jupyterhub-singleuser posts)',
  'admin:users': 'Create, modify and delete users (admins only)',
  tokens: 'Create, list and revoke API tokens (an admin: anyone’s, within the admin’s scopes)',
  'read:tokens': 'List API tokens (never their values)',
  'read:groups': 'See your groups, invitations and science domains',
  groups: 'Create and manage groups, answer invitations, join domains',
  'read:racm': 'See resources and privileges you hold',
  racm: 'Register resources and grant or revoke privileges on them',
  'read:activity': 'Search your activity log',
  'read:servers': 'See servers, their progress and when an idle one will be stopped',
  servers: 'Start and stop servers',
  'delete:servers': 'Stop servers',
  'admin:servers': 'Servers’ saved backend state (admins only)',
  'access:servers': 'Reach your running servers (and those shared with you) through the proxy',
  'read:shares': 'See who your servers are shared with, and their live share codes',
  shares: 'Share your servers with users and groups or by share codes; revoke shares',
  'read:users:shares': 'See the servers shared with you',
  'users:shares': 'Redeem share codes and leave servers shared with you',
  'read:hub': 'Details of the hub: versions, backends, authenticator (admins only)',
  'read:mydb': 'See your MyDB (made on first use): its schema, role, quota and size',
  mydb: 'Use your MyDB',
  'read:files': 'List your volumes and the folders and files you may read; download',
  files: 'Upload, make folders, move and delete files; create, share and delete volumes',
  'read:metrics': 'Read the hub’s Prometheus metrics at /hub/metrics (admins only)',
  'read:jobs': 'See your batch jobs, their places in the queue and their output',
  jobs: 'Submit, cancel and resubmit your batch jobs',
  admin: 'Platform administration (only for admin accounts)',
} as const;

export type Scope = keyof typeof SCOPES;

/** Held only by admin accounts, whatever a token lists. */
const ADMIN_ONLY: ReadonlySet<Scope> = new Set([
  'admin',
  'admin:users',
  'admin:servers',
  'read:hub',
  'read:metrics',
]);

const IMPLIES: Partial<Record<Scope, Scope[]>> = {
  admin: ['admin:users', 'admin:servers', 'read:hub', 'read:metrics'],
  'admin:users': ['read:users', 'list:users', 'users:activity'],
  'read:users': ['read:users:activity', 'read:users:name'],
  // A server reached (jupyterhub-singleuser) asks the hub whose credential it was given.
  'access:servers': ['read:users:name'],
  'admin:servers': ['servers'],
  tokens: ['read:tokens'],
  groups: ['read:groups'],
  racm: ['read:racm'],
  servers: ['read:servers', 'delete:servers'],
  mydb: ['read:mydb'],
  files: ['read:files'],
  jobs: ['read:jobs'],
  shares: ['read:shares'],
  'users:shares': ['read:users:shares'],
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
    if (ADMIN_ONLY.has(scope) && !ownerIsAdmin) return;
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
