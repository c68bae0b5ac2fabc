// Every sign-in and failed sign-in is an audit event: 'sign_in' or 'sign_in.failed', on the user
// when known, with context { method, address, reason } (the shape of the seam branch's
// sign-in-audit.ts, whose writer replaces auditSignIn below at the merge; reasons as there:
// 'bad_credentials', 'in_use', ...). listSignInEvents is what staff read through /api/v1/sign-in-events.
// An unknown user name is not stored: people type passwords into the user name field.
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvent, listSignInEvents, type AuditEvent } from '../../db/queries/audit-events.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { User } from '../../model/user.js';

export const SIGN_IN = 'sign_in';
export const SIGN_IN_FAILED = 'sign_in.failed';

export interface SignInAttempt {
  institutionId: string;
  /** The user, when the attempt named one (a failure may not). */
  user: Pick<User, 'id' | 'primaryId'> | undefined;
  /** The login method's code: 'password' for the local form, a method code of the seam otherwise. */
  method: string;
  outcome: 'success' | 'failure';
  /** The end user's address as the server saw it. */
  address: string | null;
  /** Why a failure failed, in words that give nothing away to the user (they never see it). */
  reason?: string | undefined;
  sessionId?: string | undefined;
}

export async function auditSignIn(db: Queryable, a: SignInAttempt): Promise<void> {
  await insertAuditEvent(db, {
    institutionId: a.institutionId,
    actorType: a.user ? 'self' : 'anonymous',
    actorId: a.user?.id ?? null,
    actorLabel: a.user?.primaryId ?? 'anonymous',
    action: a.outcome === 'success' ? SIGN_IN : SIGN_IN_FAILED,
    entityType: 'user',
    entityId: a.user?.id ?? null,
    entityLabel: a.user?.primaryId ?? null,
    changes: {},
    context: {
      method: a.method,
      address: a.address,
      ...(a.reason ? { reason: a.reason } : {}),
      ...(a.sessionId ? { sessionId: a.sessionId } : {}),
    },
  });
}

/** The user a failed password attempt named, if any (the login itself never says). */
export async function namedUser(db: Queryable, institutionId: string, identifier: unknown): Promise<Pick<User, 'id' | 'primaryId'> | undefined> {
  const id = typeof identifier === 'string' ? identifier.trim() : '';
  if (!id || id.length > 255) return undefined;
  const u = await findUserByIdentifier(db, institutionId, id);
  return u && { id: u.id, primaryId: u.primaryId };
}

export interface SignInEventQuery {
  /** Primary id or any identifier. */
  user?: string | undefined;
  method?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  since?: Date | undefined;
  before?: number | undefined;
  limit: number;
}

export function createSignInEvents(db: Db) {
  return {
    async list(actor: Actor, institutionId: string, q: SignInEventQuery): Promise<{ events: AuditEvent[]; nextBefore: number | null }> {
      authorize(actor, 'credentials:manage', institutionId);
      let userId: string | undefined;
      if (q.user !== undefined) {
        const u = await findUserByIdentifier(db, institutionId, q.user);
        if (!u) throw new AppError('USER_NOT_FOUND', { id: q.user.slice(0, 60) });
        userId = u.id;
      }
      const limit = Math.min(Math.max(q.limit, 1), 500);
      const events = await listSignInEvents(db, {
        institutionId,
        action: q.outcome === undefined ? undefined : q.outcome === 'success' ? SIGN_IN : SIGN_IN_FAILED,
        userId,
        method: q.method,
        since: q.since,
        before: q.before,
        limit,
      });
      return { events, nextBefore: events.length === limit ? events.at(-1)!.id : null };
    },
  };
}

export type SignInEvents = ReturnType<typeof createSignInEvents>;
