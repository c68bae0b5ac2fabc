// Generated identifiers: a new user of a record type the institution has a rule for
// (settings.identifierGeneration) and created without an identifier of the rule's type gets
// prefix + zero-padded sequence number + check digit, drawn in the write's own transaction.
//
// - Numbers come from identifier_sequence (db/queries/identifier-sequences.ts, migration 0014),
//   one counter per uniqueness scope (institution, or its network) and rule (type and prefix),
//   taken with UPDATE ... RETURNING: the row lock makes concurrent writers take turns, so no two
//   get the same number, on PostgreSQL and PGlite alike. A rolled-back write hands its numbers
//   back with the counter; numbers are burned only when a value is skipped (below) or when a
//   round of skipping took more than it needed.
// - A value somebody already holds (typed by hand, loaded by SIS, a primary id) is skipped: the
//   next number is taken, never a refusal.
// - Generated identifiers are Internal segments, so an SIS load that replaces a user's external
//   identifiers with its file's keeps the barcode the library issued.
//
// Check digits, computed over the digits of prefix + padded number (letters of a prefix do not
// count, and do not move the positions):
// - 'luhn': ISO/IEC 7812-1 Annex B (Luhn): from the rightmost digit of the number leftwards,
//   every other digit doubled (digits of the product summed), starting with the rightmost;
//   check = (10 - sum mod 10) mod 10. Example from the standard's literature: 7992739871 → 3.
// - 'mod10': the "modulus 10, type 1" of the 14-digit Codabar library barcode (Dynix/Sirsi,
//   Gaylord and Demco label stock, and the state-library guides, e.g. JerseyCat's "Understanding
//   the Bar Code Structure", jerseycat.org/faq/bar_codes.php): positions counted from the LEFT,
//   odd positions (1st, 3rd ...) doubled (a two-digit product's digits summed), even positions
//   added; check = (10 - sum mod 10) mod 10. Published examples: 3 0234 00051786 → 1 (JerseyCat),
//   3 3191 00010586 → 4 (Dynix). For the usual 13 digits this equals Luhn (the odd positions
//   are then also every other digit from the right); for an even number of digits the two differ
//   (Luhn would double the even positions), which is what a library card scheme of another
//   length printed by a Codabar label vendor expects.
import type { Queryable } from '../../db/database.js';
import { peekSequenceNumber, takeSequenceNumbers } from '../../db/queries/identifier-sequences.js';
import { findIdsWithPrefixes } from '../../db/queries/user-batches.js';
import { findValueHolders, lockIdentifierValues } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { CodeTables } from '../../model/code-tables.js';
import type { CheckDigitScheme, IdentifierGenerationRule, Institution } from '../../model/institution.js';
import { RECORD_TYPES, type RecordType, type UserIdentifier, type UserRecordFields } from '../../model/user.js';
import { nextPrimaryId, primaryIdBase } from '../sis/match.js';
import { assertMandatoryIdentifier } from './validate-user.js';
import type { Uniqueness } from './write-users.js';

/** The rule type that stands for the primary id rather than an identifier of the code table. */
export const PRIMARY_ID_TYPE = 'PRIMARY_ID';

const digitsOf = (s: string) => s.replace(/\D/g, '');

/** ISO/IEC 7812 (Luhn) check digit of a string of digits. */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** The Codabar library barcode's modulus 10 (positions from the left, odd ones doubled). */
export function libraryMod10CheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(i) - 48;
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function checkDigitOf(scheme: CheckDigitScheme, base: string): string {
  if (scheme === 'none') return '';
  const digits = digitsOf(base);
  return String(scheme === 'luhn' ? luhnCheckDigit(digits) : libraryMod10CheckDigit(digits));
}

/** The value for sequence number n: prefix, n zero-padded, check digit. */
export function formatIdentifier(rule: IdentifierGenerationRule, n: bigint): string {
  const base = rule.prefix + n.toString().padStart(rule.padding, '0');
  return base + checkDigitOf(rule.checkDigit, base);
}

