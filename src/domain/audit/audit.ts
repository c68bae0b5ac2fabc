// Audit events for users: before/after of the fields that changed, nothing else. The user record
// holds no secret (credentials live in the identity module), so a diff can never leak one.
import type { AuditEventInput } from '../../db/queries/audit-events.js';
import { actorLabel, type Actor } from '../access/actor.js';
import { SCALAR_FIELDS, SEGMENT_KEYS, type UserScalars, type UserSegments } from '../../model/user.js';

type Snapshot = Partial<UserScalars & UserSegments>;
export type Changes = Record<string, { before: unknown; after: unknown }>;

const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

export function diffUsers(before: Snapshot | undefined, after: Snapshot | undefined): Changes {
  const changes: Changes = {};
  const keys = [...SCALAR_FIELDS.map((f) => f.key), ...SEGMENT_KEYS] as (keyof Snapshot)[];
  for (const key of keys) {
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (isEmpty(b) && isEmpty(a)) continue;
    // One side empty: a change, no need to serialize both (creations and deletions, in bulk too).
    if (isEmpty(b) || isEmpty(a) || JSON.stringify(b) !== JSON.stringify(a)) changes[key] = { before: b, after: a };
  }
  return changes;
}

/** The audit row's actor columns: who acted, as every audit event records it. */
export function auditActor(actor: Actor): Pick<AuditEventInput, 'actorType' | 'actorId' | 'actorLabel'> {
  const who = actorLabel(actor);
  return { actorType: who.type, actorId: who.id, actorLabel: who.label };
}

/** A user's audit event; users/write-users.ts writes them (many in one statement for a batch). */
export function userAuditEvent(
  actor: Actor,
  action: 'user.create' | 'user.update' | 'user.delete',
  subject: { id: string; institutionId: string; primaryId: string },
  before: Snapshot | undefined,
  after: Snapshot | undefined,
  context: Record<string, unknown>,
): AuditEventInput {
  return {
    institutionId: subject.institutionId,
    ...auditActor(actor),
    action,
    entityType: 'user',
    entityId: subject.id,
    entityLabel: subject.primaryId,
    changes: diffUsers(before, after),
    context,
  };
}
