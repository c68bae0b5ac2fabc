// The rules of manual edits, pure (no database): which protected fields a write marks, which
// marks hold against Alma's PUT, which an SIS load keeps. The service (restore, the listing) is
// manual-edits.ts.
//
// Who edits by hand: staff (the console) and API keys (Alma's API, where the library's own
// tools edit). Every such edit of a protected field on an EXTERNAL user is marked, with its
// origin (actor type, id, label, time). Whether an API key's mark holds is decided when an SIS
// load reads it, by the load's profile (ProfileSettings.apiKeyEditsAreManual, default true):
// - the profile is then known for certain: a load updates only users whose external_id is its
//   code, while at edit time a user's future profile is a guess (record type, institution);
// - changing the setting takes effect at the next load for every existing mark, with no marks to
//   rewrite at the time (a load that does not keep an API key's mark drops it with the value it
//   overwrites: a mark left on the file's value would freeze it if the setting were set back);
// - the console can show each mark's origin and whether the next load keeps it.
import type { Actor } from '../access/actor.js';
import type { ProfileSettings } from '../../model/profile.js';
import { PROTECTED_FIELDS, SCALAR_FIELDS, type ManualEditOrigin, type User, type UserRecordFields } from '../../model/user.js';
import { sameValue } from './same-value.js';

/** Fields with no column on the user record (the PIN lives with the credentials). */
const NOT_ON_RECORD = new Set(['pinNumber']);

const SPECIAL_NAMES: Record<string, string> = { rs_libraries: 'rsLibraries', library_notices: 'libraryNotices', pin_number: 'pinNumber' };

/** The origin a write by this actor gives a mark; undefined: the actor does not edit by hand (system). */
export function originOf(actor: Actor, at: Date): ManualEditOrigin | undefined {
  if (actor.kind === 'staff') return { actorType: 'staff', actorId: actor.userId, label: actor.primaryId, at: at.toISOString() };
  if (actor.kind === 'apiKey') return { actorType: 'api_key', actorId: actor.id, label: actor.label, at: at.toISOString() };
  return undefined;
}

/** A mark's actor type; a mark from before origins were kept (migration 0016) was a staff member's. */
export function markedBy(user: Pick<User, 'manualEditOrigins'>, field: string): ManualEditOrigin['actorType'] {
  return user.manualEditOrigins?.[field]?.actorType ?? 'staff';
}

/**
 * The marks after a hand edit: `kept` (the marks that survived the merge) plus every protected
 * field whose value this write changed, with this actor as its origin.
 */
export function markManualEdits(
  actor: Actor,
  existing: User,
  record: UserRecordFields,
  kept: string[],
  at: Date,
): { manualEdits: string[]; origins: Record<string, ManualEditOrigin> } {
  const origins = { ...existing.manualEditOrigins };
  const origin = originOf(actor, at);
  if (!origin || existing.accountType !== 'EXTERNAL') return { manualEdits: kept, origins };
  const out = new Set(kept);
  for (const key of PROTECTED_FIELDS) {
    if (NOT_ON_RECORD.has(key)) continue;
    const k = key as keyof UserRecordFields;
    if (sameValue(existing[k], record[k])) continue;
    out.add(key);
    origins[key] = origin;
  }
  return { manualEdits: [...out], origins };
}

/**
 * Whether a mark keeps the stored value against Alma's PUT by this actor (Alma: protected fields
 * edited by hand are not replaced unless `override` names them). Staff are the hand editors: a
 * staff PUT always sets the field (and marks it again). An API key's PUT is held by a staff mark
 * but not by an API key's own mark, or a script could set a field once and never again.
 */
export function markHoldsAgainst(actor: Actor, existing: Pick<User, 'manualEditOrigins'>, field: string): boolean {
  if (actor.kind === 'staff') return false;
  if (actor.kind === 'apiKey') return markedBy(existing, field) !== 'api_key';
  return true;
}

/** The marks an SIS load of a profile with these settings keeps; the rest the file overwrites. */
export function marksKeptBySis(existing: Pick<User, 'manualEdits' | 'manualEditOrigins'>, settings: ProfileSettings | undefined): string[] {
  if (settings?.apiKeyEditsAreManual !== false) return existing.manualEdits;
  return existing.manualEdits.filter((f) => markedBy(existing, f) !== 'api_key');
}

/** Alma's names (user_group, rs_libraries ...) or the domain's (userGroup ...) to the domain's. */
export function protectedFieldKey(name: string): string | undefined {
  const n = name.trim();
  const key = SPECIAL_NAMES[n] ?? SCALAR_FIELDS.find((f) => f.column === n || f.key === n)?.key ?? n;
  return PROTECTED_FIELDS.includes(key) ? key : undefined;
}

/** A protected field's name in Alma's API (user_group, rs_libraries ...). */
export function almaFieldName(key: string): string {
  const special = Object.entries(SPECIAL_NAMES).find(([, v]) => v === key)?.[0];
  return special ?? SCALAR_FIELDS.find((f) => f.key === key)?.column ?? key;
}

/** The stored value of a protected field (the PIN is never shown: null). */
export function protectedValue(user: User, key: string): unknown {
  if (NOT_ON_RECORD.has(key)) return null;
  return user[key as keyof User] ?? null;
}