/** The counter a rule draws from: the same type and prefix share one whatever the record type. */
export const ruleKey = (rule: IdentifierGenerationRule) => `${rule.identifierType.toUpperCase()}:${rule.prefix}`;

/** The rule for this record type, if the institution has one. */
export function generationRule(institution: Institution, recordType: string): IdentifierGenerationRule | undefined {
  return institution.settings.identifierGeneration[recordType as RecordType] ?? undefined;
}

/** The rule that would give this record an identifier it lacks (not a primary-id rule). */
export function identifierToGenerate(institution: Institution, record: Pick<UserRecordFields, 'recordType' | 'identifiers'>): IdentifierGenerationRule | undefined {
  const rule = generationRule(institution, record.recordType);
  if (!rule || rule.identifierType.toUpperCase() === PRIMARY_ID_TYPE) return undefined;
  const type = rule.identifierType.toLowerCase();
  return record.identifiers.some((i) => i.idType.toLowerCase() === type) ? undefined : rule;
}

/**
 * The mandatory-identifier rule for a record that is yet to get its generated identifiers (the
 * SIS decision, made before the batch's transaction): satisfied when the rule will supply the
 * mandatory type. The write checks again once the values are there.
 */
export function assertMandatoryUnlessGenerated(institution: Institution, record: UserRecordFields): void {
  const rule = identifierToGenerate(institution, record);
  const mandatory = institution.settings.mandatoryIdentifier[record.recordType];
  if (rule && mandatory && rule.identifierType.toLowerCase() === mandatory.toLowerCase()) return;
  assertMandatoryIdentifier(institution, record);
}

/**
 * `count` values of a rule nobody in the scope holds and `claimed` (lower-cased values the
 * caller's batch brings) does not name. Taken values are locked (advisory, as every writer of
 * the scope does) before they are looked up, so a writer typing one by hand right now is seen.
 * A dry run reads the counter without moving it and locks nothing.
 */
export async function generateValues(
  tx: Queryable,
  uniqueness: Uniqueness,
  rule: IdentifierGenerationRule,
  count: number,
  opts: { claimed?: ReadonlySet<string>; dryRun?: boolean } = {},
): Promise<string[]> {
  const key = ruleKey(rule);
  const max = 10n ** BigInt(rule.padding) - 1n;
  const exhausted = () =>
    new AppError('IDENTIFIER_GENERATION_EXHAUSTED', { type: rule.identifierType, prefix: rule.prefix, padding: rule.padding });
  const out: string[] = [];
  let next = opts.dryRun ? (await peekSequenceNumber(tx, uniqueness.scope, key)) + 1n : 0n;
  // Each round takes what is still missing, twice as many after each round of clashes (a run of
  // hand-typed values is crossed in a few rounds); what a round took beyond its need is burned.
  for (let round = 0; out.length < count; round++) {
    const want = Math.min((count - out.length) * 2 ** Math.min(round, 10), 10_000);
    let first: bigint;
    if (opts.dryRun) {
      first = next;
      next += BigInt(want);
    } else {
      first = (await takeSequenceNumbers(tx, uniqueness.scope, key, want)) - BigInt(want) + 1n;
    }
    if (first > max) throw exhausted();
    const values: string[] = [];
    for (let n = first; n < first + BigInt(want) && n <= max; n++) values.push(formatIdentifier(rule, n));
    const lowered = values.map((v) => v.toLowerCase());
    if (!opts.dryRun) await lockIdentifierValues(tx, uniqueness.scope, lowered);
    const held = new Set((await findValueHolders(tx, uniqueness.institutionIds, lowered)).map((h) => h.value));
    for (const [k, v] of values.entries()) {
      if (out.length < count && !held.has(lowered[k]!) && !opts.claimed?.has(lowered[k]!)) out.push(v);
    }
    if (out.length < count && first + BigInt(want) > max) throw exhausted();
  }
  return out;
}

