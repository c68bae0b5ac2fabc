// Alma's PUT is "swap all": the incoming record replaces the stored one, with two exceptions.
// (a) No roles in the input keeps the existing roles. (b) On EXTERNAL users, a protected field
// keeps its value when it was edited by hand (a mark that holds against this caller:
// manual-edit-rules.ts: markHoldsAgainst) or when the input leaves it empty, unless the caller
// names it in `override`. Segment lists left out of the input are kept; an empty list
// deletes (Alma: "an empty segment list deletes those segments").
import type { Actor } from '../access/actor.js';
import { PROTECTED_FIELDS, SCALAR_FIELDS, type User, type UserInput } from '../../model/user.js';
import { markHoldsAgainst, protectedFieldKey } from './manual-edit-rules.js';

const today = () => new Date().toISOString().slice(0, 10);
const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

export function mergeForReplace(existing: User, input: UserInput, override: string[], actor: Actor): { merged: UserInput; manualEdits: string[] } {
  const merged: Record<string, unknown> = {};
  for (const f of SCALAR_FIELDS) merged[f.key] = input[f.key] ?? null;
  // The record's identity and kind stay unless the input names them.
  merged.primaryId = input.primaryId ?? existing.primaryId;
  merged.recordType = input.recordType ?? existing.recordType;
  merged.accountType = input.accountType ?? existing.accountType;
  merged.externalId = input.externalId === undefined ? existing.externalId : input.externalId;
  // Output-only fields: the input cannot set them.
  merged.linkingId = existing.linkingId;
  merged.sourceInstitutionCode = existing.sourceInstitutionCode;
  merged.sourceLinkId = existing.sourceLinkId;
  merged.statusDate = (input.status ?? 'ACTIVE').toUpperCase() === existing.status ? existing.statusDate : today();

  const segments = ['contactInfo', 'identifiers', 'roles', 'blocks', 'notes', 'statistics', 'rsLibraries', 'libraryNotices'] as const;
  for (const key of segments) merged[key] = input[key] ?? existing[key];

  const overrideSet = new Set(override.map((f) => protectedFieldKey(f) ?? f));
  const manualEdits = existing.manualEdits.filter((f) => !overrideSet.has(f));
  if (existing.accountType === 'EXTERNAL') {
    for (const key of PROTECTED_FIELDS) {
      if (overrideSet.has(key) || !(key in merged)) continue;
      const held = manualEdits.includes(key) && markHoldsAgainst(actor, existing, key);
      if (held || isEmpty(merged[key])) merged[key] = existing[key as keyof User];
    }
  }
  merged.password = input.password;
  merged.forcePasswordChange = input.forcePasswordChange;
  return { merged: merged as UserInput, manualEdits };
}
