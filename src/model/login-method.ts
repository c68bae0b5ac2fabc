// Login methods: the ways a member institution's users prove who they are, beside the local
// password. One row per method per institution (code unique in it); each type's settings are
// checked by its module's schema (src/domain/sign-in/methods/*). The model knows only the shape.
import type { RecordType } from './user.js';

export const LOGIN_METHOD_TYPES = ['saml', 'cas', 'ldap', 'oidc', 'google', 'facebook', 'twitter', 'email-link'] as const;
export type LoginMethodType = (typeof LOGIN_METHOD_TYPES)[number];

/** A method's code, used in URLs campus IT registers: /auth/{institution}/login/{code}/callback. */
export const LOGIN_METHOD_CODE = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/** The user a verified subject stands for: `primary_id`, or an identifier type code (UNIV_ID, GOOGLE_ID …). */
export type MatchTarget = string;
export const MATCH_PRIMARY_ID = 'primary_id';

/**
 * Just-in-time creation of an unknown subject (off unless set): the new user is EXTERNAL, of this
 * record type and group, with the verified value as its matched identifier.
 */
export interface JitProvisioning {
  recordType: RecordType;
  userGroup: string | null;
}

export interface LoginMethod {
  id: string;
  institutionId: string;
  code: string;
  type: LoginMethodType;
  /** What the login page's button says ("Sign in with your campus account"). */
  label: string;
  match: MatchTarget;
  /** The type's settings, valid against its module's schema; secrets among them are never shown. */
  config: Record<string, unknown>;
  jit: JitProvisioning | null;
  enabled: boolean;
  /** Order on the login page. */
  position: number;
  createdAt: Date;
  updatedAt: Date;
}
