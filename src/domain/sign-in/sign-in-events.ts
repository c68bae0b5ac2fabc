// Reading the sign-in audit trail (every sign-in and failed sign-in, whatever the method):
// who signed in how, from where, and why an attempt was refused. Staff who manage credentials
// and sessions (credentials:manage) read their institution's.
import type { Db } from '../../db/database.js';
import { listSignInEvents, type AuditEvent } from '../../db/queries/audit-events.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';

export const SIGN_IN_EVENTS_MAX = 500;

export function createSignInEvents(db: Db) {
  return {
    async list(
      actor: Actor,
      institutionId: string,
      opts: { user?: string | undefined; failedOnly?: boolean; before?: number | undefined; limit?: number | undefined },
    ): Promise<AuditEvent[]> {
      authorize(actor, 'credentials:manage', institutionId);
      let userId: string | undefined;
      if (opts.user) {
        const user = await findUserByIdentifier(db, institutionId, opts.user);
        if (!user) throw new AppError('USER_NOT_FOUND', { id: opts.user.slice(0, 255) });
        userId = user.id;
      }
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), SIGN_IN_EVENTS_MAX);
      return listSignInEvents(db, institutionId, { userId, failedOnly: opts.failedOnly === true, beforeId: opts.before, limit });
    },
  };
}

export type SignInEvents = ReturnType<typeof createSignInEvents>;
