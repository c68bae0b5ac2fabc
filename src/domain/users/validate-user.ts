// Alma's rules for a user record, applied to what a client sent: mandatory fields, code values,
// identifier types per record type, segment types, the institution's primary-id format.
// Returns the complete record to store, with codes in their stored spelling, or throws AppError.
import { AppError, assertThat } from '../../errors.js';
import { isCalendarDate, shownText, unsafeTextReason } from '../../model/safe-text.js';
import { ROLE_TABLE, type CodeTables } from '../../model/code-tables.js';
import type { Institution } from '../../model/institution.js';
import { tablesKeepingHeld } from './held-codes.js';
import { ACCOUNT_TYPES, RECORD_TYPES, SCALAR_FIELDS, STATUSES, type ContactInfo, type SegmentType, type Status, type UserInput, type UserRecordFields } from '../../model/user.js';

// Control characters break XML output, logs and e-mail headers; no legitimate field needs them.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LINE_BREAK = /[\r\n]/;
/** Text of ASCII alone is in Normalization Form C already: normalize() is asked only otherwise. */
const NON_ASCII = /[^\u0000-\u007f]/;
const MAX_TEXT = 2000;

/**
 * The most segments of each kind one user may carry (API and SIS alike). Alma sets no number;
 * these are far above any real record and keep one record from costing a load's worth of work.
 */
export const USER_SEGMENT_LIMITS = {
  user_identifier: 100,
  address: 50,
  email: 50,
  phone: 50,
  user_note: 500,
  user_statistic: 200,
  user_block: 200,
  user_role: 500,
  'user_role.parameter': 100,
  rs_library: 200,
  library_notice: 200,
} as const;

function limited<T>(field: keyof typeof USER_SEGMENT_LIMITS, list: readonly T[] | undefined): readonly T[] {
  const items = list ?? [];
  const max = USER_SEGMENT_LIMITS[field];
  if (items.length > max) throw new AppError('TOO_MANY_SEGMENTS', { field, count: items.length, max });
  return items;
}

export interface ValidationContext {
  institution: Institution;
  tables: CodeTables;
  /** The stored user a change is to (an update): a disabled code it already holds stays allowed (held-codes.ts). */
  existing?: UserRecordFields | undefined;
}

function text(field: string, v: string | null | undefined, opts: { multiline?: boolean; max?: number } = {}): string | null {
  if (v === null || v === undefined) return null;
  const s = (NON_ASCII.test(v) ? v.normalize('NFC') : v).trim();
  if (s === '') return null;
  // The message is built only on failure: this runs for every field of every record of a load.
  const unsafe = unsafeTextReason(s);
  if (unsafe) throw new AppError('INVALID_VALUE', { field, value: printable(s), reason: unsafe });
  if (CONTROL.test(s)) throw new AppError('INVALID_VALUE', { field, value: printable(s), reason: 'control characters are not allowed' });
  if (!opts.multiline) {
    if (LINE_BREAK.test(s)) throw new AppError('INVALID_VALUE', { field, value: printable(s), reason: 'line breaks are not allowed' });
  }
  const max = opts.max ?? 255;
  if (s.length > max) throw new AppError('INVALID_VALUE', { field, value: printable(s), reason: `longer than ${max} characters` });
  return s;
}

/** For messages: a value shortened and with control characters made visible. */
const printable = (s: string) => shownText(s);

function code(tables: CodeTables, table: string, field: string, v: string | null | undefined): string | null {
  const s = text(field, v);
  if (s === null) return null;
  const found = tables.get(table, s);
  if (!found || !found.enabled) {
    if (table === 'UserGroups') throw new AppError('ILLEGAL_USER_GROUP', { value: s });
    throw new AppError('INVALID_CODE', { field, value: s });
  }
  return found.code;
}

function date(field: string, v: string | null | undefined): string | null {
  const s = text(field, v);
  if (s === null) return null;
  // Alma writes dates as 2030-01-16Z; the zone says nothing for a calendar date.
  const d = s.replace(/Z$/, '');
  if (!isCalendarDate(d)) throw new AppError('INVALID_VALUE', { field, value: printable(s), reason: 'expected a date as YYYY-MM-DD' });
  return d;
}

function segmentType(accountType: string, given: string | null | undefined): SegmentType {
  // An internal user's segments are all internal; on an external user, empty or illegal means External.
  if (accountType === 'INTERNAL') return 'Internal';
  return given?.toLowerCase() === 'internal' ? 'Internal' : 'External';
}

function roleStatus(v: string | null | undefined): Status {
  // Alma: empty means Active, an illegal value means Inactive.
  if (!v) return 'ACTIVE';
  return v.toUpperCase() === 'ACTIVE' ? 'ACTIVE' : 'INACTIVE';
}

function required<T>(v: T | null, field: string): T {
  if (v === null || v === undefined) throw new AppError('MANDATORY_FIELD', { field });
  return v;
}

function types(tables: CodeTables, table: string, field: string, values: string[] | undefined): string[] {
  return (values ?? []).map((t) => required(code(tables, table, field, t), field));
}

