// A user's history for the console: the audit events about one user (its changes, identity
// actions, sign-ins), newest first. Reading a user is enough for its changes; sign-in events
// (addresses, failure reasons) are shown only to those who may read the sign-in log
// (credentials:manage, as GET /api/v1/sign-in-events).
import type { Db } from '../../db/database.js';
import { listAuditEventsForEntity, type AuditEvent } from '../../db/queries/audit-events.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, can, type Actor } from '../access/actor.js';
import { SIGN_IN, SIGN_IN_FAILED } from '../identity/sign-in-audit.js';

export function createUserHistory(db: Db) {
  return {
    async list(actor: Actor, institutionId: string, id: string, limit: number): Promise<AuditEvent[]> {
      authorize(actor, 'users:read', institutionId);
      const user = await findUserByIdentifier(db, institutionId, id);
      if (!user) throw new AppError('USER_NOT_FOUND', { id: id.slice(0, 60) });
      const events = await listAuditEventsForEntity(db, user.id, Math.min(Math.max(limit, 1), 500));
      const signIns = can(actor, 'credentials:manage', institutionId);
      // Belt and braces: the entity id is the user's, but an event must be of this institution.
      return events.filter((e) => e.institutionId === institutionId && (signIns || (e.action !== SIGN_IN && e.action !== SIGN_IN_FAILED)));
    },
  };
}

export type UserHistory = ReturnType<typeof createUserHistory>;
