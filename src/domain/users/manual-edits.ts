// Manual edits: the protected fields (PROTECTED_FIELDS) staff changed by hand on an EXTERNAL user.
// SIS loads keep them until staff "restore" the field, which hands it back to the feed: the next
// load sets it from the file again. API keys (scripts) do not mark fields; staff actors do.
import type { Db } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { updateManualEdits } from '../../db/queries/user-batches.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import { sameValue } from './same-value.js';
import { PROTECTED_FIELDS, SCALAR_FIELDS, type User, type UserRecordFields } from '../../model/user.js';

/** Fields with no column on the user record (the PIN lives with the credentials). */
const NOT_ON_RECORD = new Set(['pinNumber']);

/** manualEdits after a staff member's update: plus every protected field whose value it changed. */
export function markManualEdits(actor: Actor, existing: User, record: UserRecordFields, manualEdits: string[]): string[] {
  if (actor.kind !== 'staff' || existing.accountType !== 'EXTERNAL') return manualEdits;
  const out = new Set(manualEdits);
  for (const key of PROTECTED_FIELDS) {
    if (NOT_ON_RECORD.has(key)) continue;
    const k = key as keyof UserRecordFields;
    if (!sameValue(existing[k], record[k])) out.add(key);
  }
  return [...out];
}

/** Alma's names (user_group, rs_libraries ...) or the domain's (userGroup ...) to the domain's. */
export function protectedFieldKey(name: string): string | undefined {
  const n = name.trim();
  const special: Record<string, string> = { rs_libraries: 'rsLibraries', library_notices: 'libraryNotices', pin_number: 'pinNumber' };
  const key = special[n] ?? SCALAR_FIELDS.find((f) => f.column === n || f.key === n)?.key ?? n;
  return PROTECTED_FIELDS.includes(key) ? key : undefined;
}

export function createManualEditService({ db }: { db: Db }) {
  return {
    /** Hands protected fields back to SIS loads (all of them when `fields` is empty). */
    async restore(actor: Actor, institutionId: string, id: string, fields: string[]): Promise<User> {
      authorize(actor, 'users:write', institutionId);
      const keys = fields.map((f) => {
        const key = protectedFieldKey(f);
        if (!key) throw new AppError('INVALID_VALUE', { field: 'fields', value: f.slice(0, 60), reason: 'not a protected field' });
        return key;
      });
      return db.transaction(async (tx) => {
        const found = await findUserByIdentifier(tx, institutionId, id);
        if (!found) throw new AppError('USER_NOT_FOUND', { id });
        const user = (await findUserById(tx, found.id, true))!;
        const remaining = keys.length ? user.manualEdits.filter((f) => !keys.includes(f)) : [];
        if (remaining.length === user.manualEdits.length) return user;
        await updateManualEdits(tx, user.id, remaining);
        await insertAuditEvent(tx, {
          institutionId,
          ...auditActor(actor),
          action: 'user.restore_sis_fields',
          entityType: 'user',
          entityId: user.id,
          entityLabel: user.primaryId,
          changes: { manualEdits: { before: user.manualEdits, after: remaining } },
        });
        return (await findUserById(tx, user.id))!;
      });
    },
  };
}

export type ManualEditService = ReturnType<typeof createManualEditService>;