/** The identifier type of a rule as stored (the code table's spelling), allowed for the record type. */
export function generatedIdType(tables: CodeTables, rule: IdentifierGenerationRule, recordType: string): string {
  const type = tables.get('UserIdentifierTypes', rule.identifierType);
  if (!type || !type.enabled) throw new AppError('INVALID_CODE', { field: 'generated identifier', value: rule.identifierType });
  const allowed = (type.attributes.recordTypes as string[] | undefined) ?? [...RECORD_TYPES];
  if (recordType === 'CONTACT' || !allowed.includes(recordType)) {
    throw new AppError('TYPE_NOT_FOR_RECORD_TYPE', { field: 'generated identifier', value: type.code, recordType });
  }
  return type.code;
}

export interface GenerationContext {
  institution: Institution;
  tables: CodeTables;
  uniqueness: Uniqueness;
}

/**
 * Gives each record that lacks its rule's identifier a generated one; the others come back as
 * they were. Per record, the completed record or why it cannot have one (a rule whose type the
 * code table refuses for the record type, a counter used up); the caller decides whether that
 * fails one record (SIS) or the request (API). `claimed`: values of the caller's batch, lower-cased.
 */
export async function addGeneratedIdentifiers(
  tx: Queryable,
  ctx: GenerationContext,
  records: UserRecordFields[],
  opts: { claimed?: ReadonlySet<string>; dryRun?: boolean } = {},
): Promise<(UserRecordFields | AppError)[]> {
  const out: (UserRecordFields | AppError)[] = [...records];
  // Never a value a record of the batch brings itself (its own primary id included).
  const claimed = new Set(opts.claimed);
  for (const r of records) for (const v of [r.primaryId, ...r.identifiers.map((i) => i.value)]) claimed.add(v.toLowerCase());
  const groups = new Map<string, { rule: IdentifierGenerationRule; at: number[] }>();
  records.forEach((r, k) => {
    const rule = identifierToGenerate(ctx.institution, r);
    if (!rule) return;
    const group = groups.get(ruleKey(rule)) ?? { rule, at: [] };
    group.at.push(k);
    groups.set(ruleKey(rule), group);
  });
  // Counters in one order, so two batches needing two counters cannot wait for each other.
  for (const key of [...groups.keys()].sort()) {
    const { rule, at } = groups.get(key)!;
    const usable: number[] = [];
    for (const k of at) {
      try {
        generatedIdType(ctx.tables, rule, records[k]!.recordType);
        usable.push(k);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        out[k] = err;
      }
    }
    if (!usable.length) continue;
    let values: string[];
    try {
      values = await generateValues(tx, ctx.uniqueness, rule, usable.length, { ...opts, claimed });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      for (const k of usable) out[k] = err;
      continue;
    }
    usable.forEach((k, j) => {
      const record = records[k]!;
      const identifier: UserIdentifier = {
        idType: generatedIdType(ctx.tables, rule, record.recordType),
        value: values[j]!,
        note: null,
        status: 'ACTIVE',
        segmentType: 'Internal',
      };
      out[k] = { ...record, identifiers: [...record.identifiers, identifier] };
    });
  }
  return out;
}

/**
 * A primary id for a new user created without one: by the record type's rule when its type is
 * PRIMARY_ID, else (desk registration) Alma's default, first and last name plus a counter.
 */
export async function generatePrimaryId(
  tx: Queryable,
  ctx: GenerationContext,
  recordType: string,
  names: { firstName?: string | null; lastName?: string | null },
): Promise<string> {
  const rule = generationRule(ctx.institution, recordType);
  if (rule && rule.identifierType.toUpperCase() === PRIMARY_ID_TYPE) return (await generateValues(tx, ctx.uniqueness, rule, 1))[0]!;
  const base = primaryIdBase(names.firstName, names.lastName);
  // As the SIS load's generated primary ids: writers of the same names take turns.
  await lockIdentifierValues(tx, ctx.uniqueness.scope, [`generated:${base}`]);
  return nextPrimaryId(base, await findIdsWithPrefixes(tx, ctx.uniqueness.institutionIds, [base]));
}

/** Whether the record type's rule generates primary ids. */
export function generatesPrimaryId(institution: Institution, recordType: string): boolean {
  return generationRule(institution, recordType)?.identifierType.toUpperCase() === PRIMARY_ID_TYPE;
}
