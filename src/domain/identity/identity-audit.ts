// Audit events of the identity module. Context says what happened (a password was set, a link
// was sent, its expiry, the hash format) and never carries the secret itself: no password, no
// token, no hash goes into an audit row.
import type { Queryable } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import type { Actor } from '../access/actor.js';
import { auditActor, type Changes } from '../audit/audit.js';
import type { User } from '../../model/user.js';

export type IdentityAction =
  | 'credential.password_set'
  | 'credential.force_change'
  | 'credential.removed'
  | 'credential.hash_imported'
  | 'credential.link_sent'
  | 'credential.password_reset'
  | 'credential.password_changed'
  | 'credential.unlocked'
  | 'user.account_type'
  | 'session.revoked'
  | 'session.policy'
  | 'credential.break_glass'
  | 'break_glass.sign_in';

/** Who acted: a staff member or key, Carrel itself, or the user on their own account. */
export type IdentityActor = Actor | { kind: 'self' };

export async function auditIdentity(
  tx: Queryable,
  actor: IdentityActor,
  action: IdentityAction,
  user: Pick<User, 'id' | 'institutionId' | 'primaryId'>,
  context: Record<string, unknown> = {},
  changes: Changes = {},
): Promise<void> {
  await insertAuditEvent(tx, {
    institutionId: user.institutionId,
    ...(actor.kind === 'self' ? { actorType: 'self', actorId: user.id, actorLabel: user.primaryId } : auditActor(actor)),
    action,
    entityType: 'user',
    entityId: user.id,
    entityLabel: user.primaryId,
    changes,
    context,
  });
}
