// Alma's SIS rules (reference §5), as one pure decision per record: create, update, leave
// unchanged, skip or fail. No database here: the batch step supplies the stored user.
//
// - Only EXTERNAL users of this profile (external_id = profile code) are created or updated;
//   INTERNAL users and other profiles' users are skipped with the reason.
// - Record type (profile), account type (EXTERNAL), external id (profile code), roles and
//   passwords never come from the file. Record type applies when a user is created; a later
//   change by staff is kept.
// - Core fields are swapped: a field the file leaves empty is cleared (a CSV speaks only for
//   its mapped columns).
// - Protected fields keep a manual edit until it is restored (an API key's edit only while the
//   profile's apiKeyEditsAreManual is on: users/manual-edit-rules.ts; a load that does not keep
//   such a mark drops it with the value it overwrites); otherwise the file wins, and
//   an empty value clears the field or resets it to its default (preferred language: en), where
//   the API would keep it.
// - A user group not managed by SIS is never changed.
// - External segments are replaced by the file's; internal segments are kept.
import { AppError } from '../../errors.js';
import type { CodeTables } from '../../model/code-tables.js';
import type { Institution } from '../../model/institution.js';
import { SCALAR_FIELDS, type ContactInfo, type SegmentType, type User, type UserInput, type UserRecordFields } from '../../model/user.js';
import { validateUser } from '../users/validate-user.js';
import { assertMandatoryUnlessGenerated } from '../users/identifier-generation.js';
import { sameValue } from '../users/same-value.js';
import { marksKeptBySis } from '../users/manual-edit-rules.js';
import { SIS_SCALAR_KEYS, ownsScalar, ownsSegment, type OwnedFields } from './owned-fields.js';
import type { IntegrationProfile } from '../../model/profile.js';

export interface SisRules {
  profile: Pick<IntegrationProfile, 'code' | 'recordType' | 'matchBy' | 'mode'> & Partial<Pick<IntegrationProfile, 'settings'>>;
  institution: Institution;
  tables: CodeTables;
  owned: OwnedFields;
  /** YYYY-MM-DD: the status date of a status the load changes. */
  today: string;
}

export type Decision =
  | { action: 'create'; record: UserRecordFields }
  | { action: 'update'; record: UserRecordFields; manualEdits: string[] }
  | { action: 'unchanged' }
  /** report: false for the expected skip of an import profile (every known user, every night). */
  | { action: 'skip'; reason: string; report: boolean }
  | { action: 'fail'; reason: string };

const sis = new Set<string>(SIS_SCALAR_KEYS);
const lower = (s: string | null | undefined) => (s ?? '').toLowerCase();

function external<T extends { segmentType: SegmentType }>(list: T[] | undefined): T[] {
  return (list ?? []).map((s) => ({ ...s, segmentType: 'External' }));
}

function groupManagedBySis(tables: CodeTables, group: string | null): boolean {
  if (!group) return true;
  return tables.get('UserGroups', group)?.attributes.managedBySis !== false;
}

/** A new user from the file: the profile's kind, external segments, no roles. */
function newUserInput(input: UserInput, rules: SisRules): UserInput {
  // Built in place rather than spread from a dynamic object: this runs once per new user.
  const out: Record<string, unknown> = {};
  for (const key of SIS_SCALAR_KEYS) out[key] = input[key] ?? null;
  const c = input.contactInfo;
  return Object.assign(out, {
    recordType: rules.profile.recordType,
    accountType: 'EXTERNAL',
    externalId: rules.profile.code,
    statusDate: rules.today,
    contactInfo: { addresses: external(c?.addresses), emails: external(c?.emails), phones: external(c?.phones) },
    identifiers: external(input.identifiers),
    blocks: external(input.blocks),
    notes: external(input.notes),
    statistics: external(input.statistics),
    rsLibraries: input.rsLibraries ?? [],
    libraryNotices: input.libraryNotices ?? [],
    roles: [],
  }) as UserInput;
}

