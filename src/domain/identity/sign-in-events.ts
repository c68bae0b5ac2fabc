// What staff read through /api/v1/sign-in-events: the audit events sign-in-audit.ts writes for
// every sign-in and failed sign-in ('sign_in', 'sign_in.failed', context { method, address,
// reason }). An unknown user name is not stored: people type passwords into the user name field.
import type { Db } from '../../db/database.js';
import { listSignInEvents, type AuditEvent } from '../../db/queries/audit-events.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import { SIGN_IN, SIGN_IN_FAILED } from './sign-in-audit.js';

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
