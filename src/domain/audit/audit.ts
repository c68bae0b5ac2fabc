// Audit events for users: before/after of the fields that changed, nothing else. The user record
// holds no secret (credentials live in the identity module), so a diff can never leak one.
import { insertAuditEvent, type AuditEventInput } from '../../db/queries/audit-events.js';
import type { Queryable } from '../../db/database.js';
import { actorLabel, type Actor } from '../access/actor.js';
import { SCALAR_FIELDS, SEGMENT_KEYS, type User, type UserScalars, type UserSegments } from '../../model/user.js';

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

export async function auditUserChange(
  db: Queryable,
  actor: Actor,
  action: 'user.create' | 'user.update' | 'user.delete',
  before: User | undefined,
  after: User | undefined,
  context: Record<string, unknown> = {},
): Promise<void> {
  const subject = (after ?? before)!;
  const who = actorLabel(actor);
  await insertAuditEvent(db, {
    institutionId: subject.institutionId,
    actorType: who.type,
    actorId: who.id,
    actorLabel: who.label,
    action,
    entityType: 'user',
    entityId: subject.id,
    entityLabel: subject.primaryId,
    changes: diffUsers(before, after),
    context,
  });
}

/** The event auditUserChange writes, built without writing it (batch loads insert many at once). */
export function userAuditEvent(
  actor: Actor,
  action: 'user.create' | 'user.update',
  subject: { id: string; institutionId: string; primaryId: string },
  before: Snapshot | undefined,
  after: Snapshot,
  context: Record<string, unknown>,
): AuditEventInput {
  const who = actorLabel(actor);
  return {
    institutionId: subject.institutionId,
    actorType: who.type,
    actorId: who.id,
    actorLabel: who.label,
    action,
    entityType: 'user',
    entityId: subject.id,
    entityLabel: subject.primaryId,
    changes: diffUsers(before, after),
    context,
  };
}