function contactInfo(t: CodeTables, accountType: string, c: ContactInfo | undefined): ContactInfo {
  const addresses = limited('address', c?.addresses).map((a) => ({
    line1: required(text('address.line1', a.line1), 'address.line1'),
    line2: text('address.line2', a.line2),
    line3: text('address.line3', a.line3),
    line4: text('address.line4', a.line4),
    line5: text('address.line5', a.line5),
    city: required(text('address.city', a.city), 'address.city'),
    stateProvince: text('address.state_province', a.stateProvince),
    postalCode: text('address.postal_code', a.postalCode),
    country: code(t, 'CountryCodes', 'country', a.country),
    // rest_user.xsd allows 1000 characters here, not 2000.
    addressNote: text('address.address_note', a.addressNote, { max: 1000 }),
    startDate: date('address.start_date', a.startDate),
    endDate: date('address.end_date', a.endDate),
    types: types(t, 'UserAddressTypes', 'address_type', a.types),
    preferred: a.preferred === true,
    segmentType: segmentType(accountType, a.segmentType),
  }));
  for (const a of addresses) assertThat(a.types.length > 0, 'MANDATORY_FIELD', { field: 'address.address_type' });
  const emails = limited('email', c?.emails).map((e) => {
    const address = required(text('email.email_address', e.address), 'email.email_address');
    // A mail header is built from this later: one address, no spaces, no angle brackets.
    assertThat(/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(address), 'INVALID_VALUE', {
      field: 'email.email_address',
      value: printable(address),
      reason: 'not an e-mail address',
    });
    return {
      address,
      description: text('email.description', e.description),
      types: types(t, 'UserEmailTypes', 'email_type', e.types),
      preferred: e.preferred === true,
      segmentType: segmentType(accountType, e.segmentType),
    };
  });
  const phones = limited('phone', c?.phones).map((p) => ({
    number: required(text('phone.phone_number', p.number), 'phone.phone_number'),
    types: types(t, 'UserPhoneTypes', 'phone_type', p.types),
    preferred: p.preferred === true,
    preferredSms: p.preferredSms === true,
    segmentType: segmentType(accountType, p.segmentType),
  }));
  assertThat(emails.filter((e) => e.preferred).length <= 1, 'INVALID_VALUE', {
    field: 'email.preferred',
    value: 'true',
    reason: 'only one e-mail can be preferred',
  });
  return { addresses, emails, phones };
}

