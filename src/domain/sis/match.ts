// Matching a file's record to a stored user, and Alma's primary-id generation for new users.
// Pure: the batch step asks the database once for all the keys and candidates these name.
import type { UserInput } from '../../model/user.js';

export interface MatchKey {
  /** Lower-cased: primary ids and identifier values are case-insensitive. */
  key: string;
  /** As the file wrote it, for the report. */
  value: string;
}

/** A value as a match id (trimmed; the key lower-cased), or null when blank. */
export function keyOf(value: string | null | undefined): MatchKey | null {
  const v = value?.trim();
  return v ? { key: v.toLowerCase(), value: v } : null;
}

const isType = (type: string | null | undefined, matchBy: string) => type?.trim().toLowerCase() === matchBy.toLowerCase();

/** The record's match id: its primary id, or its identifier of the profile's match type. */
export function matchKeyOf(input: UserInput, matchBy: string): MatchKey | null {
  if (matchBy === 'primary_id') return keyOf(input.primaryId);
  return keyOf(input.identifiers?.find((i) => isType(i.idType, matchBy) && i.value?.trim())?.value);
}

/** The same, from what pass one read of a raw record (before mapping). */
export function rawMatchKey(r: { primaryId?: string | null; identifiers?: { type: string; value: string }[] }, matchBy: string): MatchKey | null {
  if (matchBy === 'primary_id') return keyOf(r.primaryId);
  return keyOf(r.identifiers?.find((i) => isType(i.type, matchBy) && i.value.trim())?.value);
}

/**
 * Alma's SIS default for a missing primary id: first and last name with a counter. We fold the
 * names to lower-case ASCII letters and digits (José Núñez -> josenunez) so the id can be typed
 * at a desk, and count from 1: josenunez1, josenunez2, ... A record without names gets user1...
 */
export function primaryIdBase(firstName: string | null | undefined, lastName: string | null | undefined): string {
  const folded = `${firstName ?? ''}${lastName ?? ''}`
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 200);
  return folded || 'user';
}

/** The first base+N (N from 1) not in `taken` (lower-cased ids already used). */
export function nextPrimaryId(base: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const candidate = `${base}${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}
