// Every sign-in and every failed sign-in is an audit event, whatever the method: action
// 'sign_in' or 'sign_in.failed', the user as entity when known, and in context the method's code,
// the client's address and, for a failure, the reason (and the module's detail, which never
// carries a secret). Never the password, a token or an assertion.
import type { Queryable } from '../../db/database.js';
import { insertAuditEvent, type AuditEventInput } from '../../db/queries/audit-events.js';
import type { User } from '../../model/user.js';

export const SIGN_IN = 'sign_in';
export const SIGN_IN_FAILED = 'sign_in.failed';

export interface SignInEvent {
  institutionId: string;
  /** The user the attempt was for, when known. */
  user?: Pick<User, 'id' | 'primaryId'> | undefined;
  /** The login method's code ('password' for the local form). */
  method: string;
  address: string | null;
  /** Failures only: why (a RefusalReason, 'unknown_user', 'inactive', 'expired', 'in_use', 'failed'). */
  reason?: string;
  detail?: string | undefined;
  /** Anything else worth keeping (a session id, just-in-time creation). */
  extra?: Record<string, unknown>;
}

export async function auditSignIn(q: Queryable, e: SignInEvent): Promise<void> {
  await insertAuditEvent(q, signInEvent(e));
}

/** The audit row of a sign-in (written with the session it began: browser-sessions.ts). */
export function signInEvent(e: SignInEvent): AuditEventInput {
  return {
    institutionId: e.institutionId,
    // The person acts on their own account; before anyone is known, the address is all there is.
    actorType: e.user ? 'self' : 'anonymous',
    actorId: e.user?.id ?? null,
    actorLabel: e.user?.primaryId ?? e.address ?? 'unknown',
    action: e.reason ? SIGN_IN_FAILED : SIGN_IN,
    entityType: 'user',
    entityId: e.user?.id ?? null,
    entityLabel: e.user?.primaryId ?? null,
    changes: {},
    context: {
      method: e.method,
      address: e.address,
      ...(e.reason ? { reason: e.reason } : {}),
      ...(e.detail ? { detail: e.detail.slice(0, 500) } : {}),
      ...(e.extra ?? {}),
    },
  };
}
