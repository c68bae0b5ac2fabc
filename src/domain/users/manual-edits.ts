// Manual edits: the protected fields (PROTECTED_FIELDS) staff or an API key changed by hand on an
// EXTERNAL user (the rules: manual-edit-rules.ts). SIS loads keep them until they are "restored",
// which hands the field back to the feed: the next load sets it from the file again. This module
// lists them for the console (field, value, who, when, whether the next load keeps it) and restores.
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { findProfileByCode } from '../../db/queries/integration-profiles.js';
import { updateManualEdits } from '../../db/queries/user-batches.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import { almaFieldName, markedBy, marksKeptBySis, protectedFieldKey, protectedValue } from './manual-edit-rules.js';
import type { ManualEditOrigin, User } from '../../model/user.js';

export interface ManualEditEntry {
  /** Alma's name of the field (user_group, rs_libraries ...). */
  field: string;
  /** Its stored value (the code, for a coded field). */
  value: unknown;
  /** Who edited it; a mark from before origins were kept says only 'staff' with no label. */
  editedBy: { type: ManualEditOrigin['actorType']; id: string | null; label: string | null };
  editedAt: string | null;
  /** Whether the next load of the user's profile keeps it (false: an API key's edit, apiKeyEditsAreManual off). */
  keptBySis: boolean;
}

export interface ManualEditListing {
  user: User;
  entries: ManualEditEntry[];
}

async function listingOf(q: Queryable, user: User): Promise<ManualEditListing> {
  // The profile that loads this user is the one whose code is its external_id (merge.ts: skipMatched).
  const profile = user.accountType === 'EXTERNAL' && user.externalId ? await findProfileByCode(q, user.institutionId, user.externalId) : undefined;
  const kept = new Set(marksKeptBySis(user, profile?.settings));
  const entries = user.manualEdits.map((key): ManualEditEntry => {
    const origin = user.manualEditOrigins?.[key];
    return {
      field: almaFieldName(key),
      value: protectedValue(user, key),
      editedBy: { type: markedBy(user, key), id: origin?.actorId ?? null, label: origin?.label ?? null },
      editedAt: origin?.at ?? null,
      keptBySis: kept.has(key),
    };
  });
  return { user, entries };
}

export function createManualEditService({ db }: { db: Db }) {
  return {
    /** The user's manual edits, each with its value and origin. */
    async list(actor: Actor, institutionId: string, id: string): Promise<ManualEditListing> {
      authorize(actor, 'users:read', institutionId);
      const found = await findUserByIdentifier(db, institutionId, id);
      if (!found) throw new AppError('USER_NOT_FOUND', { id });
      return listingOf(db, found);
    },

    /** Hands protected fields back to SIS loads (all of them when `fields` is empty). */
    async restore(actor: Actor, institutionId: string, id: string, fields: string[]): Promise<ManualEditListing> {
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
        if (remaining.length === user.manualEdits.length) return listingOf(tx, user);
        await updateManualEdits(tx, user.id, remaining, user.manualEditOrigins);
        const restored = user.manualEdits.filter((f) => !remaining.includes(f));
        await insertAuditEvent(tx, {
          institutionId,
          ...auditActor(actor),
          action: 'user.restore_sis_fields',
          entityType: 'user',
          entityId: user.id,
          entityLabel: user.primaryId,
          changes: { manualEdits: { before: user.manualEdits, after: remaining } },
          // Whose edits were handed back, so the trail shows what the restore undid.
          context: { restored: restored.map((f) => ({ field: almaFieldName(f), ...user.manualEditOrigins?.[f] })) },
        });
        return listingOf(tx, (await findUserById(tx, user.id))!);
      });
    },
  };
}

export type ManualEditService = ReturnType<typeof createManualEditService>;
