// Who is asking. The HTTP layer only establishes the actor; each use case asks authorize() what
// that actor may do, in one place, never by URL pattern.
import { AppError } from '../../errors.js';
import type { User } from '../../model/user.js';

export interface StaffRole {
  roleType: string;
  /** Institution code or library code the role is scoped to. */
  scope: string;
}

export type Actor =
  /** An institution's API key: read-only, or read-write on everything of its institution, as in Alma. */
  | {
      kind: 'apiKey';
      id: string;
      institutionId: string;
      readOnly: boolean;
      label: string;
      /** op=auth may name the end user's address (X-Carrel-Client-Address): see identity/throttle.ts. */
      trustsClientAddress?: boolean;
    }
  /** A signed-in staff user: what they may do follows their active roles. */
  | { kind: 'staff'; userId: string; institutionId: string; primaryId: string; roles: StaffRole[]; sessionId: string }
  /** Carrel itself: the CLI, jobs, the demo seed. */
  | { kind: 'system'; label: string };

export const PERMISSIONS = ['users:read', 'users:write', 'users:register', 'credentials:manage', 'sis:manage', 'config:manage', 'named-users:report'] as const;

export type Permission =
  | 'users:read'
  | 'users:write'
  /** Register PUBLIC patrons (circulation desk): create only, identifiers only at registration. */
  | 'users:register'
  /** Passwords, set-password links, account-type toggles, sessions. */
  | 'credentials:manage'
  /** Integration profiles, imports and exports. */
  | 'sis:manage'
  /** Institution settings and code tables. */
  | 'config:manage'
  /**
   * The named-user report (counts, history, the named users with their last sign-in): those who
   * configure the institution and those who administer its accounts (the consortium office, user
   * administrators), not desk staff or read-only keys.
   */
  | 'named-users:report';

// Every permission is in PERMISSIONS (what GET /api/v1/session lists, so the console can show the
// page): one left out is a type error here, not a console page nobody can reach.
const LISTED: Exclude<Permission, (typeof PERMISSIONS)[number]> extends never ? true : never = true;
void LISTED;

// Alma's role codes (reference §4) and what each lets a staff user do in Carrel.
const USER_ADMINISTRATOR = '50';
const USER_MANAGER = '21';
const GENERAL_SYSTEM_ADMINISTRATOR = '26';
const CIRCULATION_DESK_MANAGER = '221';
const CIRCULATION_DESK_OPERATOR = '32';

const ROLE_PERMISSIONS: Record<string, readonly Permission[]> = {
  [USER_ADMINISTRATOR]: ['users:read', 'users:write', 'users:register', 'credentials:manage', 'sis:manage', 'named-users:report'],
  [USER_MANAGER]: ['users:read', 'users:write', 'users:register', 'credentials:manage', 'named-users:report'],
  [GENERAL_SYSTEM_ADMINISTRATOR]: ['users:read', 'config:manage', 'sis:manage', 'named-users:report'],
  [CIRCULATION_DESK_MANAGER]: ['users:read', 'users:register'],
  [CIRCULATION_DESK_OPERATOR]: ['users:read', 'users:register'],
};

const READ_ONLY: readonly Permission[] = ['users:read'];

export function can(actor: Actor, permission: Permission, institutionId: string): boolean {
  if (actor.kind === 'system') return true;
  // Another institution's data is out of reach whatever the key or role.
  if (actor.institutionId !== institutionId) return false;
  if (actor.kind === 'apiKey') return !actor.readOnly || READ_ONLY.includes(permission);
  return actor.roles.some((r) => ROLE_PERMISSIONS[r.roleType]?.includes(permission));
}

/** Everything the actor may do in the institution: what a client (the console) shows, never re-deriving the role map. */
export function permissionsOf(actor: Actor, institutionId: string): Permission[] {
  return PERMISSIONS.filter((p) => can(actor, p, institutionId));
}

export function authorize(actor: Actor, permission: Permission, institutionId: string): void {
  if (!can(actor, permission, institutionId)) throw new AppError('UNAUTHORIZED');
}

export function actorLabel(actor: Actor): { type: string; id: string | null; label: string } {
  switch (actor.kind) {
    case 'apiKey':
      return { type: 'api_key', id: actor.id, label: actor.label };
    case 'staff':
      return { type: 'staff', id: actor.userId, label: actor.primaryId };
    case 'system':
      return { type: 'system', id: null, label: actor.label };
  }
}

/** A signed-in user as an actor: the roles that are active and not expired today act. */
export function staffActor(user: Pick<User, 'id' | 'institutionId' | 'primaryId' | 'roles'>, sessionId: string, now: Date): Actor {
  const today = now.toISOString().slice(0, 10);
  const roles = user.roles
    .filter((r) => r.status === 'ACTIVE' && (!r.expiryDate || r.expiryDate.slice(0, 10) >= today))
    .map((r) => ({ roleType: r.roleType, scope: r.scope }));
  return { kind: 'staff', userId: user.id, institutionId: user.institutionId, primaryId: user.primaryId, roles, sessionId };
}
