// Whether a change of institution or network settings may be stored: every field's type and
// range, regular expressions that compile, e-mail addresses, and identifier types that are
// values of the institution's UserIdentifierTypes table and allowed for the record type (a
// mandatory identifier no user can carry would refuse every new user of that record type).
// One check for /api/v1 and the CLI. A refusal names the field as the caller spelled it
// (`name`), and nothing of the patch is stored.
import { AppError } from '../../errors.js';
import type { CodeTables } from '../../model/code-tables.js';
import {
  DEFAULT_INSTITUTION_SETTINGS,
  DEFAULT_NETWORK_SETTINGS,
  type IdentifierGenerationRule,
  type InstitutionSettings,
  type NetworkSettings,
} from '../../model/institution.js';
import { unsafeTextReason } from '../../model/safe-text.js';
import { RECORD_TYPES, type RecordType } from '../../model/user.js';
import { assertMailHeaders } from '../mail/outbox.js';

/** A setting's path (`identifierGeneration.PUBLIC.padding`) as the caller knows it. */
export type FieldName = (path: string) => string;

/** The primary id, where a rule may name it instead of an identifier type. */
export const PRIMARY_ID = 'PRIMARY_ID';
const CLASSES = ['lower', 'upper', 'digit', 'symbol'];
const CHECK_DIGITS = ['none', 'luhn', 'mod10'];
const MAX_ADDRESSES = 50;
// The shape of one plain address (assertMailHeaders then refuses header tricks).
const EMAIL = /^[^\s@<>(),;:"[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

function checker(name: FieldName) {
  const fail = (path: string, reason: string): never => {
    throw new AppError('SETTING_INVALID', { field: name(path), reason });
  };
  return {
    fail,
    int(path: string, v: unknown, min: number, max: number): number {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `an integer from ${min} to ${max}`);
      return v as number;
    },
    bool(path: string, v: unknown): boolean {
      if (typeof v !== 'boolean') fail(path, 'true or false');
      return v as boolean;
    },
    text(path: string, v: unknown, max: number): string {
      if (typeof v !== 'string') fail(path, 'a string');
      const s = v as string;
      if (s.length > max) fail(path, `at most ${max} characters`);
      const unsafe = unsafeTextReason(s);
      if (unsafe) fail(path, unsafe);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(s)) fail(path, 'control characters are not allowed');
      return s;
    },
    object(path: string, v: unknown): Record<string, unknown> {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object');
      return v as Record<string, unknown>;
    },
    addresses(path: string, v: unknown): string[] {
      if (!Array.isArray(v)) fail(path, 'a list of e-mail addresses');
      const list = v as unknown[];
      if (list.length > MAX_ADDRESSES) fail(path, `at most ${MAX_ADDRESSES} addresses`);
      return list.map((a, n) => {
        if (typeof a !== 'string' || a.length > 254 || !EMAIL.test(a)) fail(`${path}.${n}`, 'not an e-mail address');
        try {
          assertMailHeaders({ to: a as string, subject: '' });
        } catch {
          fail(`${path}.${n}`, 'not an e-mail address');
        }
        return a as string;
      });
    },
  };
}

/** A record type named as a key, or a refusal naming the key. */
function recordTypeOf(c: ReturnType<typeof checker>, path: string, key: string): RecordType {
  if (!(RECORD_TYPES as readonly string[]).includes(key)) c.fail(`${path}.${key}`, `a record type (${RECORD_TYPES.join(', ')})`);
  return key as RecordType;
}

/** The stored spelling of an enabled identifier type this record type may carry (or PRIMARY_ID when allowed). */
function identifierType(c: ReturnType<typeof checker>, path: string, v: unknown, tables: CodeTables, recordType: RecordType | null, primaryId: boolean): string {
  const code = c.text(path, v, 64);
  if (primaryId && code.toUpperCase() === PRIMARY_ID) return PRIMARY_ID;
  const type = tables.get('UserIdentifierTypes', code);
  const values = tables.list('UserIdentifierTypes').filter((t) => t.enabled).map((t) => t.code);
  const options = `${primaryId ? `${PRIMARY_ID} or ` : ''}a value of UserIdentifierTypes (${values.join(', ')})`;
  if (!type || !type.enabled) c.fail(path, `${code} is not ${options}`);
  if (recordType) {
    if (recordType === 'CONTACT') c.fail(path, 'CONTACT users carry no identifiers');
    const allowed = (type!.attributes.recordTypes as string[] | undefined) ?? [...RECORD_TYPES];
    if (!allowed.includes(recordType)) c.fail(path, `${type!.code} is not allowed for ${recordType} users`);
  }
  return type!.code;
}

/**
 * A map keyed by record type, changed as a JSON merge patch: a key set to null is removed, any
 * other value replaces that record type's entry.
 */
function mergeByRecordType<T>(
  c: ReturnType<typeof checker>,
  path: string,
  current: Partial<Record<RecordType, T>>,
  v: unknown,
  entry: (recordType: RecordType, value: unknown) => T,
): Partial<Record<RecordType, T>> {
  const next = { ...current };
  for (const [key, value] of Object.entries(c.object(path, v))) {
    const recordType = recordTypeOf(c, path, key);
    if (value === null) delete next[recordType];
    else next[recordType] = entry(recordType, value);
  }
  return next;
}