/** Validates a complete record (create, or the merged result of an update). */
export function validateUser(ctx: ValidationContext, input: UserInput): UserRecordFields {
  const t = ctx.existing ? tablesKeepingHeld(ctx.tables, ctx.existing) : ctx.tables;
  const recordTypeRaw = required(text('record_type', input.recordType), 'record_type').toUpperCase();
  assertThat((RECORD_TYPES as readonly string[]).includes(recordTypeRaw), 'INVALID_CODE', { field: 'record_type', value: recordTypeRaw });
  const recordType = recordTypeRaw as UserRecordFields['recordType'];
  const accountTypeRaw = required(text('account_type', input.accountType), 'account_type').toUpperCase();
  assertThat((ACCOUNT_TYPES as readonly string[]).includes(accountTypeRaw), 'ACCOUNT_TYPE_INVALID', { value: accountTypeRaw });
  const accountType = accountTypeRaw as UserRecordFields['accountType'];

  const primaryId = required(text('primary_id', input.primaryId), 'primary_id');
  const regex = ctx.institution.settings.primaryIdentifierRegex;
  if (regex) assertThat(new RegExp(`^(?:${regex})$`, 'u').test(primaryId), 'PRIMARY_ID_FORMAT', { value: printable(primaryId) });

  const externalId = text('external_id', input.externalId);
  if (accountType === 'INTERNAL') assertThat(externalId === null, 'EXTERNAL_ID_FOR_INTERNAL');
  else assertThat(externalId !== null, 'EXTERNAL_ID_REQUIRED');

  const statusRaw = (text('status', input.status) ?? 'ACTIVE').toUpperCase();
  assertThat((STATUSES as readonly string[]).includes(statusRaw), 'INVALID_CODE', { field: 'status', value: statusRaw });

  const out: Record<string, unknown> = {};
  for (const f of SCALAR_FIELDS) {
    const v = input[f.key];
    if (f.kind === 'boolean') out[f.key] = v === true;
    else if (f.kind === 'date') out[f.key] = date(f.column, v as string | null | undefined);
    else if (f.kind === 'code' && f.codeTable) out[f.key] = code(t, f.codeTable, f.column, v as string | null | undefined);
    else out[f.key] = text(f.column, v as string | null | undefined, { max: f.maxLength ?? 255 });
  }
  Object.assign(out, { primaryId, recordType, accountType, externalId, status: statusRaw });
  out.preferredLanguage ??= 'en';

  // Identifiers: CONTACT users carry none; each type only on the record types allowed to carry it.
  const identifiers = limited('user_identifier', input.identifiers).map((i) => {
    const idType = required(text('user_identifier.id_type', i.idType), 'user_identifier.id_type');
    const type = t.get('UserIdentifierTypes', idType);
    if (!type || !type.enabled) throw new AppError('INVALID_CODE', { field: 'user identifier', value: idType });
    const allowed = (type.attributes.recordTypes as string[] | undefined) ?? [...RECORD_TYPES];
    assertThat(recordType !== 'CONTACT' && allowed.includes(recordType), 'TYPE_NOT_FOR_RECORD_TYPE', {
      field: 'user identifier',
      value: type.code,
      recordType,
    });
    return {
      idType: type.code,
      value: required(text('user_identifier.value', i.value), 'user_identifier.value'),
      note: text('user_identifier.note', i.note, { max: MAX_TEXT }),
      status: roleStatus(i.status),
      segmentType: segmentType(accountType, i.segmentType),
    };
  });
  const seen = new Set<string>();
  for (const i of identifiers) {
    const key = i.value.toLowerCase();
    if (seen.has(key)) throw new AppError('IDENTIFIER_TAKEN', { type: i.idType, value: i.value });
    seen.add(key);
  }

  const institutionCode = ctx.institution.code;
  const roles = limited('user_role', input.roles).map((r) => {
    const roleType = required(code(t, ROLE_TABLE, 'role type', r.roleType), 'user_role.role_type');
    const scopeRaw = text('user_role.scope', r.scope) ?? institutionCode;
    const scope =
      scopeRaw.toLowerCase() === institutionCode.toLowerCase()
        ? institutionCode
        : required(code(t, 'Libraries', 'scope', scopeRaw), 'user_role.scope');
    return {
      roleType,
      scope,
      status: roleStatus(r.status),
      expiryDate: date('user_role.expiry_date', r.expiryDate),
      parameters: limited('user_role.parameter', r.parameters).map((p) => ({
        type: required(code(t, 'RoleParameterTypes', 'role parameter', p.type), 'parameter.type'),
        scope: text('parameter.scope', p.scope),
        value: required(text('parameter.value', p.value), 'parameter.value'),
      })),
    };
  });

  const blocks = limited('user_block', input.blocks).map((b) => ({
    blockType: code(t, 'UserBlockTypes', 'block_type', b.blockType) ?? 'GENERAL',
    blockDescription: required(code(t, 'UserBlockDescription', 'block_description', b.blockDescription), 'user_block.block_description'),
    blockStatus: roleStatus(b.blockStatus),
    blockNote: text('user_block.block_note', b.blockNote, { max: MAX_TEXT, multiline: true }),
    createdBy: text('user_block.created_by', b.createdBy),
    createdDate: b.createdDate ? required(text('user_block.created_date', b.createdDate), 'user_block.created_date') : null,
    expiryDate: b.expiryDate ? required(text('user_block.expiry_date', b.expiryDate), 'user_block.expiry_date') : null,
    segmentType: segmentType(accountType, b.segmentType),
  }));
  const notes = limited('user_note', input.notes).map((n) => ({
    noteType: required(code(t, 'NoteTypes', 'note_type', n.noteType), 'user_note.note_type'),
    noteText: text('user_note.note_text', n.noteText, { max: MAX_TEXT, multiline: true }) ?? '',
    userViewable: n.userViewable === true,
    popupNote: n.popupNote === true,
    createdBy: text('user_note.created_by', n.createdBy),
    createdDate: n.createdDate ? required(text('user_note.created_date', n.createdDate), 'user_note.created_date') : null,
    segmentType: segmentType(accountType, n.segmentType),
  }));
  const statistics = limited('user_statistic', input.statistics).map((s) => ({
    statisticCategory: required(code(t, 'UserStatCategories', 'statistic_category', s.statisticCategory), 'user_statistic.statistic_category'),
    statisticNote: text('user_statistic.statistic_note', s.statisticNote, { max: MAX_TEXT }),
    segmentType: segmentType(accountType, s.segmentType),
  }));
  const rsLibraries = limited('rs_library', input.rsLibraries).map((l) => required(code(t, 'Libraries', 'rs_library', l), 'rs_library.code'));
  const libraryNotices = limited('library_notice', input.libraryNotices).map((n) => ({
    code: required(code(t, 'LibraryNoticesOptInDisplay', 'library_notice', n.code), 'library_notice.code'),
    value: n.value === true,
  }));

  // Completed in place: copying an object of this many keys into a new one costs more than the
  // rest of the validation (SIS loads validate every record).
  return Object.assign(out, {
    contactInfo: contactInfo(t, accountType, input.contactInfo),
    identifiers,
    roles,
    blocks,
    notes,
    statistics,
    rsLibraries,
    libraryNotices,
  }) as unknown as UserRecordFields;
}

/** The institution's mandatory identifier for this record type, checked on create only (as Alma). */
export function assertMandatoryIdentifier(institution: Institution, u: UserRecordFields): void {
  const type = institution.settings.mandatoryIdentifier[u.recordType];
  if (!type) return;
  assertThat(
    u.identifiers.some((i) => i.idType.toLowerCase() === type.toLowerCase()),
    'MANDATORY_FIELD',
    { field: `user_identifier of type ${type}` },
  );
}
