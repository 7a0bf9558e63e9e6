/**
 * Names and credentials of a user's MyDB space. Nothing here comes from what a user typed: the
 * role is named after the user id and this deployment's identity (roles are shared by every
 * database on the server, so two hubs on one server never meet), the schema after the safe
 * name (already [a-z0-9-]). The role's password is derived from the hub's key, as servers'
 * secrets are (compute/secrets.ts): the same key gives it back, a database dump reveals none.
 */
import { createHmac } from 'node:crypto';

export function roleNameFor(deploymentIdentity: string, userId: number): string {
  return `orrery_${deploymentIdentity}_u_${userId}`;
}

/** `mydb_<safe name>`, '-' as '_' (injective: safe names have no '_'); at most 45 characters. */
export function schemaNameFor(safeName: string): string {
  return `mydb_${safeName.replace(/-/g, '_')}`;
}

/** `myscratch_<safe name>`: the user's MyScratch, beside their MyDB (at most 50 characters). */
export function scratchSchemaFor(mydbSchema: string): string {
  return `myscratch_${mydbSchema.replace(/^mydb_/, '')}`;
}

/**
 * The server-wide group role every user's role is made a member of, and nothing else: it holds no
 * privilege, and pg_hba.conf names it (`+orrery_mydb_login`) to make users' roles log in with
 * SCRAM while the hub's own role keeps its access (scripts/provision-postgres.sh).
 */
export const LOGIN_GROUP_ROLE = 'orrery_mydb_login';

export function rolePassword(key: string, userId: number): string {
  return createHmac('sha256', key).update(`mydb-role:${userId}`).digest('base64url');
}