function generationRule(c: ReturnType<typeof checker>, path: string, recordType: RecordType, v: unknown, tables: CodeTables): IdentifierGenerationRule {
  const o = c.object(path, v);
  for (const k of Object.keys(o)) {
    if (!['identifierType', 'prefix', 'padding', 'checkDigit'].includes(k)) c.fail(`${path}.${k}`, 'not a setting of an identifier generation rule');
  }
  // CONTACT users carry no identifiers, but may have generated primary ids.
  const idPath = `${path}.identifierType`;
  const type = recordType === 'CONTACT'
    ? (c.text(idPath, o.identifierType, 64).toUpperCase() === PRIMARY_ID ? PRIMARY_ID : c.fail(idPath, `only ${PRIMARY_ID} for CONTACT users`))
    : identifierType(c, idPath, o.identifierType, tables, recordType, true);
  const prefix = o.prefix === undefined ? '' : c.text(`${path}.prefix`, o.prefix, 20);
  if (/\s/.test(prefix)) c.fail(`${path}.prefix`, 'no spaces');
  const checkDigit = o.checkDigit === undefined ? 'none' : o.checkDigit;
  if (typeof checkDigit !== 'string' || !CHECK_DIGITS.includes(checkDigit)) c.fail(`${path}.checkDigit`, `one of ${CHECK_DIGITS.join(', ')}`);
  return {
    identifierType: type,
    prefix,
    padding: c.int(`${path}.padding`, o.padding, 1, 18),
    checkDigit: checkDigit as IdentifierGenerationRule['checkDigit'],
  };
}

/** The settings after the patch, every field of it checked; the first problem is thrown. */
export function applyInstitutionPatch(current: InstitutionSettings, patch: Record<string, unknown>, tables: CodeTables, name: FieldName = (p) => p): InstitutionSettings {
  const c = checker(name);
  const next: InstitutionSettings = { ...current };
  for (const [key, v] of Object.entries(patch)) {
    switch (key) {
      case 'primaryIdentifierRegex': {
        if (v === null || v === '') next.primaryIdentifierRegex = null;
        else {
          const re = c.text(key, v, 500);
          try {
            new RegExp(re, 'u');
          } catch {
            c.fail(key, 'not a regular expression');
          }
          next.primaryIdentifierRegex = re;
        }
        break;
      }
      case 'mandatoryIdentifier':
        next.mandatoryIdentifier = mergeByRecordType(c, key, current.mandatoryIdentifier, v, (rt, value) =>
          identifierType(c, `${key}.${rt}`, value, tables, rt, false),
        );
        break;
      case 'preferredIdentifier':
        next.preferredIdentifier = v === null || v === '' ? null : identifierType(c, key, v, tables, null, true);
        break;
      case 'externalPasswordFallback':
        next.externalPasswordFallback = c.bool(key, v);
        break;
      case 'passwordMinLength':
        next.passwordMinLength = c.int(key, v, 8, 256);
        break;
      case 'passwordRequiredClasses': {
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !CLASSES.includes(x))) c.fail(key, `a list of ${CLASSES.join(', ')}`);
        next.passwordRequiredClasses = [...new Set(v as InstitutionSettings['passwordRequiredClasses'])];
        break;
      }
      case 'loginMaxFailures':
        next.loginMaxFailures = c.int(key, v, 1, 1000);
        break;
      case 'loginLockMinutes':
        next.loginLockMinutes = c.int(key, v, 1, 10_080);
        break;
      case 'identifierGeneration':
        next.identifierGeneration = mergeByRecordType(c, key, current.identifierGeneration, v, (rt, value) =>
          generationRule(c, `${key}.${rt}`, rt, value, tables),
        );
        break;
      default:
        c.fail(key, `not an institution setting (${Object.keys(DEFAULT_INSTITUTION_SETTINGS).map(name).join(', ')})`);
    }
  }
  return next;
}

export function applyNetworkPatch(current: NetworkSettings, patch: Record<string, unknown>, name: FieldName = (p) => p): NetworkSettings {
  const c = checker(name);
  const next: NetworkSettings = { ...current };
  for (const [key, v] of Object.entries(patch)) {
    switch (key) {
      case 'uniqueIdsAcrossNetwork':
        next.uniqueIdsAcrossNetwork = c.bool(key, v);
        break;
      case 'namedUserLicense':
        next.namedUserLicense = v === null ? null : c.int(key, v, 0, 100_000_000);
        break;
      case 'breakGlassNotify':
        next.breakGlassNotify = c.addresses(key, v);
        break;
      case 'namedUserWarnPercent':
        next.namedUserWarnPercent = c.int(key, v, 1, 100);
        break;
      case 'namedUserAtLimit':
        if (v !== 'warn' && v !== 'refuse') c.fail(key, 'warn or refuse');
        next.namedUserAtLimit = v as NetworkSettings['namedUserAtLimit'];
        break;
      case 'namedUserNotify':
        next.namedUserNotify = c.addresses(key, v);
        break;
      default:
        c.fail(key, `not a network setting (${Object.keys(DEFAULT_NETWORK_SETTINGS).map(name).join(', ')})`);
    }
  }
  return next;
}

/** JSON with object keys sorted: settings read back from JSONB come in its key order, not ours. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The fields that differ, each with its value before and after (an audit row's changes). */
export function settingsChanges(before: object, after: object): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (stable(b[key]) !== stable(a[key])) changes[key] = { before: b[key] ?? null, after: a[key] ?? null };
  }
  return changes;
}