/** The stored user with the file applied by the rules above (not yet validated). */
export function mergeSis(existing: User, input: UserInput, rules: SisRules): UserInput {
  const { owned, tables } = rules;
  const manual = new Set(marksKeptBySis(existing, rules.profile.settings));
  const keep = (key: string) =>
    manual.has(key) || (key === 'userGroup' && !groupManagedBySis(tables, existing.userGroup));
  const merged: Record<string, unknown> = {};
  for (const f of SCALAR_FIELDS) {
    if (!sis.has(f.key) || !ownsScalar(owned, f.key)) merged[f.key] = existing[f.key];
    else if (f.protected && keep(f.key)) merged[f.key] = existing[f.key];
    else merged[f.key] = input[f.key] ?? null;
  }
  // Matched by another identifier and the file names no primary id: the user keeps theirs.
  if (!input.primaryId?.trim()) merged.primaryId = existing.primaryId;
  const status = String(merged.status ?? 'ACTIVE').toUpperCase();
  merged.statusDate = status === existing.status ? existing.statusDate : rules.today;

  const segment = <T extends { segmentType: SegmentType }>(name: string, stored: T[], incoming: T[] | undefined): T[] => {
    if (!ownsSegment(owned, name)) return stored;
    const fresh = external(incoming);
    // The same external segments as stored: keep the stored order (internal ones may sit between).
    if (sameValue(stored.filter((s) => s.segmentType === 'External'), fresh)) return stored;
    return [...stored.filter((s) => s.segmentType === 'Internal'), ...fresh];
  };
  const c = existing.contactInfo;
  const contactInfo: ContactInfo = {
    addresses: segment('addresses', c.addresses, input.contactInfo?.addresses),
    emails: segment('emails', c.emails, input.contactInfo?.emails),
    phones: segment('phones', c.phones, input.contactInfo?.phones),
  };
  // One preferred e-mail: a kept internal preference wins over the file's (internal segments are
  // the library's, and the rule is never to change them).
  if (contactInfo.emails.some((e) => e.segmentType === 'Internal' && e.preferred)) {
    contactInfo.emails = contactInfo.emails.map((e) => (e.segmentType === 'External' ? { ...e, preferred: false } : e));
  }
  const whole = <K extends 'rsLibraries' | 'libraryNotices'>(key: K) =>
    !ownsSegment(owned, key) || keep(key) ? existing[key] : (input[key] ?? []);
  return Object.assign(merged, {
    contactInfo,
    identifiers: segment('identifiers', existing.identifiers, input.identifiers),
    blocks: segment('blocks', existing.blocks, input.blocks),
    notes: segment('notes', existing.notes, input.notes),
    statistics: segment('statistics', existing.statistics, input.statistics),
    rsLibraries: whole('rsLibraries'),
    libraryNotices: whole('libraryNotices'),
    // Roles are not the file's business: validated when staff set them, carried over untouched.
    roles: [],
  }) as UserInput;
}

export { sameValue };

export function sameRecord(existing: User, record: UserRecordFields): boolean {
  for (const f of SCALAR_FIELDS) if (!sameValue(existing[f.key], record[f.key])) return false;
  return (
    sameValue(existing.contactInfo, record.contactInfo) &&
    sameValue(existing.identifiers, record.identifiers) &&
    sameValue(existing.blocks, record.blocks) &&
    sameValue(existing.notes, record.notes) &&
    sameValue(existing.statistics, record.statistics) &&
    sameValue(existing.rsLibraries, record.rsLibraries) &&
    sameValue(existing.libraryNotices, record.libraryNotices)
  );
}

/** What the load does with one record; `existing` is the user its match id found, if any. */
export function decide(existing: User | undefined, input: UserInput, rules: SisRules): Decision {
  if (existing) {
    const skipped = skipMatched(existing, rules);
    if (skipped) return skipped;
  }
  const ctx = { institution: rules.institution, tables: rules.tables };
  try {
    if (!existing) {
      const record = validateUser(ctx, newUserInput(input, rules));
      // A rule that generates the mandatory identifier supplies it when the batch commits.
      assertMandatoryUnlessGenerated(rules.institution, record);
      return { action: 'create', record };
    }
    const record = { ...validateUser({ ...ctx, existing }, mergeSis(existing, input, rules)), roles: existing.roles };
    if (sameRecord(existing, record)) return { action: 'unchanged' };
    return { action: 'update', record, manualEdits: marksKeptBySis(existing, rules.profile.settings) };
  } catch (err) {
    if (err instanceof AppError) return { action: 'fail', reason: err.message };
    throw err;
  }
}

/** A matched user the load must leave alone: INTERNAL, another profile's, or any match of an import. */
export function skipMatched(existing: Pick<User, 'accountType' | 'externalId' | 'primaryId'>, rules: SisRules): Decision | undefined {
  const { profile } = rules;
  const id = existing.primaryId;
  if (existing.accountType === 'INTERNAL') return skip('SIS_INTERNAL_USER', { id }, true);
  if (lower(existing.externalId) !== lower(profile.code)) {
    return skip('SIS_OTHER_PROFILE', { id, other: existing.externalId ?? '', profile: profile.code }, true);
  }
  if (profile.mode === 'import') return skip('SIS_ALREADY_EXISTS', { id }, false);
  return undefined;
}

function skip(code: 'SIS_INTERNAL_USER' | 'SIS_OTHER_PROFILE' | 'SIS_ALREADY_EXISTS', params: Record<string, string>, report: boolean): Decision {
  return { action: 'skip', reason: new AppError(code, params).message, report };
}
